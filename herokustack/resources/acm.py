"""Automated Certificate Management (ACM) of an app: `app.acm` in the stack file.

    [app]
    acm = true    # Heroku issues and renews a certificate for each custom domain

Read with the app itself (the `acm` field of `GET /apps/{app}`: no request of its own).
Omitted, ACM is not managed (not planned; drift tells an ACM that is on); import writes
`acm = true` for an app that has it on. Declared, a
difference is one change, applied by `POST /apps/{app}/acm` (on) or `DELETE /apps/{app}/acm`
(off) after the domains are added, so that ACM covers them at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from herokustack.resources.base import Change, DriftContext, Kind, PlanContext, Step, show

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

# The field of [app] this kind owns (`AppSpec` composes it).
FIELD: Any = Field(
    default=None,
    description="Automated Certificate Management: Heroku's certificates for the custom "
    "domains, on or off. Not written: not managed.",
)


def _switch(run: AppRun, changes: list[Change]) -> None:
    from herokustack.client import app_path  # the HTTP client only when writing

    method = "POST" if changes[0].after else "DELETE"
    run.client.request(method, f"{app_path(run.app)}/acm", {} if changes[0].after else None)


class Acm(Kind):
    name = "acm"
    resource = "acm"
    label = "acm"
    read_cost = "none: part of the app (GET /apps/{app})"

    def declared(self, spec: StackFile) -> bool:
        return spec.app.acm is not None

    def plan(self, ctx: PlanContext) -> None:
        want = ctx.spec.app.acm
        have = ctx.live.app.acm if ctx.live.app else False  # a new app has ACM off
        if want is not None and want != have:
            ctx.add("update", self.resource, ctx.name, field="acm", before=have, after=want)

    def steps(self) -> list[Step]:
        return [Step(84, "acm", _switch)]  # after the domains are added (82)

    def what(self, change: Change) -> str:
        return "acm"

    def body(self, change: Change) -> str:
        return f": {show(change.before)} → {show(change.after)}"

    # -- drift --------------------------------------------------------------------------------

    def drift_what(self, resource_name: str, field: str | None) -> str:
        return "acm"

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        on = bool(ctx.live.app and ctx.live.app.acm)
        if self.declared(ctx.stack.spec) or not on:
            return []
        return [{"kind": "undeclared", "name": ctx.stack.name, "live": "on",
                 "note": "apply leaves it"}]  # fmt: skip

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        # Written when on (as features write the enabled ones): off is what an app starts
        # with, and a file without it plans empty too (ACM on later shows as drift).
        assert builder.live.app is not None
        if builder.live.app.acm:
            doc["app"]["acm"] = True

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        return {"acm": live.app.acm} if live.app else {}

    def touched_parts(self, change: Change) -> list[str]:
        return ["acm"]

    def part_label(self, name: str) -> str:
        return "acm"


KIND = Acm()
