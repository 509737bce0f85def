"""Formation: the `[formation]` table, dynos per process type (quantity and size).

Reading it is one request (GET /apps/{app}/formation). A process type the app's code has not
released yet cannot be scaled: its change is deferred until the code is deployed. Heroku runs
one dyno tier per app (eco, basic, or standard/performance); apply scales in one batch PATCH.
Process types the file does not declare are left as they are (drift shows them, with a price).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints, field_validator, model_validator

from herokustack.resources.base import (
    Change,
    DriftContext,
    ImportProblem,
    Kind,
    Loc,
    PlanContext,
    Step,
    Strict,
    field_diff,
    invalid,
    rules,
    toml_comments,
    toml_inline,
)

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

DYNO_SIZES = (
    "eco",
    "basic",
    "standard-1x",
    "standard-2x",
    "performance-m",
    "performance-l",
    "performance-l-ram",
    "performance-xl",
    "performance-2xl",
)
# Heroku runs at most one dyno per process type on these sizes.
SINGLE_DYNO_SIZES = frozenset({"eco", "basic"})
PROCESS_TYPE_PATTERN = r"^[a-z][a-z0-9_-]*$"
ProcessType = Annotated[str, StringConstraints(pattern=PROCESS_TYPE_PATTERN)]
# Web first, then worker, then the other process types alphabetically.
PROCESS_ORDER = ("web", "worker")


class ProcessSpec(Strict):
    """How many dynos of one process type run, and on which size."""

    quantity: int = Field(ge=0, le=100, description="Number of dynos, 0 to 100.")
    size: str = Field(
        default="standard-1x",
        description="Dyno size, e.g. standard-1x (upper case is accepted and stored lower).",
        json_schema_extra={"enum": list(DYNO_SIZES)},
    )

    @field_validator("size")
    @classmethod
    def _check_size(cls, value: str) -> str:
        if value.lower() not in DYNO_SIZES:
            raise invalid("must be a dyno size: " + ", ".join(DYNO_SIZES))
        return value.lower()

    @model_validator(mode="after")
    def _single_dyno_sizes(self) -> ProcessSpec:
        if self.size in SINGLE_DYNO_SIZES and self.quantity > 1:
            msg = f"{self.size} dynos run at most 1 per process type, got {self.quantity}"
            raise rules([(("quantity",), msg)])
        return self

    @property
    def tier(self) -> str:
        return self.size if self.size in SINGLE_DYNO_SIZES else "professional"


def tier_problems(spec: StackFile) -> list[tuple[Loc, str]]:
    """Heroku refuses to mix eco, basic and professional (standard/performance) dynos in one app.

    Dev Center, "Dyno Types", section "Mixing dyno types" (devcenter.heroku.com/articles/
    dyno-types): an app on eco dynos uses eco for all its process types, an app on basic dynos
    basic for all; standard and performance sizes mix. Only process types that run dynos
    (quantity above 0) use a tier, as in the emulator's formation rule (`_check_tiers` in
    `emulator/models/formation.py`).
    """
    items = [(name, proc) for name, proc in spec.formation.items() if proc.quantity > 0]
    if not items:
        return []
    first_name, first = items[0]
    return [
        (
            ("formation", name, "size"),
            f"cannot mix {proc.size} with {first.size} (formation.{first_name}) in one app: "
            "Heroku needs all process types on eco, all on basic, or all on standard/performance",
        )
        for name, proc in items[1:]
        if proc.tier != first.tier
    ]


def process_order(formation: Mapping[str, Any]) -> list[str]:
    first = [p for p in PROCESS_ORDER if p in formation]
    return first + sorted(p for p in formation if p not in PROCESS_ORDER)


def _scale(run: AppRun, changes: list[Change]) -> None:
    updates: dict[str, dict[str, Any]] = {}
    for change in changes:
        entry = updates.setdefault(change.name, {"type": change.name})
        if change.field:
            entry[change.field] = change.after
        else:
            entry.update(change.after)
    run.client.scale(run.app, list(updates.values()))


class Formation(Kind):
    name = "formation"
    resource = "formation"
    label = "formation"
    read_cost = "1 request: GET /apps/{app}/formation"
    always_read = True  # the local emulator releases declared process types from it
    section = "formation"
    expected = {
        "formation": "a table of process types",
        "formation.*": 'a table like { quantity = 1, size = "standard-1x" }',
        "formation.*.[key]": "a process type name: lower-case letters, digits, - and _, "
        "starting with a letter",
        "formation.*.quantity": "an integer between 0 and 100",
        "formation.*.size": "a dyno size: " + ", ".join(DYNO_SIZES),
    }
    models_at = {"formation.*": ProcessSpec}
    named = frozenset({("formation",)})
    choices = {"formation.*.size": DYNO_SIZES}

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        return tier_problems(spec)

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {"formation": client.read_formation(app)}

    def plan(self, ctx: PlanContext) -> None:
        for ptype, spec in ctx.spec.formation.items():
            want = {"quantity": spec.quantity, "size": spec.size}
            live = ctx.live.formation.get(ptype)
            if live is None and ptype in ctx.assume_released:
                ctx.add("create", self.resource, ptype, after=want)
            elif live is None:
                note = (
                    f"process type {ptype!r} is not released yet: deploy the app's code "
                    "(e.g. git push heroku main), then run apply again"
                )
                ctx.add("deferred", self.resource, ptype, after=want, note=note)
            else:
                have = {"quantity": live.quantity, "size": live.size}
                for field, old, new in field_diff(have, want):
                    ctx.add("update", self.resource, ptype, field=field, before=old, after=new)

    def steps(self) -> list[Step]:
        return [Step(80, "formation", _scale)]

    def body(self, change: Change) -> str:
        if change.field is None:
            after = change.after or {}
            return f": {after.get('quantity')} × {after.get('size')}"
        return super().body(change)

    # -- drift --------------------------------------------------------------------------------

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        self._price_scaled(ctx, items)
        return [
            {
                "kind": "undeclared",
                "name": ptype,
                "live": f"{proc.quantity} × {proc.size}",
                "monthly_cents": ctx.prices.dynos(proc.quantity, proc.size),
                "note": "apply leaves it",
            }
            for ptype, proc in sorted(ctx.live.formation.items())
            if ptype not in ctx.stack.spec.formation and proc.quantity > 0
        ]

    def _price_scaled(self, ctx: DriftContext, items: list[Any]) -> None:
        """Put the live and declared monthly cost on the first item of each hand-scaled process."""
        priced: set[str] = set()
        for item in items:
            if item.resource != self.resource or item.kind != "changed" or item.name in priced:
                continue
            running = ctx.live.formation.get(item.name)
            declared = ctx.stack.spec.formation.get(item.name)
            if running is None or declared is None:
                continue
            priced.add(item.name)
            item.monthly_cents = ctx.prices.dynos(running.quantity, running.size)
            item.declared_cents = ctx.prices.dynos(declared.quantity, declared.size)

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        live = builder.live
        table: dict[str, Any] = {}
        for ptype in process_order(live.formation):
            process = live.formation[ptype]
            if process.size not in DYNO_SIZES:
                raise ImportProblem(
                    f"app {live.name}: formation.{ptype}: dyno size {process.size!r} "
                    "cannot be declared (stack files support " + ", ".join(DYNO_SIZES) + ")"
                )
            table[ptype] = {"quantity": process.quantity, "size": process.size}
        if not table:
            builder.note("formation", "no process types yet: declare them once code is deployed")
        doc["formation"] = table

    def import_minimal(self, full: Mapping[str, Any], minimal: dict[str, Any]) -> None:
        for ptype, process in minimal.get("formation", {}).items():
            process["size"] = full["formation"][ptype]["size"]  # the size matters: always say it

    def import_table(self, values: Mapping[str, Any], notes: Sequence[str]) -> Any:
        import tomlkit

        table = tomlkit.table()
        toml_comments(table, notes)
        for ptype in process_order(values):
            process = values[ptype]
            table[ptype] = toml_inline(
                {k: process[k] for k in ("quantity", "size") if k in process}
            )
        return table

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        return {f"formation.{t}": [p.quantity, p.size] for t, p in live.formation.items()}


KIND = Formation()
