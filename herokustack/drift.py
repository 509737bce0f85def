"""`herokustack drift`: where live apps differ from their stack files.

There is no state file, so herokustack cannot tell a hand-made change from a file edit that was
not applied yet: the stack files are the truth, and every difference between them and live
state is drift, reported as "live → declared". Drift is computed by the planner (the plan that
would make Heroku match the files), then re-worded, plus what the planner leaves alone but a
person changed by hand: config vars and running process types the files do not declare.

Kinds: `changed` (both sides have it, with other values), `missing` (declared, not on Heroku),
`undeclared` (on Heroku, not declared; add-ons and process types with their monthly price).
Secret values never appear: a `from_env` value is compared only when its environment variable
is set (else only its presence is), and is shown as "(sensitive)" either way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from herokustack import cost, resources
from herokustack.cost import FallbackPrices
from herokustack.facts import LiveState
from herokustack.markdown import code_cell
from herokustack.planner import AppPlan, make_plan
from herokustack.resources import pipelines
from herokustack.resources.base import DriftContext, key_text
from herokustack.session import Target
from herokustack.stackfile import ConfigEntry, Stack, plural

Kind = Literal["changed", "missing", "undeclared"]
SYMBOLS: dict[str, str] = {"changed": "~", "missing": "-", "undeclared": "+"}
FORMATS = ("text", "json", "markdown")
HIDDEN = "(sensitive)"  # as `config_vars.HIDDEN`


class DriftItem(BaseModel):
    """One difference between a live app and its stack file."""

    app: str
    kind: Kind
    resource: str = Field(description="The `resource` of a kind: app, addon, config, ...")
    name: str
    field: str | None = None
    live: Any = None
    declared: Any = None
    sensitive: bool = False
    monthly_cents: int | None = Field(
        default=None, description="What it costs on Heroku (undeclared, or scaled by hand)."
    )
    declared_cents: int | None = Field(
        default=None, description="What it would cost as declared (dynos scaled by hand)."
    )
    note: str | None = None

    @property
    def text(self) -> str:
        """One line, without its symbol: `formation web quantity: live 3 → declared 2`."""
        kind = resources.kind_of(self.resource)
        what = kind.drift_what(self.name, self.field)
        price = "" if self.monthly_cents is None else f", {cost.format_monthly(self.monthly_cents)}"
        quote = kind.quote_values
        if self.kind == "missing":
            hide = self.sensitive or self.declared is None
            shown = "" if hide else f" {_show(self.declared, quote)}"
            body = f"declared{shown}, missing on Heroku"
        elif self.kind == "undeclared":
            shown = "" if self.sensitive or self.live is None else _show(self.live, quote)
            body = f"on Heroku{f' ({shown}{price})' if shown else price}, not declared"
        elif self.sensitive:
            body = "live value differs from the declared one (sensitive)"
        else:
            body = f"live {_show(self.live, quote)} → declared {_show(self.declared, quote)}"
            body += self._scaled_cost()
        note = f"  # {self.note}" if self.note else ""
        return f"{what}: {body}{note}"

    @property
    def scaled_delta_cents(self) -> int:
        """What a hand-scaled process type costs more (or less) than declared, per month."""
        if self.monthly_cents is None or self.declared_cents is None:
            return 0
        return self.monthly_cents - self.declared_cents

    def _scaled_cost(self) -> str:
        if self.monthly_cents is None or self.declared_cents is None:
            return ""
        live, declared = (
            cost.format_monthly(self.monthly_cents),
            cost.format_monthly(self.declared_cents),
        )
        delta = cost.format_delta(self.scaled_delta_cents)
        return f" ({self.name} costs {live} live, {declared} declared: {delta})"


def _show(value: Any, quote: bool = False) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "(none)"
    if isinstance(value, str) and not (quote and value != HIDDEN):
        return value
    return json.dumps(value, ensure_ascii=False)


class AppDrift(BaseModel):
    app: str
    path: str
    exists: bool
    items: list[DriftItem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Not drift: worth knowing.")

    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    @property
    def undeclared_cents(self) -> int:
        return sum(i.monthly_cents or 0 for i in self.items if i.kind == "undeclared")

    @property
    def scaled_delta_cents(self) -> int:
        return sum(i.scaled_delta_cents for i in self.items)


class DriftReport(BaseModel):
    apps: list[AppDrift] = Field(default_factory=list)

    @property
    def has_drift(self) -> bool:
        return any(a.has_drift for a in self.apps)

    @property
    def count(self) -> int:
        return sum(len(a.items) for a in self.apps)

    @property
    def undeclared_cents(self) -> int:
        return sum(a.undeclared_cents for a in self.apps)

    @property
    def scaled_delta_cents(self) -> int:
        return sum(a.scaled_delta_cents for a in self.apps)


# --- computing drift ---------------------------------------------------------------------------


def detect_drift(
    target: Target, stacks: Sequence[Stack], environ: Mapping[str, str] = os.environ
) -> DriftReport:
    """Read every app, plan against its stack file, and report the differences as drift.

    Like `plan`, it first checks Heroku's request budget for reading every kind of every app
    (`--wait-for-rate-limit` waits instead of refusing)."""
    specs = [s.spec for s in stacks]
    target.check_budget(resources.estimate_reads(specs, every_kind=True))
    lives = target.read_lives(stacks, every_kind=True)
    lives = pipelines.with_pipelines(target.client, stacks, lives)  # once per run
    configs: dict[str, dict[str, ConfigEntry]] = {}
    unchecked: dict[str, list[str]] = {}
    for stack in stacks:
        configs[stack.name], unchecked[stack.name] = drift_config(stack, lives[stack.name], environ)
    plan = make_plan(stacks, configs, lives)
    prices = FallbackPrices.live(target.client)
    apps = []
    for stack, app_plan in zip(stacks, plan.apps, strict=True):
        app = app_drift(stack, app_plan, lives[stack.name], prices)
        if unchecked[stack.name]:
            names = ", ".join(unchecked[stack.name])
            app.notes.append(f"not compared (environment variables not set): {names}")
        apps.append(app)
    return DriftReport(apps=apps)


def drift_config(
    stack: Stack, live: LiveState, environ: Mapping[str, str]
) -> tuple[dict[str, ConfigEntry], list[str]]:
    """The declared config; a secret whose variable is unset is only checked for presence.

    Such a secret takes its live value (so the planner sees no change), or, when it is missing
    on Heroku, a blank one (so the planner reports it missing). The names not compared are
    returned too.
    """
    entries: dict[str, ConfigEntry] = {}
    unchecked: list[str] = []
    for key, value in stack.spec.config.items():
        if isinstance(value, str):
            entries[key] = ConfigEntry(value)
        elif value.from_env in environ:
            entries[key] = ConfigEntry(environ[value.from_env], sensitive=True)
        elif key in live.config:
            entries[key] = ConfigEntry(live.config[key], sensitive=True)
            unchecked.append(key)
        elif not value.optional:
            entries[key] = ConfigEntry("", sensitive=True)
    for loc, value in (v for kind in resources.KINDS for v in kind.resolved_values(stack.spec)):
        # Another kind's value (a drain URL): left out when its variable is unset, and that
        # kind compares only what it can (see Kind.resolved_values).
        where = key_text(loc)
        if isinstance(value, str):
            entries[where] = ConfigEntry(value)
        elif value.from_env in environ:
            entries[where] = ConfigEntry(environ[value.from_env], sensitive=True)
        elif not value.optional:
            unchecked.append(where)
    return entries, unchecked


def app_drift(stack: Stack, plan: AppPlan, live: LiveState, prices: FallbackPrices) -> AppDrift:
    """The plan's changes told as drift by their kinds, and what each kind adds (undeclared
    things the planner leaves alone), in the registry's order."""
    drift = AppDrift(app=stack.name, path=str(stack.path), exists=live.exists)
    if not live.exists:
        for kind in resources.KINDS:
            drift.items += [_new_item(stack, kind, i) for i in kind.absent_app_drift(stack)]
        return drift
    ctx = DriftContext(stack, live, plan.changes, prices)
    for change in plan.changes:
        kind = resources.kind_of(change.resource)
        if change.action == "deferred" or (
            change.action == "refused" and change.before == change.after
        ):  # not drift: waits for a deploy, or the same plan on an add-on of another app
            drift.notes.append(f"{kind.label} {change.name}: {change.note}")
            continue
        found = kind.drift_item(change, ctx)
        if found is not None:
            fields = {"name": change.name, "field": change.field, "sensitive": change.sensitive}
            drift.items.append(_new_item(stack, kind, {**fields, **found}))
    for kind in resources.KINDS:
        drift.items += [_new_item(stack, kind, i) for i in kind.drift_extra(ctx, drift.items)]
    drift.items.sort(key=lambda item: resources.order_of(item.resource))
    return drift


