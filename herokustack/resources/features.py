"""App features of an app: the `[features]` table of a stack file, feature name -> on/off.

    [features]
    preboot = true
    runtime-dyno-metadata = false

Only the declared features are managed: plan reads the app's features (one
`GET /apps/{app}/features`, only for apps that declare `[features]`) and each declared feature
whose state differs is one change, applied by one `PATCH /apps/{app}/features/{name}` after the
app exists and before add-ons and formation. The same list tells which names Heroku has: a
name it does not list is a plan error (no extra request). A new app has every feature off, so
its plan enables the `true` ones; their names are checked by Heroku at apply (a 404).
Drift shows a declared feature that differs, and an enabled feature the file does not declare;
import writes the enabled features (`name = true`), so that a plan of the import is empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import StringConstraints

from herokustack.errors import StackFileError
from herokustack.resources.base import (
    Change,
    DriftContext,
    Kind,
    PlanContext,
    Step,
    did_you_mean,
    listed,
    show,
)

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder

FEATURE_PATTERN = r"^[a-z][a-z0-9-]*$"
FeatureName = Annotated[str, StringConstraints(pattern=FEATURE_PATTERN)]
MAX_LISTED = 8


def _path(app: str, feature: str | None = None) -> str:
    from herokustack.client import app_path, path_segment  # only when reading or writing

    base = f"{app_path(app)}/features"
    return f"{base}/{path_segment(feature, 'feature name')}" if feature else base


def _patch(run: AppRun, changes: list[Change]) -> None:
    for change in changes:  # one request per feature: Heroku has no bulk update
        run.client.request("PATCH", _path(run.app, change.name), {"enabled": bool(change.after)})


def unknown_feature(name: str, known: list[str]) -> str:
    hint = did_you_mean(name, known)
    return f"Heroku has no app feature {name!r}{hint} (its features: {listed(known, MAX_LISTED)})"


class Features(Kind):
    name = "features"
    resource = "feature"
    label = "feature"
    read_cost = "1 request: GET /apps/{app}/features, only for apps that declare [features]"
    section = "features"
    section_model = dict[FeatureName, bool]
    section_description = (
        "App features (heroku features), name = true or false: preboot, "
        "runtime-dyno-metadata, http-session-affinity, ... Only the declared ones are managed."
    )
    expected = {
        "features": "a table of feature = true/false",
        "features.*": "true or false",
        "features.*.[key]": "an app feature name: lower-case letters, digits and -, starting "
        "with a letter (like preboot)",
    }
    named = frozenset({("features",)})

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        items = client.get_list(_path(app))
        return {self.name: {str(f.get("name")): bool(f.get("enabled")) for f in items}}

    def plan(self, ctx: PlanContext) -> None:
        want: dict[str, bool] = dict(getattr(ctx.spec, self.section))
        live: dict[str, bool] | None = self.facts(ctx.live)
        if live is not None:
            self._check_names(ctx, want, sorted(live))
        for name, enabled in want.items():
            before = (live or {}).get(name, False)
            if before != enabled:
                ctx.add("update", self.resource, name, before=before, after=enabled)

    @staticmethod
    def _check_names(ctx: PlanContext, want: dict[str, bool], known: list[str]) -> None:
        problems = []
        for name in want:
            if name not in known:
                key = f"features.{name}"
                problems.append(
                    f"{ctx.stack.locate(key)[0]}: {key}: {unknown_feature(name, known)}"
                )
        if problems:
            raise StackFileError(problems)

    def steps(self) -> list[Step]:
        return [Step(27, "features", _patch)]  # after the app and buildpacks, before add-ons

    def body(self, change: Change) -> str:
        return f": {show(change.before)} → {show(change.after)}"

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        return {"kind": "changed", "live": show(change.before), "declared": show(change.after)}

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        live: dict[str, bool] = self.facts(ctx.live) or {}
        declared = getattr(ctx.stack.spec, self.section)
        return [
            {"kind": "undeclared", "name": name, "live": "on", "note": "apply leaves it"}
            for name, enabled in sorted(live.items())
            if enabled and name not in declared
        ]

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        live: dict[str, bool] = self.facts(builder.live) or {}
        enabled = {n: True for n, on in sorted(live.items()) if on and re.match(FEATURE_PATTERN, n)}
        if enabled:
            doc[self.section] = enabled

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        return {f"feature.{n}": on for n, on in (self.facts(live) or {}).items()}


KIND = Features()
