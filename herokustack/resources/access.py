"""Who may work on an app: the `[access]` table of a stack file, email = permissions.

    [access]
    "alice@acme.com" = ["deploy", "operate"]   # a team app: from view, deploy, operate, manage
    "bob@acme.com" = ["view"]
    # "bob@example.com" = []                   # a personal app: a collaborator, no permissions

Keys are email addresses, compared lower-cased (two keys that are the same person once
lower-cased are an error), shown lower-cased. A team app's permissions are a set from view,
deploy, operate and manage; Heroku adds `view` to any set, so herokustack does too before
comparing: `["deploy"]` is `deploy, view`, and `[]` is `view`. A personal app's collaborators
have no permissions (Heroku lets them do all but delete or transfer the app): they take `[]`,
and permissions there are a plan error that says to move the app to a team (`[app] team`). An
app is a team app when its file names a team (`[app] team`), else when Heroku says so (its
owner is `<team>@herokumanager.com`); an app still to be created without a team is personal.

Only the declared people are managed (added, or their permissions changed); the others are
left as they are, and drift shows them. With `[app] prune_access = true`, people with access
whom the file does not declare are removed. Never removed, nor changed: the app's owner, and
the team's admins (they have every permission through the team; Heroku lists an admin as a
collaborator, role `admin`, only once added as one). Declaring the owner or an admin is
accepted and changes nothing; when the declared permissions differ from what Heroku gives
them (what it lists for an admin who is a collaborator, every permission for one who is
not), the plan says so with a refused line. Last manager: on a team app where collaborators
(team admins aside) have `manage`, a plan that would leave none of them with it refuses each
removal or downgrade that takes it away, naming them: team admins keep their access, but the
people who manage the app would lose it. Give someone else `manage` first (apply adds before
it removes), or remove them by hand.

Reads: `GET /apps/{app}/collaborators` (1 request, only for apps that declare `[access]` or
`prune_access`; drift and import always): the owner, each collaborator, its role and (team
apps) its permissions. Who the team's admins are beyond those listed needs
`GET /teams/{team}/members`: the `team_admins` kind below reads it (1 more request), only for
team apps and only when `prune_access` is on (drift and import too). Without it, a declared
admin who is not yet a collaborator is added as one (their access does not change).

Apply (after the app is created, transferred and locked; before buildpacks): adds first, then
permission changes, then removals, one request per person. A personal app:
`POST /apps/{app}/collaborators` `{"user", "silent": true}`; a team app:
`POST /teams/apps/{app}/collaborators` `{"user", "permissions" (sorted, view added),
"silent": true}` and `PATCH /teams/apps/{app}/collaborators/{email}` `{"permissions"}`;
removal `DELETE /apps/{app}/collaborators/{email}` for both, as `heroku access:remove` does.
Emails go into URLs only once checked. Import writes `[access]` (the collaborators with their
permissions, view included; owner and team admins left out), so that a plan of it is empty.
People appear as emails only, never as ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args
from urllib.parse import quote

from pydantic import AfterValidator, Field, WithJsonSchema

from herokustack.errors import StackFileError
from herokustack.resources.base import (
    Action,
    Change,
    DriftContext,
    Kind,
    Loc,
    PlanContext,
    Step,
    invalid,
    key_text,
)

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

Permission = Literal["view", "deploy", "operate", "manage"]
PERMISSIONS: tuple[str, ...] = get_args(Permission)
EVERY = sorted(PERMISSIONS)  # what a team admin has
EMAIL_PATTERN = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
EMAIL = re.compile(EMAIL_PATTERN)
TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,29}$")
TEAM_DOMAIN = "@herokumanager.com"  # a team app's owner is <team>@herokumanager.com
ORDER = {"create": 0, "update": 1, "destroy": 2}  # adds before removals: keep a manager

# The field of [app] this kind owns (`AppSpec` composes it).
PRUNE_FIELD: Any = Field(
    default=False,
    description="Remove people with access to the app whom [access] does not declare "
    "(never the owner or team admins).",
)


def _check_email(value: str) -> str:
    if len(value) > 254 or not EMAIL.match(value):
        raise invalid("must be an email address like alice@acme.com")
    return value


Email = Annotated[
    str,
    AfterValidator(_check_email),
    WithJsonSchema({"type": "string", "pattern": EMAIL_PATTERN, "maxLength": 254}),
]


def _email_segment(email: str) -> str:
    """An email as one URL path segment, once it is known to be one (`@` kept, as the CLI)."""
    from herokustack.client import InvalidIdError

    if not EMAIL.match(email):
        shown = repr(email) if len(email) < 60 else repr(email[:57] + "...")
        raise InvalidIdError(f"email {shown} is not an email address: it is not sent to Heroku")
    return quote(email, safe="@")


def _path(app: str, email: str | None = None, *, team: bool = False) -> str:
    from herokustack.client import app_path  # only when reading or writing

    base = f"{'teams/' if team else ''}{app_path(app)}/collaborators"
    return f"{base}/{_email_segment(email)}" if email else base


def shown(permissions: Sequence[str] | None) -> str:
    return ", ".join(permissions or ())


def _names(item: Mapping[str, Any]) -> list[str]:
    found = item.get("permissions") or []
    names = {p.get("name") if isinstance(p, dict) else p for p in found}
    return sorted(str(n) for n in names if isinstance(n, str) and n)


def parse(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The owner, the team (from the owner) and each person's role and permissions."""
    owner, people = "", {}
    for item in items:
        user = item.get("user") or {}
        email = str(user.get("email") or "").lower() if isinstance(user, dict) else ""
        if not email:
            continue
        if item.get("role") == "owner":
            owner = email
            continue
        role = str(item.get("role") or "collaborator")
        people[email] = {"role": role, "permissions": _names(item)}
    team = owner.removesuffix(TEAM_DOMAIN) if owner.endswith(TEAM_DOMAIN) else None
    return {"owner": owner, "team": team, "people": people}


