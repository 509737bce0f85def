"""Renderers of plans and apply results: they only display, never decide.

Text: `+` create, `~` update, `-` destroy, `!` refused, `>` deferred, one line per change and a
summary line per app ("acme-production: 3 to add, 2 to change, 0 to destroy"); colours only
when asked (a TTY without NO_COLOR). JSON: one stable object. Other modules (checks, cost) can
add sections under the plan with `extra`: (title, text) pairs in text, (key, data) in JSON.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from herokustack.applier import ApplyResult, AppOutcome
from herokustack.planner import AppPlan, Change, Plan, Summary
from herokustack.term import use_color as use_color  # other renderers take it from here

SYMBOLS = {"create": "+", "update": "~", "destroy": "-", "refused": "!", "deferred": ">"}
STYLES = {
    "create": "green",
    "update": "yellow",
    "destroy": "red",
    "refused": "bold magenta",
    "deferred": "cyan",
}

# How each resource is named in a line of text.
LABELS = {
    "app": "app",
    "addon": "add-on",
    "config": "config",
    "backup": "backup",
    "formation": "formation",
    "maintenance": "maintenance",
}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _quoted(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def change_text(change: Change) -> str:
    """The words of one change, without its symbol."""
    what = f"{LABELS[change.resource]} {change.name}"
    if change.resource == "maintenance":
        what = "maintenance"
    if change.resource in ("addon", "backup") and change.attachment not in (None, change.name):
        what += f" ({change.attachment})"
    body = _body(change)
    text = f"{what}{body}"
    if change.note and not (change.sensitive and change.note.startswith("(")):
        text += f"  # {change.note}"
    return text


def _body(change: Change) -> str:
    if change.resource == "config":
        return _config_body(change)
    if change.resource == "app" and change.action == "create":
        return f": region {change.after['region']}, stack {change.after['stack']}"
    if change.resource == "formation" and change.field is None:
        after = change.after or {}
        return f": {after.get('quantity')} × {after.get('size')}"
    if change.resource == "backup":
        if change.action == "create":
            return f": daily at {change.after}"
        if change.action == "destroy":
            return f": daily at {change.before}"
    field = f" {change.field}" if change.field and change.resource != "maintenance" else ""
    if change.resource == "addon" and change.field == "plan":
        field = ""
    if change.action == "create":
        return f"{field}: {_show(change.after)}"
    if change.action == "destroy" or (change.action == "refused" and change.after is None):
        return f"{field}: {_show(change.before)}"
    return f"{field}: {_show(change.before)} → {_show(change.after)}"


def _config_body(change: Change) -> str:
    if change.sensitive:
        if change.action == "destroy":
            return ""
        if change.action == "create":
            return " = (sensitive)"
        return " (sensitive value changed)"
    if change.action == "create":
        return f" = {_quoted(change.after)}"
    if change.action == "destroy":
        return ""
    before = "(hidden)" if change.before is None else _quoted(change.before)
    return f": {before} → {_quoted(change.after)}"


def summary_text(summary: Summary) -> str:
    text = f"{summary.add} to add, {summary.change} to change, {summary.destroy} to destroy"
    if summary.refused:
        text += f", {summary.refused} refused"
    if summary.deferred:
        text += f", {summary.deferred} deferred"
    return text


def _line(change: Change, indent: str = "  ") -> Text:
    line = Text(indent)
    line.append(SYMBOLS[change.action], style=STYLES[change.action])
    line.append(
        " " + change_text(change),
        style=STYLES[change.action] if change.action in ("refused",) else None,
    )
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
        lines.append(Text("  no changes", style="dim"))
    lines.append(Text(f"{app.app}: {summary_text(app.summary)}"))
    return lines


def plan_text(plan: Plan, color: bool = False, extra: Sequence[tuple[str, str]] = ()) -> str:
    console, buffer = _console(color)
    for app in plan.apps:
        for line in app_plan_lines(app):
            console.print(line)
        console.print()
    if len(plan.apps) > 1:
        console.print(Text(f"Plan: {summary_text(plan.summary)}", style="bold"))
    if not plan.has_changes:
        deferred = plan.summary.deferred
        text = "No changes: live state matches the stack files."
        if deferred:
            text = f"No changes to make now ({deferred} deferred until code is deployed)."
        console.print(Text(text, style="green"))
    for title, text in extra:
        console.print()
        console.print(Text(title, style="bold"))
        console.print(Text(text.rstrip("\n")))
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
    if outcome.ok:
        head = Text(f"{outcome.app}: applied {len(outcome.done)} changes", style="green")
        return [head]
    lines = [Text(f"{outcome.app}: FAILED at {outcome.error}", style="bold red")]
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
                f"{failed} of {len(result.apps)} apps failed; run apply again to finish "
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
            }
            for o in result.apps
        ],
    }
