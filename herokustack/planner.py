"""Desired state (a stack file and its resolved config) against live state -> a typed `Plan`.

The plan is data, not text: `apply` executes exactly its changes and renderers only display it.
Secrets never enter it: a sensitive config change carries a keyed hash of the new value, and
the value itself is handed to the applier separately (from `resolve_config`, in memory).

Changes of one app come in a fixed order: app (create, then update), add-ons, config vars,
backup schedules, formation, maintenance.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from deepdiff import DeepDiff
from deepdiff.helper import NotPresent
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from herokustack.facts import POSTGRES, LiveAddon, LiveSchedule, LiveState
from herokustack.secrets_rule import secret_reason
from herokustack.stackfile import (
    DATA_SERVICES,
    AddonSpec,
    ConfigEntry,
    Stack,
    StackFile,
    attachment_name,
    owned_config_vars,
)

PLAN_FORMAT_VERSION = 2

Action = Literal["create", "update", "destroy", "refused", "deferred"]
Resource = Literal["app", "addon", "config", "backup", "formation", "maintenance"]
RESOURCE_ORDER: tuple[Resource, ...] = (
    "app",
    "addon",
    "config",
    "backup",
    "formation",
    "maintenance",
)
NEXT_DEPLOY = "takes effect at next deploy"


class Change(BaseModel):
    """One change to one field of one resource of one app."""

    model_config = ConfigDict(frozen=True)

    app: str
    action: Action
    resource: Resource
    name: str = Field(description="App name, add-on local name, config key or process type.")
    field: str | None = None
    before: Any = None
    after: Any = None
    sensitive: bool = Field(default=False, description="Values hidden: never in the plan.")
    note: str | None = None
    addon_id: str | None = Field(default=None, description="The live add-on concerned.")
    attachment: str | None = None
    value_hash: str | None = Field(
        default=None, description="Keyed hash (HMAC-SHA256) of a secret's value."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="What apply needs more.")

    @property
    def is_change(self) -> bool:
        """Whether apply would change something (refused and deferred ones do not)."""
        return self.action in ("create", "update", "destroy")


class Summary(BaseModel):
    add: int = 0
    change: int = 0
    destroy: int = 0
    refused: int = 0
    deferred: int = 0

    @classmethod
    def of(cls, changes: Iterable[Change]) -> Summary:
        counts = {"create": 0, "update": 0, "destroy": 0, "refused": 0, "deferred": 0}
        for change in changes:
            counts[change.action] += 1
        return cls(
            add=counts["create"],
            change=counts["update"],
            destroy=counts["destroy"],
            refused=counts["refused"],
            deferred=counts["deferred"],
        )

    def __add__(self, other: Summary) -> Summary:
        return Summary(**{k: getattr(self, k) + getattr(other, k) for k in Summary.model_fields})


class AppPlan(BaseModel):
    app: str
    path: str = Field(description="The stack file that declares the app.")
    exists: bool
    changes: list[Change] = Field(default_factory=list)

    @property
    def summary(self) -> Summary:
        return Summary.of(self.changes)

    @property
    def has_changes(self) -> bool:
        return any(c.is_change or c.action == "refused" for c in self.changes)

    @property
    def has_work(self) -> bool:
        """Something apply would write (refused and deferred changes are not)."""
        return any(c.is_change for c in self.changes)


class Plan(BaseModel):
    format_version: int = PLAN_FORMAT_VERSION
    salt: str = Field(description="Salt of the keyed hashes (not itself a secret).")
    apps: list[AppPlan] = Field(default_factory=list)
    # The key material of the hashes (see `hash_key`): in memory only, never in a plan file.
    _pepper: bytes = PrivateAttr(default=b"")

    @property
    def hash_key(self) -> bytes:
        return hash_key(self.salt, self._pepper)

    def keyed(self, pepper: bytes) -> Plan:
        self._pepper = pepper
        return self

    @property
    def summary(self) -> Summary:
        total = Summary()
        for app in self.apps:
            total = total + app.summary
        return total

    @property
    def has_changes(self) -> bool:
        """Changes pending: something apply would do, or a refused change needing a person."""
        return any(app.has_changes for app in self.apps)

    @property
    def has_work(self) -> bool:
        return any(app.has_work for app in self.apps)


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_key(salt: str, pepper: bytes) -> bytes:
    """The key of every hash a plan holds: HMAC of the plan's salt under `pepper`.

    The pepper is key material the reader of a plan file does not have (the Heroku API key,
    or HEROKUSTACK_PLAN_KEY; see `session.plan_pepper`), so a hash of a weak secret in a plan
    file cannot be checked against a word list: salt alone (SHA-256 of salt and value, as
    plan format 1 did) let a 10-character password fall in 36 guesses.
    """
    return hmac.new(pepper, b"herokustack plan v2\0" + salt.encode(), hashlib.sha256).digest()


def secret_hash(key: bytes, name: str, value: str) -> str:
    """Keyed hash of a secret config value (`key` from `hash_key`)."""
    return hmac.new(key, f"{name}\0{value}".encode(), hashlib.sha256).hexdigest()


def field_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each top-level field that differs, in the order of `after`."""
    tree = DeepDiff(dict(before), dict(after), view="tree")
    found: dict[str, tuple[Any, Any]] = {}
    for kind in ("values_changed", "type_changes", "dictionary_item_added"):
        for level in tree.get(kind, []):
            key = str(level.path(output_format="list")[0])
            old = None if isinstance(level.t1, NotPresent) else before.get(key)
            found[key] = (old, after.get(key))
    return [(k, *found[k]) for k in after if k in found]