# --- apply ---------------------------------------------------------------------------------------


def _apply(run: AppRun, changes: list[Change]) -> None:
    for change in sorted(changes, key=lambda c: ORDER[c.action]):
        team = bool(change.params.get("team"))
        if change.action == "create":
            _add(run, change.name, list(change.after or []), team)
        elif change.action == "update":
            path = _path(run.app, change.name, team=True)
            run.client.request("PATCH", path, {"permissions": list(change.after)})
        else:
            _remove(run, change.name)


def _add(run: AppRun, email: str, permissions: list[str], team: bool) -> None:
    body: dict[str, Any] = {"user": email, "silent": True}  # no invitation e-mail
    if team:
        body["permissions"] = permissions
    path = _path(run.app, team=team)

    def send() -> bool:
        run.client.request("POST", path, body)
        return True

    def existing() -> bool | None:  # after an answer that never came: did it happen?
        people = parse(run.client.get_list(_path(run.app)))["people"]
        return True if email in people else None

    run.client._post_once(send, existing)  # the client's rule for POSTs: re-read, then resend


def _remove(run: AppRun, email: str) -> None:
    from herokustack.client import ApiError

    try:
        run.client.request("DELETE", _path(run.app, email))
    except ApiError as exc:
        if not exc.not_found:  # already gone: a retried DELETE that had succeeded
            raise


Found = tuple[Action, str, dict[str, Any]]  # a change to be: action, email, its fields
ADMIN_NOTE = (
    "a team admin: has every permission through the team, and herokustack never changes an "
    "admin's access"
)
ODD_NOTE = "not an email address herokustack sends to Heroku: remove it by hand"


def _declared(
    want: Mapping[str, list[str]], people: Mapping[str, Any], admins: set[str], team: bool
) -> list[Found]:
    """Adds and permission changes of the declared people; the owner and admins untouched."""
    found: list[Found] = []
    for email, permissions in want.items():
        have = people.get(email)
        if email in admins:  # what Heroku lists for them, else every permission
            has = have["permissions"] if have else EVERY
            if team and has != permissions:
                fields = {"before": has, "after": permissions, "note": ADMIN_NOTE}
                found.append(("refused", email, fields))
        elif have is None:
            found.append(("create", email, {"after": permissions}))
        elif team and have["permissions"] != permissions:
            found.append(("update", email, {"before": have["permissions"], "after": permissions}))
    return found


