"""Saved plans: the plan document, its fingerprints of live state and stack files, stale checks.

`herokustack plan --format json` prints the plan document and `plan --out FILE` writes the same
document; `herokustack apply FILE` executes exactly the `Plan` it embeds (format_version, salt,
apps and their changes), after checking that nothing the plan touches changed since:

- live state: per app, a salted SHA-256 of the app and of each part the plan touches
  ("formation.web", "config.SECRET_KEY", "addon.DATABASE", "backup.DATABASE", "maintenance"),
  no other. Config values are secrets, so only their salted hashes are stored; the salt is
  the plan's.
- stack files: the SHA-256 of each file of every planned stack's `extends` chain.
- secrets: the plan holds no secret value, only which environment variable gave it
  (`secrets`) and the salted hash of the value (`Change.value_hash`); apply reads the variable
  again and refuses when it is missing or its value differs from the planned hash.

The same fingerprints guard each write batch of apply (`LiveGuard`): right before writing,
the parts the batch touches are read again, so a second apply (or a hand-made change) running
at the same time stops this one with a clear message instead of interleaving silently.

The document's JSON Schema, generated from `PlanDocument`, is committed as
`herokustack/plan.schema.json` (regenerate: `python -m herokustack.planfile > FILE`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from herokustack.client import (
    POSTGRES,
    HerokuClient,
    LiveAddon,
    LiveAppInfo,
    LiveProcess,
    LiveSchedule,
    LiveState,
)
from herokustack.errors import HerokustackError
from herokustack.planner import PLAN_FORMAT_VERSION, AppPlan, Change, Plan, Summary, secret_hash
from herokustack.stackfile import ConfigEntry, FromEnv, Stack

ABSENT = "absent"
SCHEMA_PATH = Path(__file__).with_name("plan.schema.json")
SCHEMA_ID = "https://github.com/herokustack/herokustack/blob/main/herokustack/plan.schema.json"


class StalePlanError(HerokustackError):
    """Live state or stack files changed since the plan was made: nothing (more) was changed."""


# --- the document --------------------------------------------------------------------------


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CostSummary(Summary):
    """Counts of changes, and the monthly cost before and after when cost is shown."""

    model_config = ConfigDict(extra="forbid")

    cost_before_cents: int | None = Field(default=None, description="Monthly, in US cents.")
    cost_after_cents: int | None = Field(default=None, description="Monthly, in US cents.")


class AppEntry(_Doc):
    """One app of the plan: the `AppPlan` with its counts."""

    app: str
    path: str = Field(description="The stack file that declares the app.")
    exists: bool = Field(description="Whether the app existed when the plan was made.")
    summary: CostSummary
    changes: list[Change]
    cost_before_cents: int | None = Field(
        default=None, description="Monthly cost now, in US cents (when cost is shown)."
    )
    cost_after_cents: int | None = Field(
        default=None, description="Monthly cost once the plan is applied, in US cents."
    )


class LiveFingerprint(_Doc):
    app: str
    exists: bool
    parts: dict[str, str] = Field(
        description='Salted SHA-256 per part of live state ("formation.web", "config.KEY", ...)'
    )


class FileFingerprint(_Doc):
    path: str
    sha256: str


class SecretSource(_Doc):
    """Where apply reads a secret again: never its value."""

    app: str
    key: str = Field(description="The config var.")
    env: str = Field(description="The environment variable holding its value.")


class PlanDocument(BaseModel):
    """The plan as JSON: printed by `plan --format json`, saved by `plan --out`, read by apply.

    Other sections (e.g. `checks`, `cost`) may be added at the top level by other commands.
    """

    model_config = ConfigDict(extra="allow", title="herokustack plan")

    format_version: int = Field(
        description="Version of this format; apply refuses a newer one than it knows."
    )
    changes_pending: bool = Field(description="Something to apply, or refused changes to see.")
    summary: CostSummary
    apps: list[AppEntry]
    salt: str = Field(description="Salt of every hash in the document (not a secret).")
    exit_code: int = Field(description="The exit code of the plan command.")
    herokustack_version: str
    live: list[LiveFingerprint] = Field(description="Fingerprints of the live state planned.")
    stack_files: list[FileFingerprint] = Field(description="The stack files planned.")
    secrets: list[SecretSource] = Field(default_factory=list)
    checks: dict[str, Any] | None = Field(
        default=None,
        description="`herokustack check --format json` of the apps that change (when shown).",
    )

    def to_plan(self) -> Plan:
        apps = [
            AppPlan(app=a.app, path=a.path, exists=a.exists, changes=a.changes) for a in self.apps
        ]
        return Plan(format_version=self.format_version, salt=self.salt, apps=apps)


def herokustack_version() -> str:
    try:
        return version("herokustack")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def document_extra(
    plan: Plan,
    lives: Mapping[str, LiveState],
    stacks: Sequence[Stack],
    exit_code: int,
) -> list[tuple[str, Any]]:
    """The sections a saved plan adds to `render.plan_data`: exit code, fingerprints, secrets."""
    live = fingerprints_of({a.app: lives[a.app] for a in plan.apps}, plan.salt)
    return [
        ("exit_code", exit_code),
        ("herokustack_version", herokustack_version()),
        ("live", [_only_touched(f, plan).model_dump() for f in live]),
        ("stack_files", [f.model_dump() for f in file_fingerprints(stacks)]),
        ("secrets", [s.model_dump() for s in secret_sources(plan, stacks)]),
    ]


def _only_touched(fingerprint: LiveFingerprint, plan: Plan) -> LiveFingerprint:
    """The parts apply compares (the app, and what the changes touch), no other: a plan file
    may be public (a CI artifact), and a salted hash of a weak secret set by hand, which the
    plan does not touch, could still be guessed offline."""
    changes = [c for a in plan.apps if a.app == fingerprint.app for c in a.changes]
    keep = {"app", *(p for c in changes for p in touched_parts(c))}
    parts = {k: v for k, v in fingerprint.parts.items() if k in keep}
    return fingerprint.model_copy(update={"parts": parts})


def schema() -> dict[str, Any]:
    doc = PlanDocument.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **doc}


def schema_text() -> str:
    """The schema as committed in `herokustack/plan.schema.json`."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> PlanDocument:
    """Read a saved plan; any problem is one clear error naming the file (and the key)."""
    name = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HerokustackError(f"{name}: plan file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HerokustackError(f"{name}: not a plan file (not JSON: {exc})") from None
    return parse(raw, name)


def parse(raw: Any, name: str) -> PlanDocument:
    if not isinstance(raw, dict) or not isinstance(raw.get("format_version"), int):
        raise HerokustackError(
            f"{name}: not a herokustack plan file (no format_version): "
            "write one with `herokustack plan --out FILE`"
        )
    found = raw["format_version"]
    if found > PLAN_FORMAT_VERSION:
        raise HerokustackError(
            f"{name}: plan format version {found} is newer than this herokustack reads "
            f"({PLAN_FORMAT_VERSION}): upgrade herokustack, or make the plan with this version"
        )
    try:
        return PlanDocument.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise HerokustackError(f"{name}: {where}: {err['msg']}") from None


# --- fingerprints ------------------------------------------------------------------------------


def _digest(salt: str, part: str, value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{salt}\0{part}\0{text}".encode()).hexdigest()


def _raw_parts(live: LiveState) -> dict[str, Any]:
    """Each part of an app's live state that a plan can touch, as plain values."""
    if live.app is None:
        return {"app": ABSENT}
    return {
        **_app_parts(live.app),
        **_formation_parts(live.formation),
        **_config_parts(live.config),
        **_addon_parts(live.addons, live.schedules),
    }


def _app_parts(info: LiveAppInfo) -> dict[str, Any]:
    return {"app": [info.region, info.stack, info.build_stack], "maintenance": info.maintenance}


def _formation_parts(formation: Mapping[str, LiveProcess]) -> dict[str, Any]:
    return {f"formation.{t}": [p.quantity, p.size] for t, p in formation.items()}


def _config_parts(config: Mapping[str, str]) -> dict[str, Any]:
    return {f"config.{key}": value for key, value in config.items()}


def _schedules(schedules: Iterable[LiveSchedule]) -> list[list[Any]]:
    return sorted([s.name, s.hour, s.timezone] for s in schedules)


def _addon_parts(
    addons: Iterable[LiveAddon], schedules: Mapping[str, Sequence[LiveSchedule]] | None = None
) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    for addon in addons:
        for name in addon.attachments or (addon.name,):
            parts[f"addon.{name}"] = [addon.id, addon.plan, addon.owner]
            if schedules is not None and addon.service == POSTGRES:
                parts[f"backup.{name}"] = _schedules(schedules.get(addon.id, ()))
    return parts


def _read_parts(client: HerokuClient, app: str, changes: Sequence[Change]) -> dict[str, Any]:
    """The live parts of the resources `changes` write, read again (only those: cheap)."""
    kinds = {c.resource for c in changes}
    info = client.app_info(app)  # None only on Heroku's own "no such app" answer
    if info is None:
        return {"app": ABSENT}
    parts = _app_parts(info)
    if "formation" in kinds:
        parts.update(_formation_parts(client.read_formation(app)))
    if "config" in kinds:
        parts.update(_config_parts(client.read_config(app)))
    if "addon" in kinds:
        parts.update(_addon_parts(client.list_addons(app)))
    for change in changes:
        if change.resource == "backup" and change.addon_id:
            schedules = client.read_schedules(change.addon_id)
            parts[f"backup.{change.attachment}"] = _schedules(schedules)
    return parts


def live_parts(live: LiveState, salt: str) -> dict[str, str]:
    return _digests(_raw_parts(live), salt)


def _digests(parts: Mapping[str, Any], salt: str) -> dict[str, str]:
    return {part: _digest(salt, part, value) for part, value in sorted(parts.items())}


def touched_parts(change: Change) -> list[str]:
    """The parts of live state one change writes (none for refused or deferred ones)."""
    if not change.is_change:
        return []
    if change.resource == "app":
        return ["app"]
    if change.resource == "maintenance":
        return ["maintenance"]
    if change.resource == "formation":
        return [f"formation.{change.name}"]
    if change.resource == "config":
        return [f"config.{change.name}"]
    if change.resource == "addon":
        return [f"addon.{change.attachment or change.name}"]
    # A schedule of an add-on this plan creates has no addon_id: the add-on part covers it.
    return [f"backup.{change.attachment}"] if change.addon_id and change.attachment else []


def part_label(part: str) -> str:
    kind, _, name = part.partition(".")
    label = {"addon": "add-on", "backup": "backup schedules of"}.get(kind, kind)
    return f"{label} {name}".strip() if kind != "app" else "the app (region, stack)"


def changed_parts(
    recorded: LiveFingerprint, now: Mapping[str, str], changes: Iterable[Change]
) -> list[str]:
    """Parts the changes touch whose live digest `now` differs from the one planned."""
    if not recorded.exists or list(now) == ["app"]:  # created since, or deleted since
        return [] if now.get("app") == recorded.parts.get("app") else ["app"]
    wanted = dict.fromkeys(p for c in changes for p in touched_parts(c))
    return [p for p in wanted if recorded.parts.get(p, ABSENT) != now.get(p, ABSENT)]


def stale_message(app: str, parts: Sequence[str]) -> str:
    if parts == ["app"]:
        return (
            f"{app}: the app was created, deleted or moved (region, stack) since the plan was made"
        )
    return f"{app}: {', '.join(part_label(p) for p in parts)} changed since the plan was made"


# --- stack files and secrets -------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_fingerprints(stacks: Sequence[Stack]) -> list[FileFingerprint]:
    paths = dict.fromkeys(
        path for stack in stacks for path in ([s.path for s in stack.sources] or [stack.path])
    )
    return [FileFingerprint(path=p.as_posix(), sha256=_sha256(p)) for p in paths if p.is_file()]


def stale_files(recorded: Sequence[FileFingerprint]) -> list[str]:
    problems = []
    for entry in recorded:
        path = Path(entry.path)
        if not path.is_file():
            problems.append(f"{entry.path}: missing (the plan was made from it)")
        elif _sha256(path) != entry.sha256:
            problems.append(f"{entry.path}: changed since the plan was made")
    return problems


def secret_sources(plan: Plan, stacks: Sequence[Stack]) -> list[SecretSource]:
    by_name = {s.name: s for s in stacks}
    found = []
    for app in plan.apps:
        stack = by_name.get(app.app)
        for change in app.changes:
            if not (change.sensitive and change.value_hash and stack):
                continue
            entry = stack.spec.config.get(change.name)
            if isinstance(entry, FromEnv):
                found.append(SecretSource(app=app.app, key=change.name, env=entry.from_env))
    return found


def secret_configs(
    doc: PlanDocument, environ: Mapping[str, str]
) -> dict[str, dict[str, ConfigEntry]]:
    """The secrets the plan sets, read again from `environ` and checked against the plan."""
    hashes = {(a.app, c.name): c.value_hash for a in doc.apps for c in a.changes if c.value_hash}
    configs: dict[str, dict[str, ConfigEntry]] = {}
    problems = []
    for source in doc.secrets:
        where = f"{source.app}: config.{source.key}: environment variable {source.env}"
        value = environ.get(source.env)
        if value is None:
            problems.append(f"{where} is not set (the plan sets this secret from it)")
        elif secret_hash(doc.salt, source.key, value) != hashes.get((source.app, source.key)):
            problems.append(f"{where} holds another value than when the plan was made")
        else:
            configs.setdefault(source.app, {})[source.key] = ConfigEntry(value, sensitive=True)
    known = {(s.app, s.key) for s in doc.secrets}
    problems += [
        f"{app}: config.{key}: the plan names no environment variable for this secret"
        for app, key in hashes
        if (app, key) not in known
    ]
    if problems:
        raise HerokustackError("\n".join(["cannot apply the plan: nothing was changed", *problems]))
    return configs


# --- checks at apply time ----------------------------------------------------------------------


def check_fresh(
    client: HerokuClient, doc: PlanDocument, plan: Plan, name: str
) -> dict[str, LiveState]:
    """Refuse (StalePlanError) when a stack file or live state the plan touches changed."""
    problems = stale_files(doc.stack_files)
    pending = [a for a in plan.apps if a.has_work]
    lives = client.read_apps([a.app for a in pending]) if pending else {}
    recorded = {f.app: f for f in doc.live}
    for app in pending:
        if app.app not in recorded:
            problems.append(f"{app.app}: no fingerprint of its live state in the plan")
            continue
        now = live_parts(lives[app.app], plan.salt)
        parts = changed_parts(recorded[app.app], now, app.changes)
        if parts:
            problems.append(stale_message(app.app, parts))
    if problems:
        lines = [f"{name} is stale: nothing was changed; run plan again and review it", *problems]
        raise StalePlanError("\n".join(lines))
    return lives


class LiveGuard:
    """Before each write batch of apply: the parts it touches must still be as planned."""

    def __init__(self, client: HerokuClient, salt: str, live: Iterable[LiveFingerprint]) -> None:
        self.client = client
        self.salt = salt
        self.recorded = {f.app: f for f in live}
        self.created: set[str] = set()

    @classmethod
    def from_lives(
        cls, client: HerokuClient, salt: str, lives: Mapping[str, LiveState]
    ) -> LiveGuard:
        return cls(client, salt, fingerprints_of(lives, salt))

    def __call__(self, app: str, step: str, changes: list[Change]) -> None:
        recorded = self.recorded.get(app)
        if recorded is None or app in self.created:
            return
        if not recorded.exists:
            # Only the creation can be checked: later steps see what this run created.
            self.created.add(app)
        now = _digests(_read_parts(self.client, app, changes), self.salt)
        parts = changed_parts(recorded, now, changes)
        if parts:
            raise StalePlanError(
                f"{stale_message(app, parts)}: another apply may be running, or someone "
                f"changed it by hand; stopped before {step}: run plan again"
            )


def fingerprints_of(lives: Mapping[str, LiveState], salt: str) -> list[LiveFingerprint]:
    return [
        LiveFingerprint(app=n, exists=s.exists, parts=live_parts(s, salt)) for n, s in lives.items()
    ]


if __name__ == "__main__":
    print(schema_text(), end="")