def _new_item(stack: Stack, kind: resources.Kind, fields: Mapping[str, Any]) -> DriftItem:
    return DriftItem(app=stack.name, resource=kind.resource, **fields)


# --- rendering -----------------------------------------------------------------------------------


def _head(app: AppDrift) -> str:
    state = plural(len(app.items), "difference") if app.items else "no drift"
    return f"{app.app} ({app.path}): {state}"


def summary_line(report: DriftReport) -> str:
    if not report.has_drift:
        return f"No drift: live state matches the stack files ({plural(len(report.apps), 'app')})."
    drifted = sum(1 for a in report.apps if a.has_drift)
    line = (
        f"Drift in {drifted} of {plural(len(report.apps), 'app')}: "
        f"{plural(report.count, 'difference')}"
    )
    if report.undeclared_cents:
        line += f"; undeclared resources cost {cost.format_monthly(report.undeclared_cents)}"
    if report.scaled_delta_cents:
        delta = cost.format_delta(report.scaled_delta_cents)
        line += f"; dynos scaled by hand cost {delta}/mo against the stack files"
    return line + "."


def drift_text(report: DriftReport) -> str:
    """`~` differs, `-` declared but missing on Heroku, `+` on Heroku but not declared."""
    lines: list[str] = []
    for app in report.apps:
        lines.append(_head(app))
        lines += [f"  {SYMBOLS[i.kind]} {i.text}" for i in app.items]
        lines += [f"  note: {n}" for n in app.notes]
    lines += ["", summary_line(report)]
    return "\n".join(lines) + "\n"


