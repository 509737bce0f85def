"""Desired state (a stack file and its resolved config) against live state -> a typed `Plan`.

The plan is data, not text: `apply` executes exactly its changes and renderers only display it.
Secrets never enter it: a sensitive config change carries a keyed hash of the new value, and
the value itself is handed to the applier separately (from `resolve_config`, in memory).

The planner is generic: each kind of resource (herokustack/resources/) compares its own part of
the stack file with live state and adds its changes, kind by kind in the registry's order (app,
add-ons, config vars, backup schedules, formation, maintenance today). A kind is planned for an
app only when that app's stack file needs it (`resources.needed`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field, PrivateAttr

from herokustack import resources
from herokustack.facts import LiveState
from herokustack.resources.base import (  # noqa: F401 -- the plan's types, as before
    NEXT_DEPLOY,
    Action,
    Change,
    PlanContext,
    field_diff,
    secret_hash,
)
from herokustack.stackfile import ConfigEntry, Stack

PLAN_FORMAT_VERSION = 2


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


def plan_app(
    stack: Stack,
    config: Mapping[str, ConfigEntry],
    live: LiveState,
    *,
    key: bytes,
    allow_destroy: Iterable[str] = (),
    assume_released: Iterable[str] = (),
    allow_transfer: Iterable[str] = (),
) -> AppPlan:
    """The changes that make one live app match its stack file (`key`: `hash_key`)."""
    ctx = PlanContext(
        stack,
        config,
        live,
        key,
        frozenset(allow_destroy),
        frozenset(assume_released) if not live.exists else frozenset(),
        allow_transfer=frozenset(allow_transfer),
    )
    for kind in resources.planned_kinds(stack.spec):
        kind.plan(ctx)
    return AppPlan(app=ctx.name, path=str(stack.path), exists=live.exists, changes=ctx.changes)


def make_plan(
    stacks: Sequence[Stack],
    configs: Mapping[str, Mapping[str, ConfigEntry]],
    lives: Mapping[str, LiveState],
    *,
    salt: str | None = None,
    pepper: bytes = b"",
    allow_destroy: Iterable[str] = (),
    assume_released: Mapping[str, Iterable[str]] | None = None,
    allow_transfer: Iterable[str] = (),
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
            allow_transfer=allow_transfer,
        )
        for stack in stacks
    ]
    return Plan(salt=salt, apps=apps).keyed(pepper)