# --- the planner -------------------------------------------------------------------------------


class _AppPlanner:
    def __init__(
        self,
        stack: Stack,
        config: Mapping[str, ConfigEntry],
        live: LiveState,
        key: bytes,
        allow_destroy: frozenset[str],
        assume_released: frozenset[str],
    ) -> None:
        self.stack = stack
        self.spec: StackFile = stack.spec
        self.name = stack.name
        self.config = config
        self.live = live
        self.key = key
        self.allow_destroy = allow_destroy
        self.assume_released = assume_released if not live.exists else frozenset()
        self.changes: list[Change] = []
        self.live_addons: dict[str, LiveAddon] = {}  # by attachment name, for backups

    def add(self, action: Action, resource: Resource, name: str, **kwargs: Any) -> None:
        self.changes.append(
            Change(app=self.name, action=action, resource=resource, name=name, **kwargs)
        )

    def run(self) -> AppPlan:
        self.plan_app()
        self.plan_addons()
        self.plan_config()
        self.plan_backups()
        self.plan_formation()
        self.plan_maintenance()
        return AppPlan(
            app=self.name, path=str(self.stack.path), exists=self.live.exists, changes=self.changes
        )

    def plan_app(self) -> None:
        app, live = self.spec.app, self.live.app
        if live is None:
            after = {"region": app.region, "stack": app.stack}
            self.add("create", "app", self.name, after=after)
            return
        if live.region != app.region:
            note = (
                f"an app cannot move region: create a new app in {app.region!r} and move to it "
                f"(this one stays in {live.region!r})"
            )
            self.add("refused", "app", self.name, field="region", before=live.region,
                     after=app.region, note=note)  # fmt: skip
        if live.build_stack != app.stack:
            self.add("update", "app", self.name, field="build_stack", before=live.build_stack,
                     after=app.stack, note=NEXT_DEPLOY)  # fmt: skip

    # -- add-ons ---------------------------------------------------------------------------------

    def plan_addons(self) -> None:
        claimed: set[str] = set()
        for local, spec in self.spec.addons.items():
            attachment = attachment_name(local, spec)
            live = self.live.addon_by_attachment(attachment)
            if live is not None:
                claimed.add(live.id)
            self.plan_addon(local, spec, attachment, live)
        for live in self.live.addons:
            if live.owner == self.name and live.id not in claimed:
                self.plan_removed_addon(live)

    def plan_addon(
        self, local: str, spec: AddonSpec, attachment: str, live: LiveAddon | None
    ) -> None:
        common: dict[str, Any] = {"field": "plan", "attachment": attachment}
        if live is None:
            params = {"config": dict(spec.config)}
            self.add("create", "addon", local, after=spec.plan, params=params, **common)
            return
        if live.owner != self.name:
            note = f"{attachment} is attached from add-on {live.name} of app {live.owner}"
            self.add("refused", "addon", local, before=live.plan, after=spec.plan,
                     addon_id=live.id, note=note, **common)  # fmt: skip
            return
        if live.service == spec.service:
            self.live_addons[attachment] = live
            if live.plan != spec.plan:
                self.add("update", "addon", local, before=live.plan, after=spec.plan,
                         addon_id=live.id, **common)  # fmt: skip
            return
        self.plan_replacement(local, spec, attachment, live)

    def plan_replacement(
        self, local: str, spec: AddonSpec, attachment: str, live: LiveAddon
    ) -> None:
        """Another service under the same attachment: destroy the old one, create the new one."""
        # Data always needs both `protect = false` and --allow-destroy; others only when
        # the file protects them.
        protected = live.service in DATA_SERVICES or spec.protect is True
        allowed = spec.protect is False and bool({local, live.name} & self.allow_destroy)
        common: dict[str, Any] = {"field": "plan", "attachment": attachment}
        if protected and not allowed:
            # Only the steps still missing, so the line says exactly what is left to do.
            steps = [] if spec.protect is False else [f"set addons.{local}.protect = false"]
            if not {local, live.name} & self.allow_destroy:
                steps.append(f"pass --allow-destroy {local}")
            note = "destroys its data: " + ", ".join(steps)
            self.add("refused", "addon", local, before=live.plan, after=spec.plan,
                     addon_id=live.id, note=note, **common)  # fmt: skip
            return
        self.add("destroy", "addon", local, before=live.plan, addon_id=live.id,
                 note=f"replaced by {spec.plan}", **common)  # fmt: skip
        self.add("create", "addon", local, after=spec.plan, params={"config": dict(spec.config)},
                 **common)  # fmt: skip

    def plan_removed_addon(self, live: LiveAddon) -> None:
        name = live.attachments[0] if live.attachments else live.name
        common: dict[str, Any] = {
            "field": "plan",
            "before": live.plan,
            "addon_id": live.id,
            "attachment": name,
        }
        if live.service in DATA_SERVICES:
            note = (
                f"{live.name} holds data: herokustack never destroys a Postgres or Redis add-on "
                f"removed from the file (destroy it by hand: heroku addons:destroy {live.name})"
            )
            self.add("refused", "addon", live.name, note=note, **common)
        else:
            self.add("destroy", "addon", live.name, note="not in the stack file", **common)

    # -- config ------------------------------------------------------------------------------

    def plan_config(self) -> None:
        live = self.live.config
        for key, entry in self.config.items():
            if key in live and live[key] == entry.value:
                continue
            action: Action = "update" if key in live else "create"
            if entry.sensitive:
                note = "(sensitive value changed)" if action == "update" else "(sensitive)"
                digest = secret_hash(self.key, key, entry.value)
                self.add(action, "config", key, sensitive=True, note=note, value_hash=digest)
            elif key in live and secret_reason(key, live[key]):
                # The file's value is in git already; the live one may be a real secret.
                note = "live value hidden: it looks like a secret"
                self.add(action, "config", key, after=entry.value, note=note)
            else:
                self.add(action, "config", key, before=live.get(key), after=entry.value)
        if self.spec.app.prune_config:
            self.plan_prune()

    def plan_prune(self) -> None:
        for key in undeclared_config(self.spec, self.live):
            note = "not in the stack file (prune_config)"
            self.add("destroy", "config", key, sensitive=True, note=note)

    # -- backups -----------------------------------------------------------------------------

    def plan_backups(self) -> None:
        for local, spec in self.spec.addons.items():
            if spec.service != POSTGRES:
                continue
            attachment = attachment_name(local, spec)
            live = self.live_addons.get(attachment)
            if live is None and self.live.addon_by_attachment(attachment) is not None:
                creating = any(
                    c.resource == "addon" and c.action == "create" and c.name == local
                    for c in self.changes
                )
                if not creating:
                    continue  # refused add-on: its backups wait with it
            self.plan_backup(local, spec, attachment, live)

    def plan_backup(
        self, local: str, spec: AddonSpec, attachment: str, live: LiveAddon | None
    ) -> None:
        schedule_name = f"{attachment}_URL"
        current = self.live.schedules.get(live.id, ()) if live else ()
        common: dict[str, Any] = {"attachment": attachment, "addon_id": live.id if live else None}
        want = spec.backups
        mine = managed_schedules(current, attachment)
        if want is None:
            for sched in mine:
                self.add("destroy", "backup", local, field="schedule",
                         before=_at(sched.hour, sched.timezone),
                         params={"uuid": sched.uuid}, **common)  # fmt: skip
            return
        after = _at(want.hour, want.timezone)
        params = {"hour": want.hour, "timezone": want.timezone, "schedule_name": schedule_name}
        if not mine:
            self.add("create", "backup", local, field="schedule", after=after, params=params,
                     **common)  # fmt: skip
            return
        sched = mine[0]
        before_fields = {"hour": sched.hour, "timezone": sched.timezone}
        diffs = field_diff(before_fields, {"hour": want.hour, "timezone": want.timezone})
        if diffs:
            self.add("update", "backup", local, field="schedule",
                     before=_at(sched.hour, sched.timezone), after=after,
                     params={**params, "uuid": sched.uuid}, **common)  # fmt: skip

    # -- formation ---------------------------------------------------------------------------

    def plan_formation(self) -> None:
        for ptype, spec in self.spec.formation.items():
            want = {"quantity": spec.quantity, "size": spec.size}
            live = self.live.formation.get(ptype)
            if live is None and ptype in self.assume_released:
                self.add("create", "formation", ptype, after=want)
            elif live is None:
                note = (
                    f"process type {ptype!r} is not released yet: deploy the app's code "
                    "(e.g. git push heroku main), then run apply again"
                )
                self.add("deferred", "formation", ptype, after=want, note=note)
            else:
                have = {"quantity": live.quantity, "size": live.size}
                for field, old, new in field_diff(have, want):
                    self.add("update", "formation", ptype, field=field, before=old, after=new)

    def plan_maintenance(self) -> None:
        want = self.spec.app.maintenance
        have = self.live.app.maintenance if self.live.app else False
        if want != have:
            self.add("update", "maintenance", self.name, field="maintenance", before=have,
                     after=want)  # fmt: skip