def drift_data(report: DriftReport) -> dict[str, Any]:
    return {
        "drift": report.has_drift,
        "summary": {
            "apps": len(report.apps),
            "apps_with_drift": sum(1 for a in report.apps if a.has_drift),
            "differences": report.count,
            "undeclared_monthly_cents": report.undeclared_cents,
            "scaled_delta_monthly_cents": report.scaled_delta_cents,
        },
        "apps": [
            {
                "app": a.app,
                "path": a.path,
                "exists": a.exists,
                "drift": a.has_drift,
                "undeclared_monthly_cents": a.undeclared_cents,
                "scaled_delta_monthly_cents": a.scaled_delta_cents,
                "items": [{**i.model_dump(mode="json"), "text": i.text} for i in a.items],
                "notes": a.notes,
            }
            for a in report.apps
        ],
    }


def drift_json(report: DriftReport) -> str:
    return json.dumps(drift_data(report), indent=2, ensure_ascii=False) + "\n"


def drift_markdown(report: DriftReport) -> str:
    """A heading, the summary, and one table row per difference (for issues and CI summaries)."""
    title = "Drift detected" if report.has_drift else "No drift"
    lines = [f"## herokustack drift: {title}", "", summary_line(report), ""]
    rows = [(a, i) for a in report.apps for i in a.items]
    if rows:
        lines += ["| App | | Difference |", "|---|---|---|"]
        lines += [
            f"| {code_cell(a.app)} | `{SYMBOLS[i.kind]}` | {code_cell(i.text)} |" for a, i in rows
        ]
        lines.append("")
    notes = [(a.app, n) for a in report.apps for n in a.notes]
    lines += [f"- {code_cell(app)}: {code_cell(note)}" for app, note in notes]
    return "\n".join(lines).rstrip("\n") + "\n"


RENDERERS = {"text": drift_text, "json": drift_json, "markdown": drift_markdown}
