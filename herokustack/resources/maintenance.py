"""Maintenance mode of an app: `app.maintenance` in the stack file.

Read with the app itself (no request of its own). Apply turns it on right after the app is
created (before anything else changes) and off last, once everything else is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from herokustack.resources.base import Change, Kind, PlanContext, Step, show

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.facts import LiveState
    from herokustack.importer import Builder

# The field of [app] this kind owns (`AppSpec` composes it).
FIELD: Any = Field(default=False, description="Maintenance mode on or off.")


def _switch(run: AppRun, changes: list[Change]) -> None:
    run.client.update_app(run.app, maintenance=bool(changes[0].after))


class Maintenance(Kind):
    name = "maintenance"
    resource = "maintenance"
    label = "maintenance"
    read_cost = "none: part of the app (GET /apps/{app})"
    always_read = True

    def plan(self, ctx: PlanContext) -> None:
        want = ctx.spec.app.maintenance
        have = ctx.live.app.maintenance if ctx.live.app else False
        if want != have:
            ctx.add("update", self.resource, ctx.name, field="maintenance", before=have,
                    after=want)  # fmt: skip

    def steps(self) -> list[Step]:
        return [
            Step(20, "maintenance on", _switch, lambda c: bool(c.after)),
            Step(90, "maintenance off", _switch, lambda c: not c.after),
        ]

    def what(self, change: Change) -> str:
        return "maintenance"

    def body(self, change: Change) -> str:
        if change.action == "create":
            return f": {show(change.after)}"
        return f": {show(change.before)} → {show(change.after)}"

    def drift_what(self, resource_name: str, field: str | None) -> str:
        return "maintenance"

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        assert builder.live.app is not None
        doc["app"]["maintenance"] = builder.live.app.maintenance

    def parts(self, live: LiveState) -> dict[str, Any]:
        return {"maintenance": live.app.maintenance} if live.app else {}

    def touched_parts(self, change: Change) -> list[str]:
        return ["maintenance"]


KIND = Maintenance()
