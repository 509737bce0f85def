"""Buildpacks of an app: the top-level `buildpacks` array of a stack file, in build order.

    buildpacks = ["heroku/nodejs", "heroku/python", "https://github.com/org/pack.tgz"]

TOML puts a top-level key before the first table, so the array goes above `[app]` (written
after `[app]` it would be `app.buildpacks`, an unknown key). Each entry is a buildpack registry
name (`namespace/name`) or an https URL; no entry twice, at most 20. Declared, the list is
authoritative: an order or membership change is one change of the whole list, applied by one
`PUT /apps/{app}/buildpack-installations` after the app is created and before formation (it
takes effect at the next deploy). Not declared (or empty), buildpacks are not managed: plan
does not read them (no request), drift shows the live ones as undeclared, import writes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

from herokustack.resources.base import (
    NEXT_DEPLOY,
    Action,
    Change,
    DriftContext,
    ImportProblem,
    Kind,
    Loc,
    PlanContext,
    Step,
    invalid,
)

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

MAX_BUILDPACKS = 20
REGISTRY_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$")
HTTPS_URL = re.compile(r"^https://[^\s/]+(/\S*)?$")
EXPECTED = "a buildpack registry name like heroku/python or an https URL"


def _check(value: str) -> str:
    if not (REGISTRY_NAME.match(value) or HTTPS_URL.match(value)):
        raise invalid(f"must be {EXPECTED}")
    return value


Buildpack = Annotated[
    str,
    AfterValidator(_check),
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [{"pattern": REGISTRY_NAME.pattern}, {"pattern": HTTPS_URL.pattern}],
            "description": "A buildpack registry name (heroku/python) or an https URL.",
        }
    ),
]


def _path(app: str) -> str:
    from herokustack.client import app_path  # the HTTP client only when reading or writing

    return f"{app_path(app)}/buildpack-installations"


def live_name(installation: Mapping[str, Any]) -> str:
    """How a stack file names an installed buildpack: its registry name, else its URL."""
    buildpack = installation.get("buildpack") or {}
    name = str(buildpack.get("name") or buildpack.get("url") or "")
    return name.removeprefix("urn:buildpack:")


def bracketed(names: list[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _put(run: AppRun, changes: list[Change]) -> None:
    updates = [{"buildpack": name} for name in changes[0].after]
    run.client.request("PUT", _path(run.app), {"updates": updates})


class Buildpacks(Kind):
    name = "buildpacks"
    resource = "buildpacks"
    label = "buildpacks"
    read_cost = (
        "1 request: GET /apps/{app}/buildpack-installations, only for apps that declare buildpacks"
    )
    section = "buildpacks"
    section_model = list[Buildpack]
    section_description = (
        "Buildpacks in build order: registry names (heroku/python) or https URLs, each once, "
        f"at most {MAX_BUILDPACKS}. Not declared: not managed."
    )
    expected = {"buildpacks": "an array of buildpacks", "buildpacks.*": EXPECTED}
    named = frozenset({("buildpacks",)})

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        names: list[str] = getattr(spec, self.section, [])
        problems: list[tuple[Loc, str]] = []
        if len(names) > MAX_BUILDPACKS:
            problems.append(
                ((self.section,), f"at most {MAX_BUILDPACKS} buildpacks, got {len(names)}")
            )
        for i, name in enumerate(names):
            if name in names[:i]:
                first = names.index(name)
                problems.append(((self.section, i), f"{name} is already buildpacks[{first}]"))
        return problems

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        items = sorted(client.get_list(_path(app)), key=lambda i: i.get("ordinal", 0))
        return {self.name: [live_name(i) for i in items]}

    def plan(self, ctx: PlanContext) -> None:
        want: list[str] = list(getattr(ctx.spec, self.section))
        have: list[str] = list(self.facts(ctx.live) or [])
        if want == have:
            return
        action: Action = "update" if have else "create"
        ctx.add(action, self.resource, ctx.name, before=have or None, after=want,
                note=NEXT_DEPLOY)  # fmt: skip

    def steps(self) -> list[Step]:
        return [Step(25, "buildpacks", _put)]  # after the app exists, before formation

    def what(self, change: Change) -> str:
        return "buildpacks"

    def body(self, change: Change) -> str:
        if change.action == "create" or not change.before:
            return f": {bracketed(change.after)}"
        return f": {bracketed(change.before)} → {bracketed(change.after)}"

    # -- drift --------------------------------------------------------------------------------

    def drift_what(self, resource_name: str, field: str | None) -> str:
        return "buildpacks"

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        return {
            "kind": "changed" if change.before else "missing",
            "live": bracketed(change.before) if change.before else None,
            "declared": bracketed(change.after),
        }

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        live = self.facts(ctx.live) or []
        if self.declared(ctx.stack.spec) or not live:
            return []  # declared: the planner already reports what differs
        return [
            {
                "kind": "undeclared",
                "name": ctx.stack.name,
                "live": bracketed(live),
                "note": "apply leaves them",
            }
        ]

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        live: list[str] = self.facts(builder.live) or []
        for i, name in enumerate(live):
            if not (REGISTRY_NAME.match(name) or HTTPS_URL.match(name)):
                raise ImportProblem(
                    f"app {builder.live.name}: buildpacks[{i}]: {name!r} cannot be declared "
                    f"(stack files take {EXPECTED})"
                )
        if live:
            doc[self.section] = list(live)

    def write_section(self, doc: Any, values: Any, notes: Any) -> None:
        if values:
            doc[self.section] = list(values)

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        found = self.facts(live)
        return {"buildpacks": list(found)} if found is not None else {}

    def touched_parts(self, change: Change) -> list[str]:
        return ["buildpacks"]


KIND = Buildpacks()
