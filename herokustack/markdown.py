"""Markdown for pull-request comments: plan, apply results and validation, short enough to read.

A plan comment is a summary table (app, add, change, destroy, refused), then one collapsed
`<details>` block per app that has changes, its lines in a `diff` code block (GitHub colours
`+` and `-`). Refused changes need a person, so they come first, in bold, outside the blocks.
The first line is a hidden marker, so a CI job can find its earlier comment and edit it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from herokustack.applier import ApplyResult
from herokustack.planner import AppPlan, Plan, Summary
from herokustack.render import SYMBOLS, change_text, summary_text
from herokustack.stackfile import FileResult, plural, validation_summary

PLAN_MARKER = "<!-- herokustack-plan -->"
COLUMNS = ("add", "change", "destroy", "refused")
MAX_COMMENT = 60_000  # characters; GitHub's limit is 65,536
# Cost per app, in US cents: (before, after), and how to show a pair in a cell.
Costs = Mapping[str, tuple[int, int]]
CostCell = Callable[[int, int], str]


def cell(text: str) -> str:
    """Text safe inside a table cell or a summary line: no pipe, no line break, no HTML."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return code_cell(text)


def code_cell(text: str) -> str:
    """Text safe inside `code` in a table cell (GitHub reads a pipe there as a column)."""
    return text.replace("|", "\\|").replace("\n", " ")


def code_block(lines: Sequence[str], lang: str = "") -> str:
    """A fenced block longer than any run of backticks in its lines, so nothing breaks out."""
    longest = max((len(m) for line in lines for m in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}{lang}", *lines, fence])


def _counts(summary: Summary) -> list[str]:
    cells = [str(getattr(summary, c)) for c in COLUMNS]
    if summary.refused:
        cells[-1] = f"**{summary.refused}**"
    return cells


def _row(first: str, summary: Summary, cost: str | None) -> str:
    cells = [first, *_counts(summary)] + ([cost] if cost is not None else [])
    return "| " + " | ".join(cells) + " |"


def summary_table(
    plan: Plan,
    costs: Costs | None = None,
    cost_cell: CostCell | None = None,
    totals: tuple[int, int] | None = None,
) -> str:
    """One row per app and a total row; `totals` (before, after) may differ from the sum of the
    apps (the account-wide eco plan counts once)."""
    head = ["App", "Add", "Change", "Destroy", "Refused"] + (["Cost / month"] if costs else [])
    align = [":--", "--:", "--:", "--:", "--:"] + ([":--"] if costs else [])
    rows = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]

    def cost_of(app: str) -> str | None:
        if not costs or cost_cell is None:
            return None
        return cost_cell(*costs[app]) if app in costs else ""

    for app in plan.apps:
        rows.append(_row(f"`{app.app}`", app.summary, cost_of(app.app)))
    if len(plan.apps) > 1:
        total = None
        if costs and cost_cell is not None:
            sums = sum(b for b, _ in costs.values()), sum(a for _, a in costs.values())
            total = cost_cell(*(totals or sums))
        rows.append(_row("**Total**", plan.summary, total))
    return "\n".join(rows)


def refused_lines(plan: Plan) -> list[str]:
    """The change in bold, its reason after it in plain text (a whole paragraph in bold is
    hard to read)."""
    lines = []
    for app in plan.apps:
        for change in app.changes:
            if change.action != "refused":
                continue
            what = change_text(change.model_copy(update={"note": None}))
            why = f" — {cell(change.note)}" if change.note else ""
            lines.append(f"- **{cell(app.app)}: {cell(what)}**{why}")
    return lines


def app_details(app: AppPlan, max_lines: int | None = None) -> str:
    new = ", new app" if not app.exists else ""
    title = f"<code>{cell(app.app)}</code> ({cell(app.path)}{new}): {summary_text(app.summary)}"
    lines = [f"{SYMBOLS[c.action]} {change_text(c)}" for c in app.changes]
    if max_lines is not None and len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... {len(lines) - max_lines} more (see the plan's JSON)"]
    return "\n".join(
        [f"<details><summary>{title}</summary>", "", code_block(lines, "diff"), "", "</details>"]
    )


def plan_markdown(
    plan: Plan,
    extra: Sequence[tuple[str, str]] = (),
    costs: Costs | None = None,
    cost_cell: CostCell | None = None,
    totals: tuple[int, int] | None = None,
    products: Sequence[str] = (),
) -> str:
    """The PR comment of a plan; `extra` adds (title, markdown) sections under it, `products`
    the pipelines' sections (with their diagrams) above the apps.

    GitHub refuses comments over 65,536 characters: a longer plan shows fewer lines per app.
    """
    for max_lines in (None, 50, 10, 0):
        text = _plan_markdown(plan, extra, costs, cost_cell, max_lines, totals, products)
        if len(text) <= MAX_COMMENT:
            break
    return text


def _plan_markdown(
    plan: Plan,
    extra: Sequence[tuple[str, str]],
    costs: Costs | None,
    cost_cell: CostCell | None,
    max_lines: int | None,
    totals: tuple[int, int] | None = None,
    products: Sequence[str] = (),
) -> str:
    parts = [PLAN_MARKER, f"### herokustack plan: {summary_text(plan.summary)}"]
    refused = refused_lines(plan)
    if refused:
        parts.append("**Refused: these need a person (apply leaves them as they are):**\n")
        parts[-1] += "\n".join(refused)
    if plan.apps:
        parts.append(summary_table(plan, costs, cost_cell, totals))
    parts += products
    parts += [app_details(app, max_lines) for app in plan.apps if app.changes]
    if not plan.has_changes:
        parts.append("No changes: live state matches the stack files.")
    parts += [
        f"#### {title}\n\n{body.rstrip()}" if title else body.rstrip() for title, body in extra
    ]
    return "\n\n".join(parts) + "\n"


def apply_markdown(result: ApplyResult) -> str:
    failed = sum(1 for a in result.apps if not a.ok)
    if not result.apps:
        return "### herokustack apply: nothing to apply\n"
    total = plural(len(result.apps), "app")
    head = f"### herokustack apply: {len(result.apps) - failed} of {total} applied"
    rows = ["| App | Result | Done | Failed | Not done |", "| :-- | :-- | --: | --: | --: |"]
    for o in result.apps:
        outcome = "applied" if o.ok else f"**failed** at {cell(o.error or '')}"
        counts = f"{len(o.done)} | {len(o.failed)} | {len(o.not_done)}"
        rows.append(f"| `{o.app}` | {outcome} | {counts} |")
    notes = [f"- `{cell(o.app)}`: {cell(n.text)}" for o in result.apps for n in o.notes]
    return "\n\n".join([head, "\n".join(rows), *(["\n".join(notes)] if notes else [])]) + "\n"


def validate_markdown(results: Sequence[FileResult]) -> str:
    head = f"### herokustack validate: {validation_summary(results)}"
    rows = ["| File | App | Result |", "| :-- | :-- | :-- |"]
    for r in results:
        mark = f"**{plural(len(r.problems), 'problem')}**" if r.problems else "valid"
        rows.append(f"| `{code_cell(str(r.path))}` | {cell(r.what)} | {mark} |")
    problems = [f"- {cell(p.located())}" for r in results for p in r.problems]
    return "\n\n".join([head, "\n".join(rows), *(["\n".join(problems)] if problems else [])]) + "\n"