def _pruned(emails: set[str], people: Mapping[str, Any]) -> list[Found]:
    """Removals of the undeclared people (prune_access); an email no URL takes is refused."""
    found: list[Found] = []
    for email in sorted(emails):
        before = people[email]["permissions"]
        if EMAIL.match(email):
            found.append(("destroy", email, {"before": before}))
        else:
            found.append(("refused", email, {"before": before, "note": ODD_NOTE}))
    return found


def _keep_a_manager(found: list[Found], people: Mapping[str, Any], admins: set[str]) -> list[Found]:
    """The changes, those that take `manage` from the last collaborators who have it (team
    admins aside) refused: a team app keeps someone to manage it besides its team's admins."""
    managers = {e for e, p in people.items() if "manage" in p["permissions"] and e not in admins}
    left = set(managers)
    for action, email, fields in found:
        if action in ("create", "update") and "manage" in fields["after"]:
            left.add(email)
        elif action in ("update", "destroy"):
            left.discard(email)
    if not managers or left:
        return found
    names = ", ".join(sorted(managers))
    who = f"{names} is the last collaborator" if len(managers) == 1 else f"{names} are the last"
    note = (
        f"{who} with manage (team admins aside): without one, only team admins could manage "
        "this app's access; give someone else manage first"
    )
    return [
        ("refused", email, {**fields, "note": note})
        if action in ("update", "destroy") and email in managers
        else (action, email, fields)
        for action, email, fields in found
    ]


# --- the kind ------------------------------------------------------------------------------------


