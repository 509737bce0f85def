"""A kind that exists only in the tests: app labels, `[labels]` in a stack file (`team = "x"`).

The worked example of docs/adding-a-resource.md: everything herokustack knows of labels is in
this module; `labels_emulator.py` gives the emulator the matching resource family. Labels are
authoritative once declared: apply sets the declared ones and removes the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import StringConstraints

from herokustack.resources.base import Action, Change, Kind, PlanContext, Step

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.resources.base import DriftContext

LabelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$")]


def _path(app: str) -> str:
    from herokustack.client import app_path  # the HTTP client only when reading or writing

    return f"{app_path(app)}/labels"


def _write(run: AppRun, changes: list[Change]) -> None:
    body = {c.name: None if c.action == "destroy" else c.after for c in changes}
    run.client.request("PATCH", _path(run.app), body)


class Labels(Kind):
    name = "labels"
    resource = "label"
    label = "label"
    read_cost = "1 request: GET /apps/{app}/labels, only for apps that declare [labels]"
    section = "labels"
    section_model = dict[LabelName, str]
    section_description = "Labels of the app (name = value)."
    expected = {"labels.*": "a string"}
    named = frozenset({("labels",)})

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {self.name: client.get_object(_path(app))}

    def plan(self, ctx: PlanContext) -> None:
        live: dict[str, str] = self.facts(ctx.live) or {}
        want: dict[str, str] = getattr(ctx.spec, self.section)
        for key, value in want.items():
            if live.get(key) != value:
                action: Action = "update" if key in live else "create"
                ctx.add(action, self.resource, key, before=live.get(key), after=value)
        for key in sorted(set(live) - set(want)):
            ctx.add("destroy", self.resource, key, before=live[key])

    def steps(self) -> list[Step]:
        return [Step(85, "labels", _write)]  # after formation, before maintenance off

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        if self.declared(ctx.stack.spec):
            return []  # the planner already reports what differs
        live = self.facts(ctx.live) or {}
        return [{"kind": "undeclared", "name": k, "live": v} for k, v in sorted(live.items())]

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        labels = self.facts(builder.live)
        if labels:
            doc[self.section] = dict(labels)

    def parts(self, live: LiveState) -> dict[str, Any]:
        return {f"label.{k}": v for k, v in (self.facts(live) or {}).items()}


KIND = Labels()
