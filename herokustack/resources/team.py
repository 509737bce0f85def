"""Apps owned by a Heroku Team: `team` and `locked` in the `[app]` table.

    [app]
    name = "acme-production"
    team = "acme"     # the Heroku Team that owns (and pays for) the app
    locked = true     # team members must be given access to join it

Two kinds, because their reads differ:

- `team` (the owner) reads nothing of its own: `GET /apps/{app}` answers the owner's email and
  the team. A missing app with a `team` is created in it by the app kind (`POST /teams/apps`).
  A personal app whose file names a team is transferred into it (`PATCH /teams/apps/{app}`
  `{"owner": team}`, what `heroku apps:transfer TEAM` sends). An app of team A whose file says
  team B is refused unless `--allow-transfer APP` (plan and apply; a saved plan keeps the names
  it was made with). Without `team` the owner is not managed: moving a team app back to a
  personal account is done by hand (`heroku apps:transfer EMAIL`). A change has `field`
  "owner", `before` the owner's email or team name, `after` the team name. Before planning,
  the teams the account can see are read once per run (`GET /teams`), only when an app is to
  be created in or moved into a team: a team it cannot see (or only views) is a plan error
  naming the file. Eco dynos are for personal apps only: with `team`, an eco size is invalid.
- `locked` needs `GET /teams/apps/{app}` (`GET /apps/{app}` lacks it): one request, only for
  team apps, and in plan only when the file declares `locked` (drift and import read it for
  every team app). A personal app is never locked (no request). Apply sends
  `PATCH /teams/apps/{app}` `{"locked": …}` after a transfer; `locked` needs `team`.

Drift shows a declared owner or lock that differs, and a team or lock on Heroku that the file
does not declare; import writes `team` (and `locked = true`), so that a plan of it is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from herokustack.errors import HerokustackError, StackFileError
from herokustack.resources.base import (
    Change,
    DriftContext,
    ImportProblem,
    Kind,
    Loc,
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
    from herokustack.stackfile import Stack, StackFile

TEAM_PATTERN = r"^[a-z0-9][a-z0-9-]{0,29}$"
# The fields of [app] these kinds own (`AppSpec` composes them).
TEAM_FIELD: Any = Field(
    default=None,
    pattern=TEAM_PATTERN,
    description="The Heroku Team that owns the app (omitted: the owner is not managed).",
)
LOCKED_FIELD: Any = Field(
    default=None,
    description="Team apps only: locked (members need to be given access) or not.",
)
ADD_APPS_ROLES = ("admin", "member")  # the roles of a team that may add apps to it
MAX_LISTED = 10


def _team_app_path(app: str) -> str:
    from herokustack.client import app_path  # only when reading or writing

    return f"teams/{app_path(app)}"


def owner_text(owner: str) -> str:
    """`you@example.com` for a person, `team acme` for a team (team names have no @)."""
    return owner if "@" in owner else f"team {owner}"


def _transfer(run: AppRun, changes: list[Change]) -> None:
    run.client.request("PATCH", _team_app_path(run.app), {"owner": changes[0].after})


def _lock(run: AppRun, changes: list[Change]) -> None:
    run.client.request("PATCH", _team_app_path(run.app), {"locked": bool(changes[0].after)})


class Team(Kind):
    name = "team"
    resource = "team"
    label = "app"
    read_cost = (
        "none: part of the app (GET /apps/{app}); GET /teams once per run when an app is "
        "created in or moved into a team"
    )
    expected = {
        "app.team": "a Heroku Team name: up to 30 lower-case letters, digits or dashes",
        "app.locked": "true or false",
    }

    def declared(self, spec: StackFile) -> bool:
        return spec.app.team is not None

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        if spec.app.locked is not None and spec.app.team is None:
            return [(("app", "locked"), "only a team app can be locked: set app.team too")]
        if spec.app.team is None:
            return []
        # Heroku Teams (Dev Center): eco dynos are for personal apps only.
        return [
            (("formation", ptype, "size"), "eco dynos are not available to team apps "
             "(app.team): use basic or a larger size")
            for ptype, process in spec.formation.items()
            if process.size.lower() == "eco"
        ]  # fmt: skip

    def plan(self, ctx: PlanContext) -> None:
        want, live = ctx.spec.app.team, ctx.live.app
        if want is None or live is None or live.team == want:
            return  # not managed, or created in the team by the app kind, or already there
        before = live.team or live.owner
        if live.team is None or ctx.name in ctx.allow_transfer:
            ctx.add("update", self.resource, ctx.name, field="owner", before=before, after=want)
            return
        note = (
            f"the app belongs to team {live.team}; moving it changes who can reach it and who "
            f"pays: pass --allow-transfer {ctx.name}"
        )
        ctx.add("refused", self.resource, ctx.name, field="owner", before=before, after=want,
                note=note)  # fmt: skip

    def steps(self) -> list[Step]:
        return [Step(12, "transfer app", _transfer)]  # right after creation, before the lock

    def what(self, change: Change) -> str:
        return "app"

    def body(self, change: Change) -> str:
        return f" owner: {owner_text(change.before)} → team {change.after}"

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        return {
            "kind": "changed",
            "live": owner_text(change.before),
            "declared": f"team {change.after}",
            "note": change.note if change.action == "refused" else None,
        }

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        live = ctx.live.app
        if ctx.stack.spec.app.team is not None or live is None or live.team is None:
            return []
        return [
            {"kind": "undeclared", "name": ctx.stack.name, "field": "owner",
             "live": f"team {live.team}", "note": "apply leaves it"}
        ]  # fmt: skip

    def drift_what(self, resource_name: str, field: str | None) -> str:
        return "app owner"

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        info = builder.live.app
        assert info is not None
        if info.team is None:
            return
        if not re.fullmatch(TEAM_PATTERN, info.team):
            raise ImportProblem(
                f"app {info.name}: team {info.team!r} cannot be declared: stack files take "
                "team names of lower-case letters, digits and dashes"
            )
        doc["app"]["team"] = info.team

    def parts(self, live: LiveState) -> dict[str, Any]:
        return {"team": live.app.team or live.app.owner} if live.app else {}

    def touched_parts(self, change: Change) -> list[str]:
        return ["team"]

    def part_label(self, name: str) -> str:
        return "the app's owner"


class Locked(Kind):
    name = "locked"
    resource = "locked"
    label = "app"
    read_cost = (
        "1 request: GET /teams/apps/{app}, only for team apps (plan: only when the file "
        "declares `locked`)"
    )

    def declared(self, spec: StackFile) -> bool:
        return spec.app.locked is not None

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        info = facts.get("app")
        if info is None or info.team is None:
            return {self.name: False}  # only team apps can be locked: nothing to ask
        doc = client.get_object(_team_app_path(app))
        return {self.name: bool(doc.get("locked"))}

    def plan(self, ctx: PlanContext) -> None:
        want = ctx.spec.app.locked
        if want is None or ctx.live.app is None:
            return  # not managed, or the app is created locked as declared
        have = bool(self.facts(ctx.live))
        if have != want:
            ctx.add("update", self.resource, ctx.name, field="locked", before=have, after=want)

    def steps(self) -> list[Step]:
        return [Step(14, "lock app", _lock)]  # after a transfer into the team

    def what(self, change: Change) -> str:
        return "app"

    def body(self, change: Change) -> str:
        return f" locked: {show(change.before)} → {show(change.after)}"

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        return {"kind": "changed", "live": show(change.before), "declared": show(change.after)}

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        if ctx.stack.spec.app.locked is not None or not self.facts(ctx.live):
            return []
        return [
            {"kind": "undeclared", "name": ctx.stack.name, "field": "locked", "live": "on",
             "note": "apply leaves it"}
        ]  # fmt: skip

    def drift_what(self, resource_name: str, field: str | None) -> str:
        return "app locked"

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        if self.facts(builder.live):
            doc["app"]["locked"] = True

    def parts(self, live: LiveState) -> dict[str, Any]:
        found = self.facts(live)
        return {} if found is None else {"locked": found}

    def touched_parts(self, change: Change) -> list[str]:
        return ["locked"]

    def part_label(self, name: str) -> str:
        return "the app's lock"

    fresh_needs_app = True  # only a team app (told by the app itself) has a lock to read

    def fresh_parts(
        self, client: HerokuClient, app: str, base: LiveState, changes: Sequence[Change]
    ) -> dict[str, Any]:
        return self.parts(base.with_facts(self.read(client, app, {"app": base.app})))


TEAM = Team()
LOCKED = Locked()


# --- before planning: the names given on the command line, and the teams the account sees ----


def check_allow_transfer(names: Iterable[str], stacks: Sequence[Stack]) -> None:
    """Each --allow-transfer NAME must be a planned app: a typo would leave the move refused
    without a word."""
    known = [s.name for s in stacks]
    for name in names:
        if name not in known:
            given = name if name.isprintable() and len(name) <= 60 else repr(name[:60])
            raise HerokustackError(
                f"--allow-transfer {given}: no planned app has this name "
                f"(apps: {listed(known, MAX_LISTED) or 'none'})"
            )


def moves_into_team(stack: Stack, live: LiveState) -> bool:
    """Whether the plan creates the app in a team or moves it into another one."""
    want = stack.spec.app.team
    return want is not None and (live.app is None or live.app.team != want)


def check_teams(
    client: HerokuClient, stacks: Sequence[Stack], lives: Mapping[str, LiveState]
) -> None:
    """A team the account cannot see, or may not add apps to, is a plan error naming the file:
    one `GET /teams` per run, only when some app is created in or moved into a team."""
    moving = [s for s in stacks if moves_into_team(s, lives[s.name])]
    if not moving:
        return
    roles = {str(t.get("name")): t.get("role") for t in client.get_list("teams")}
    problems = []
    for stack in moving:
        team = stack.spec.app.team
        assert team is not None
        where = f"{stack.locate('app.team')[0]}: app.team"
        if team not in roles:
            known = sorted(roles)
            hint = did_you_mean(team, known)
            problems.append(
                f"{where}: the account cannot see a Heroku Team {team!r}{hint} "
                f"(its teams: {listed(known, MAX_LISTED) or 'none'})"
            )
        elif roles[team] not in (*ADD_APPS_ROLES, None):
            problems.append(
                f"{where}: the account is a {roles[team]} of team {team}: creating or moving "
                "apps into it needs an admin or member"
            )
    if problems:
        raise StackFileError(problems)