class Access(Kind):
    name = "access"
    resource = "access"
    label = "access"
    read_cost = (
        "1 request: GET /apps/{app}/collaborators, only for apps that declare [access] or "
        "prune_access (team admins: see team_admins)"
    )
    section = "access"
    section_model = dict[Email, list[Permission]]
    section_description = (
        "Who may work on the app: email = permissions. Team apps: from view, deploy, operate, "
        "manage (view is always given); personal apps: [] (collaborators). Only the declared "
        "people are managed, unless [app] prune_access."
    )
    expected = {
        "access": 'a table of email = permissions, like "alice@acme.com" = ["deploy"]',
        "access.*": "an array of permissions (view, deploy, operate, manage); [] for a "
        "collaborator of a personal app",
        "access.*.*": "one of view, deploy, operate, manage",
    }
    named = frozenset({("access",), ("access", "*")})
    choices = {"access.*.*": PERMISSIONS}

    def declared(self, spec: StackFile) -> bool:
        return bool(spec.access)

    def wants_undeclared(self, spec: StackFile) -> bool:
        return bool(spec.app.prune_access)

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        seen: dict[str, str] = {}
        for email, permissions in spec.access.items():
            first = seen.setdefault(email.lower(), email)
            if first != email:
                other = key_text((self.name, first))
                same = f"the same person as {other} (emails are compared lower-cased)"
                problems.append(((self.name, email), same))
            for i, permission in enumerate(permissions):
                if permission in permissions[:i]:
                    at = key_text((self.name, email, permissions.index(permission)))
                    problems.append(((self.name, email, i), f"{permission} is already {at}"))
        return problems

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {self.name: parse(client.get_list(_path(app)))}

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        live = self.facts(ctx.live) or {"owner": "", "team": None, "people": {}}
        team = ctx.spec.app.team or live["team"]
        people: dict[str, dict[str, Any]] = live["people"]
        admins = {e for e, p in people.items() if p["role"] == "admin"}
        admins |= set(ADMINS.facts(ctx.live) or ())
        want = self._wanted(ctx, team is not None)
        want.pop(live["owner"], None)  # the owner has access whatever the file says
        found = _declared(want, people, admins, team is not None)
        if ctx.spec.app.prune_access:
            found += _pruned(set(people) - set(want) - admins - {live["owner"]}, people)
        if team is not None:
            found = _keep_a_manager(found, people, admins)
        for action, email, fields in found:
            ctx.add(action, self.resource, email, params={"team": team is not None}, **fields)

    def _wanted(self, ctx: PlanContext, team: bool) -> dict[str, list[str]]:
        """Declared people, lower-cased, with their permissions as Heroku gives them (view
        added); on a personal app, permissions are a plan error."""
        want: dict[str, list[str]] = {}
        problems = []
        for email, permissions in ctx.spec.access.items():
            if permissions and not team:
                key = key_text((self.name, email))
                problems.append(
                    f"{ctx.stack.locate(key)[0]}: {key}: app {ctx.name} is a personal app "
                    "(no [app] team): its collaborators have no permissions (Heroku lets them "
                    "do all but delete or transfer it); declare [] here, or put the app in a "
                    'team ([app] team = "...") to give permissions'
                )
            want[email.lower()] = sorted({*permissions, "view"}) if team else []
        if problems:
            raise StackFileError(problems)
        return want

    def steps(self) -> list[Step]:
        # After the app is created (10), moved into its team (12) and locked (14); before
        # buildpacks (25).
        return [Step(16, "access", _apply)]

    # -- text ---------------------------------------------------------------------------------

    def body(self, change: Change) -> str:
        if change.action == "create":
            return f": {shown(change.after)}" if change.after else ""
        if change.after is None or change.action == "destroy":
            return ""
        return f": {shown(change.before) or '(none)'} → {shown(change.after)}"

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.action == "create":
            return {"kind": "missing", "declared": shown(change.after) or None}
        if change.after is None:  # removed by prune_access (or refused: the last manager)
            return {
                "kind": "undeclared",
                "live": shown(change.before) or None,
                "note": change.note or "apply removes it (prune_access)",
            }
        return {
            "kind": "changed",
            "live": shown(change.before),
            "declared": shown(change.after),
            "note": change.note,
        }

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        live = self.facts(ctx.live)
        if not live:
            return []
        declared = {e.lower() for e in ctx.stack.spec.access}
        pruned = ctx.stack.spec.app.prune_access  # then the planner reports the others
        return [
            {
                "kind": "undeclared",
                "name": email,
                "live": shown(person["permissions"]) or None,
                "note": "a team admin: apply leaves them"
                if person["role"] == "admin"
                else "apply leaves them (prune_access is off)",
            }
            for email, person in sorted(live["people"].items())
            if email not in declared and not (pruned and person["role"] != "admin")
        ]

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        live = self.facts(builder.live)
        if not live:
            return
        team = live["team"] is not None
        found: dict[str, list[str]] = {}
        for email, person in sorted(live["people"].items()):
            if person["role"] == "admin":
                builder.note(self.name, f"{email}: a team admin (access through the team)")
            elif not EMAIL.match(email):
                builder.note(self.name, f"{email!r}: not an email address a file can declare")
            else:
                found[email] = (
                    [p for p in person["permissions"] if p in PERMISSIONS] if team else []
                )
        if found:
            doc[self.name] = found

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        found = self.facts(live)
        if not found:
            return {}
        return {f"access.{e}": p["permissions"] for e, p in found["people"].items()}


class TeamAdmins(Kind):
    """The admins of a team app's team (`GET /teams/{team}/members`): read for `access` when
    `prune_access` is on (and by drift and import); it plans nothing itself."""

    name = "team_admins"
    resource = "team_admins"
    label = "team admin"
    read_cost = (
        "1 request: GET /teams/{team}/members, only for team apps whose file sets prune_access"
    )
    after = ("access",)

    def wants_undeclared(self, spec: StackFile) -> bool:
        return bool(spec.app.prune_access)

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        team = (facts.get(KIND.name) or {}).get("team")
        if not team or not TEAM_NAME.match(team):
            return {}  # a personal app (or a name no URL takes): no team, no request
        members = client.get_list(f"teams/{quote(team, safe='')}/members")
        emails = {str(m.get("email") or "").lower() for m in members if m.get("role") == "admin"}
        return {self.name: sorted(emails - {""})}


KIND = Access()
ADMINS = TeamAdmins()
