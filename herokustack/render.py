"""Renderers of plans and apply results: they only display, never decide.

Text: `+` create, `~` update, `-` destroy, `!` refused, `>` deferred, one line per change and a
summary line per app ("acme-production: 3 to add, 2 to change, 0 to destroy"); colours only
when asked (a TTY without NO_COLOR). JSON: one stable object. Other modules (checks, cost) can
add sections under the plan with `extra`: (title, text) pairs in text, (key, data) in JSON.
"""

from __future__ import annotations

import io
import json
import textwrap
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from herokustack import resources
from herokustack.applier import ApplyResult, AppOutcome
from herokustack.planner import AppPlan, Change, Plan, Summary
from herokustack.stackfile import plural
from herokustack.term import use_color as use_color  # other renderers take it from here

SYMBOLS = {"create": "+", "update": "~", "destroy": "-", "refused": "!", "deferred": ">"}
STYLES = {
    "create": "green",
    "update": "yellow",
    "destroy": "red",
    "refused": "bold magenta",
    "deferred": "cyan",
}

WIDTH = 100  # a plan line longer than this puts its note on wrapped lines below it


def change_text(change: Change) -> str:
    """The words of one change, without its symbol (its kind says what and how)."""
    kind = resources.kind_of(change.resource)
    text = f"{kind.what(change)}{kind.body(change)}"
    note = _note(change)
    return f"{text}  # {note}" if note else text


def _note(change: Change) -> str | None:
    if change.note and not (change.sensitive and change.note.startswith("(")):
        return change.note
    return None


def summary_text(summary: Summary) -> str:
    text = f"{summary.add} to add, {summary.change} to change, {summary.destroy} to destroy"
    if summary.refused:
        text += f", {summary.refused} refused"
    if summary.deferred:
        text += f", {summary.deferred} deferred"
    return text


def _line(change: Change, indent: str = "  ") -> Text:
    """`+ add-on ...  # note`; a line longer than WIDTH has its note below it, wrapped."""
    line = Text(indent)
    line.append(SYMBOLS[change.action], style=STYLES[change.action])
    style = STYLES[change.action] if change.action == "refused" else None
    text, note = change_text(change), _note(change)
    if note is None or len(indent) + 2 + len(text) <= WIDTH:
        line.append(" " + text, style=style)
        return line
    line.append(" " + text[: -len(note) - 4], style=style)
    for part in textwrap.wrap(note, WIDTH - len(indent) - 6, break_on_hyphens=False):
        line.append(f"\n{indent}    # {part}", style=style)
    return line


def _console(color: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        width=120,
        soft_wrap=True,
        emoji=False,
        markup=False,
    )
    return console, buffer


def app_plan_lines(app: AppPlan) -> list[Text]:
    header = Text(app.app, style="bold")
    header.append(f"  ({app.path}{'' if app.exists else ', new app'})", style="dim")
    lines = [header]
    lines += [_line(c) for c in app.changes]
    if not app.changes:
        return [*lines, Text("  no changes", style="dim")]
    lines.append(Text(f"{app.app}: {summary_text(app.summary)}"))
    return lines


def plan_text(
    plan: Plan,
    color: bool = False,
    extra: Sequence[tuple[str, str]] = (),
    head: Sequence[tuple[str, str]] = (),
) -> str:
    """The `head` sections (the pipelines), each app's lines, the totals, then the `extra`
    sections: one blank line between them."""
    blocks = [[Text(title, style="bold"), Text(text.rstrip("\n"))] for title, text in head]
    blocks += [app_plan_lines(app) for app in plan.apps]
    totals = []
    if len(plan.apps) > 1:
        totals.append(Text(f"Plan: {summary_text(plan.summary)}", style="bold"))
    if not plan.has_changes:
        deferred = plan.summary.deferred
        text = "No changes: live state matches the stack files."
        if deferred:
            text = f"No changes to make now ({deferred} deferred until code is deployed)."
        totals.append(Text(text, style="green"))
    blocks.append(totals)
    blocks += [[Text(title, style="bold"), Text(text.rstrip("\n"))] for title, text in extra]
    console, buffer = _console(color)
    for index, block in enumerate(b for b in blocks if b):
        if index:
            console.print()
        for line in block:
            console.print(line)
    return buffer.getvalue()


def _summary_dict(summary: Summary) -> dict[str, int]:
    return summary.model_dump()


def plan_data(plan: Plan, extra: Sequence[tuple[str, Any]] = ()) -> dict[str, Any]:
    """The JSON document of a plan: stable keys, per-app changes, summary counts."""
    data: dict[str, Any] = {
        "format_version": plan.format_version,
        "changes_pending": plan.has_changes,
        "summary": _summary_dict(plan.summary),
        "apps": [
            {
                "app": app.app,
                "path": app.path,
                "exists": app.exists,
                "summary": _summary_dict(app.summary),
                "changes": [c.model_dump(mode="json") for c in app.changes],
            }
            for app in plan.apps
        ],
        "salt": plan.salt,
    }
    for key, value in extra:
        data[key] = value
    return data


def plan_json(plan: Plan, extra: Sequence[tuple[str, Any]] = ()) -> str:
    return json.dumps(plan_data(plan, extra), indent=2, ensure_ascii=False) + "\n"


# --- apply results ---------------------------------------------------------------------------


def outcome_lines(outcome: AppOutcome) -> list[Text]:
    notes = [Text(f"  {note.text}", style="bold") for note in outcome.notes]
    if outcome.ok:
        head = Text(f"{outcome.app}: applied {plural(len(outcome.done), 'change')}", style="green")
        return [head, *notes]
    lines = [Text(f"{outcome.app}: FAILED at {outcome.error}", style="bold red"), *notes]
    for title, changes in (
        ("done", outcome.done),
        ("failed", outcome.failed),
        ("not done", outcome.not_done),
    ):
        lines.append(Text(f"  {title}:" + ("" if changes else " nothing")))
        lines += [_line(c, "    ") for c in changes]
    return lines


def apply_text(result: ApplyResult, color: bool = False) -> str:
    console, buffer = _console(color)
    if not result.apps:
        console.print(Text("Nothing to apply.", style="green"))
    for outcome in result.apps:
        for line in outcome_lines(outcome):
            console.print(line)
    if not result.ok:
        failed = sum(1 for a in result.apps if not a.ok)
        console.print()
        console.print(
            Text(
                f"{failed} of {plural(len(result.apps), 'app')} failed; run apply again to finish\n"
                "(it plans from live state, so it picks up where this run stopped).",
                style="bold red",
            )
        )
    return buffer.getvalue()


def apply_data(result: ApplyResult) -> dict[str, Any]:
    def changes(items: list[Change]) -> list[dict[str, Any]]:
        return [c.model_dump(mode="json") for c in items]

    return {
        "ok": result.ok,
        "apps": [
            {
                "app": o.app,
                "ok": o.ok,
                "error": o.error,
                "done": changes(o.done),
                "failed": changes(o.failed),
                "not_done": changes(o.not_done),
                "notes": [
                    {**n.data, "resource": n.resource, "name": n.name, "text": n.text}
                    for n in o.notes
                ],
            }
            for o in result.apps
        ],
    }