def managed_schedules(schedules: Iterable[LiveSchedule], attachment: str) -> list[LiveSchedule]:
    """The backup schedules of a Postgres attached as `attachment` that its stack file manages:
    those named after its config var (DATABASE_URL), else the first one."""
    schedules = list(schedules)
    return [s for s in schedules if s.name == f"{attachment}_URL"] or schedules[:1]


def undeclared_config(spec: StackFile, live: LiveState) -> list[str]:
    """Live config vars the file does not declare and no add-on sets, sorted.

    A declared key never counts, even an optional secret left out this time.
    """
    owned = owned_config_vars(spec)
    for addon in live.addons:
        owned.update(addon.config_vars)
    return [k for k in sorted(live.config) if k not in spec.config and k not in owned]


def _at(hour: int, timezone: str) -> str:
    return f"{hour:02d}:00 {timezone}"


def plan_app(
    stack: Stack,
    config: Mapping[str, ConfigEntry],
    live: LiveState,
    *,
    key: bytes,
    allow_destroy: Iterable[str] = (),
    assume_released: Iterable[str] = (),
) -> AppPlan:
    """The changes that make one live app match its stack file (`key`: `hash_key`)."""
    planner = _AppPlanner(
        stack, config, live, key, frozenset(allow_destroy), frozenset(assume_released)
    )
    return planner.run()


def make_plan(
    stacks: Sequence[Stack],
    configs: Mapping[str, Mapping[str, ConfigEntry]],
    lives: Mapping[str, LiveState],
    *,
    salt: str | None = None,
    pepper: bytes = b"",
    allow_destroy: Iterable[str] = (),
    assume_released: Mapping[str, Iterable[str]] | None = None,
) -> Plan:
    """The plan for many apps, in the order of `stacks`; hashes keyed by salt and `pepper`."""
    salt = salt or new_salt()
    released = assume_released or {}
    key = hash_key(salt, pepper)
    apps = [
        plan_app(
            stack,
            configs[stack.name],
            lives[stack.name],
            key=key,
            allow_destroy=allow_destroy,
            assume_released=released.get(stack.name, ()),
        )
        for stack in stacks
    ]
    return Plan(salt=salt, apps=apps).keyed(pepper)
