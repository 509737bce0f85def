"""What `plan` and `apply` do for pull requests and CI: formats, saved plans, --changed-since.

The CLI commands call these; planning and applying themselves stay in `session`, `planner`
and `applier`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import typer

from herokustack import (
    addon_catalog,
    applier_ui,
    check_render,
    checks,
    cost,
    gitchanges,
    markdown,
    planfile,
    product,
    render,
    session,
    stackfile,
)
from herokustack.applier import ApplyResult
from herokustack.client import DEFAULT_API_URL
from herokustack.errors import HerokustackError
from herokustack.facts import LiveState
from herokustack.planner import Plan, hash_key, new_salt
from herokustack.stackfile import Stack

FORMATS = ("text", "json", "markdown")
SAVED_PLAN_OPTIONS = (
    "--app, --allow-destroy and --allow-transfer are options of plan, not of applying a saved plan"
)


def check_format(output: str) -> None:
    if output not in FORMATS:
        raise HerokustackError(f"--format: unknown format {output!r} (text, json or markdown)")


@dataclasses.dataclass
class PlanRun:
    plan: Plan
    lives: dict[str, LiveState]
    stacks: list[Stack]
    note: str | None = None  # said on stderr, e.g. "no stack file changed since main"
    # Add-on plans per service from the live catalog, read once per run (None: not read).
    catalog: dict[str, list[dict[str, Any]]] | None = None
    allow_destroy: tuple[str, ...] = ()
    target: str = DEFAULT_API_URL  # where the plan was made: "local" or the Platform API URL
    allow_transfer: tuple[str, ...] = ()
    # What the run spent of Heroku's request budget (the document's `requests`; None: nothing
    # was read).
    requests: dict[str, int | None] | None = None


def select(
    paths: Sequence[Path] | None, apps: Sequence[str] | None, since: str | None
) -> tuple[list[Stack], str | None]:
    """The stacks to plan; with `since`, only those changed since that git ref."""
    if since is None:
        return session.select_stacks(paths, apps), None
    candidates = stackfile.stack_paths(paths)
    changed = gitchanges.select_changed(candidates, since)
    if not changed:
        return [], f"no stack file changed since {since}: nothing to plan"
    stacks = session.select_stacks(changed, None)
    return [s for s in stacks if not apps or s.name in apps], None


def make_plan(
    paths: Sequence[Path] | None,
    apps: Sequence[str] | None,
    since: str | None,
    open_target: Any,
    with_catalog: bool = False,
    allow_destroy: Sequence[str] = (),
    where: str = DEFAULT_API_URL,
    allow_transfer: Sequence[str] = (),
) -> PlanRun:
    """Plan the selected stacks; `open_target()` reaches Heroku only when there is one.

    With `with_catalog`, the add-on catalog is read too (for cost), while Heroku is at hand.
    """
    stacks, note = select(paths, apps, since)
    if not stacks:
        return PlanRun(Plan(salt=new_salt()), {}, [], note, target=where)
    configs = session.resolve_configs(stacks)
    with open_target() as target:
        plan, lives = session.plan_with_lives(
            target, stacks, configs, allow_destroy, allow_transfer=allow_transfer
        )
        catalog = None
        if with_catalog:
            with contextlib.suppress(HerokustackError):  # a plan never fails on price
                catalog = read_catalog(target, stacks, lives)
        note = target.catalog.note() or note
        figures = target.requests_figures()
    allowed = tuple(allow_destroy), tuple(allow_transfer)
    return PlanRun(plan, lives, stacks, note, catalog, allowed[0], where, allowed[1], figures)


def read_catalog(
    target: session.Target, stacks: Sequence[Stack], lives: Mapping[str, LiveState]
) -> dict[str, list[dict[str, Any]]]:
    """The catalog plans of every add-on service the run names: one request per service,
    whatever the number of apps (those of the stack files were read to check them)."""
    services = addon_catalog.services_of(stacks)
    services |= {a.service for live in lives.values() for a in live.addons}
    return target.catalog.read(services)


def warn_cents(text: str | None) -> int | None:
    """`--cost-warn-above USD` in cents."""
    try:
        return None if text is None else cost.parse_usd(text)
    except HerokustackError as exc:
        raise HerokustackError(f"--cost-warn-above: {exc}") from None


# --- under the plan: production checks of the apps that change, and their monthly cost --------


@dataclasses.dataclass
class Extras:
    findings: list[checks.Finding] | None = None  # None: not shown
    costs: dict[str, cost.CostChange] | None = None
    warn_above: int | None = None  # --cost-warn-above, in cents

    @property
    def totals(self) -> tuple[int, int]:
        return cost.change_totals((self.costs or {}).values())

    def warning(self) -> str | None:
        if self.costs is None:
            return None
        before, after = self.totals
        if not cost.warn_delta(after - before, self.warn_above):
            return None
        assert self.warn_above is not None
        return (
            f"warning: the monthly cost grows by {cost.format_delta(after - before)}, "
            f"more than --cost-warn-above {cost.format_usd(self.warn_above)}"
        )


def extras(
    run: PlanRun,
    *,
    with_checks: bool = True,
    with_cost: bool = True,
    prices: Path | None = None,
    warn_above: int | None = None,
) -> Extras:
    """Findings of `herokustack check` for the apps that change, and cost per app and total."""
    found = Extras(warn_above=warn_above)
    changing = {a.app for a in run.plan.apps if a.has_changes}
    stacks = [s for s in run.stacks if s.name in changing]
    if with_checks and stacks:
        found.findings = checks.run_checks(stacks, checks.live_state_from(run.lives))
    if with_cost and run.plan.apps:
        book = cost.PriceBook.builtin()
        if prices is not None:
            book = book.with_file(prices)
        catalog = run.catalog
        if catalog is not None:
            book = book.with_catalog(lambda service: catalog.get(service, []))
        found.costs = cost.plan_cost(run.plan, run.lives, book)
    return found


def document(run: PlanRun, exit_code: int, more: Extras | None = None) -> dict[str, Any]:
    """The plan document (`plan --format json`, `plan --out`), checked against its model."""
    extra = planfile.document_extra(
        run.plan,
        run.lives,
        run.stacks,
        exit_code,
        run.allow_destroy,
        run.target,
        allow_transfer=run.allow_transfer,
    )
    data = render.plan_data(run.plan, extra)
    if more and more.costs is not None:
        for entry in data["apps"]:
            entry.update(more.costs[entry["app"]].json())
        before, after = more.totals
        data["summary"].update(cost_before_cents=before, cost_after_cents=after)
    if more and more.findings is not None:
        data["checks"] = json.loads(check_render.render_json(more.findings))
    if run.requests is not None:
        data["requests"] = run.requests
    planfile.sign(data, run.plan.hash_key)
    planfile.PlanDocument.model_validate(data)
    return data


def plan_output(
    run: PlanRun, output: str, doc: Mapping[str, Any], more: Extras | None = None
) -> str:
    more = more or Extras()
    if output == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output == "markdown":
        return plan_markdown(run.plan, more, run.stacks)
    sections = []
    if more.findings is not None:
        title = "Checks of the apps that change (fixes: herokustack check)"
        sections.append((title, findings_text(more.findings)))
    if more.costs is not None:
        text = cost.plan_cost_text(more.costs)
        sections.append(("Cost per month", text))
    head = product.product_lines(run.plan, run.stacks)
    return render.plan_text(run.plan, color=render.use_color(), extra=sections, head=head)


def findings_text(findings: Sequence[checks.Finding]) -> str:
    """One line per finding, worst first: short enough to sit under a plan."""
    lines = []
    for f in sorted(findings, key=lambda f: (checks.SEVERITY_RANK[f.severity], f.app)):
        where = f"{f.path}:{f.line}" if f.line else str(f.path)
        lines.append(f"{f.severity:<7} {f.rule_id} {f.app}: {f.message}  ({where})")
    return "\n".join([*lines, check_render.summary(findings)]) + "\n"


def plan_markdown(plan: Plan, more: Extras, stacks: Sequence[Stack] = ()) -> str:
    costs = None
    if more.costs is not None:
        costs = {app: (c.before.cents, c.after.cents) for app, c in more.costs.items()}

    def cost_cell(before: int, after: int) -> str:
        return f"{cost.format_usd(after)} ({cost.markdown_delta(after - before, more.warn_above)})"

    sections = []
    if more.findings is not None:
        head = f"herokustack check of the apps that change: {check_render.summary(more.findings)}"
        body = check_render.markdown_body(more.findings)
        sections.append(("", f"<details><summary>{head}</summary>\n\n{body}\n\n</details>"))
    totals = more.totals if more.costs is not None else None
    products = product.product_markdown(plan, stacks)
    return markdown.plan_markdown(plan, sections, costs, cost_cell, totals, products)


def write_plan(path: Path, doc: Mapping[str, Any]) -> str:
    """Save the plan; the line that says so (for stderr)."""
    try:
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise HerokustackError(f"--out {path}: cannot write: {exc.strerror or exc}") from None
    return f"saved plan to {path} (apply it with: herokustack apply {path})"


# --- apply ------------------------------------------------------------------------------------


def saved_plan_path(paths: Sequence[Path] | None, plan_opt: Path | None) -> Path | None:
    """`apply plan.json` or `apply --plan plan.json`: the saved plan to apply, if any."""
    jsons = [p for p in paths or () if p.suffix == ".json"]
    if plan_opt is not None and paths:
        raise HerokustackError("--plan: a saved plan is applied alone, without stack files")
    if jsons and len(list(paths or ())) > 1:
        raise HerokustackError(f"{jsons[0]}: a saved plan is applied alone, without stack files")
    return plan_opt or (jsons[0] if jsons else None)


def show_result(plan: Plan, result: ApplyResult | None, output: str) -> None:
    if output != "markdown":
        applier_ui.show_result(plan, result, output)
        return
    text = markdown.plan_markdown(plan)
    if result is not None:
        text += "\n" + markdown.apply_markdown(result)
    typer.echo(text, nl=False)


def _bar_of(plan: Plan, target: session.Target) -> tuple[int, Callable[[], int]]:
    """The apps apply works on and the requests spent so far: its progress bar."""
    return sum(1 for a in plan.apps if a.has_work), lambda: target.client.requests_spent


def apply_files(
    paths: Sequence[Path] | None,
    apps: Sequence[str] | None,
    allow_destroy: Sequence[str],
    output: str,
    target_options: Mapping[str, Any],
    timeout: float,
    auto_approve: bool,
    allow_transfer: Sequence[str] = (),
) -> ApplyResult | None:
    """Plan the stack files, show the plan, ask, then apply it; None: not approved."""
    stacks = session.select_stacks(paths, apps)
    configs = session.resolve_configs(stacks)
    with session.open_target(**target_options) as target:
        plan, lives = session.plan_with_lives(
            target, stacks, configs, allow_destroy, allow_transfer=allow_transfer
        )
        applier_ui.show_plan(plan, output)
        if plan.has_work:
            target.check_budget(session.estimate_writes(plan))
        if not applier_ui.approved(plan, auto_approve):
            show_result(plan, None, output)
            return None
        guard = planfile.LiveGuard.from_lives(target.client, plan.hash_key, lives)
        with applier_ui.progress(*_bar_of(plan, target)) as on_step:
            result = session.run_apply(target, plan, configs, timeout, on_step, guard)
    show_result(plan, result, output)
    return result


def apply_saved(
    path: Path,
    output: str,
    target_options: Mapping[str, Any],
    timeout: float,
    environ: Mapping[str, str] = os.environ,
) -> ApplyResult | None:
    """Apply the saved plan if it is exactly the plan its stack files and the live state give
    now (planned again here: the file itself is never executed); None: nothing to do."""
    doc = planfile.load(path)
    name = str(path)
    local, api_url = session.saved_target(
        doc.target, target_options["local"], target_options["api_url"], name
    )
    planfile.check_files(doc, name)
    stacks = stackfile.load_stacks([Path(a.path) for a in doc.apps]) if doc.apps else []
    options = {**target_options, "local": local, "api_url": api_url}
    with session.open_target(**options) as target:
        key = hash_key(doc.salt, target.pepper)
        planfile.check_key(doc, key, name)
        planfile.check_secrets(doc, key, environ)  # clearer than the difference it makes
        configs = session.resolve_configs(stacks, environ)
        plan, lives = session.plan_with_lives(
            target,
            stacks,
            configs,
            doc.allow_destroy,
            salt=doc.salt,
            allow_transfer=doc.allow_transfer,
        )
        planfile.check_fresh(doc, key, lives, name)
        planfile.check_same(doc, plan, key, name)
        applier_ui.show_plan(plan, output)
        if not plan.has_work:
            show_result(plan, None, output)
            return None
        target.check_budget(session.estimate_writes(plan))
        guard = planfile.LiveGuard(target.client, key, doc.live)
        with applier_ui.progress(*_bar_of(plan, target)) as on_step:
            result = session.run_apply(target, plan, configs, timeout, on_step, guard)
    show_result(plan, result, output)
    return result
