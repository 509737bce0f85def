"""Saved plans: the plan document, its fingerprints of live state and stack files, stale checks.

`herokustack plan --format json` prints the plan document and `plan --out FILE` writes the same
document. A plan file is untrusted input (a CI artifact other jobs and people can touch), so
`herokustack apply FILE` never executes what the file says: it plans again from the same stack
files and the live state now, and applies that plan only when it is *exactly* the file's
(every app, every change, every field), refusing otherwise and naming the first difference.
Before that, it checks, for clearer messages:

- stack files: the SHA-256 of each file of every planned stack's `extends` chain;
- the signature: an HMAC of the whole document under the plan's hash key (below), so an
  edited file, or one made with another key, is refused;
- secrets: the plan holds no secret value, only which environment variable gave it
  (`secrets`) and the keyed hash of the value (`Change.value_hash`); apply reads the variable
  again and refuses when it is missing or its value differs from the planned hash;
- live state: per app, a keyed hash of the app and of each part the plan touches
  ("formation.web", "config.SECRET_KEY", "addon.DATABASE", "backup.DATABASE", "maintenance"),
  no other.

Every hash is an HMAC-SHA256 under `planner.hash_key(salt, pepper)`: the salt is in the file,
the pepper is not (the Heroku API key, or HEROKUSTACK_PLAN_KEY: `session.plan_pepper`).
Whoever holds the pepper can read the app's config vars from Heroku anyway; whoever holds only
the file cannot test guesses of a secret against it.

`--allow-destroy` names given to `plan` are saved (`allow_destroy`) and used when planning
again at apply: they unlock only what the stack files already allow (`protect = false`), and
the signature covers them. So are `--allow-transfer` names (`allow_transfer`): they unlock only
the move to the team the stack file names.

The same fingerprints guard each write batch of apply (`LiveGuard`): right before writing,
the parts the batch touches are read again, so a second apply (or a hand-made change) running
at the same time stops this one with a clear message instead of interleaving silently.

The document's JSON Schema, generated from `PlanDocument`, is committed as
`herokustack/plan.schema.json` (regenerate: `python -m herokustack.planfile > FILE`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from herokustack import resources, stackfile
from herokustack.client import ApiError, HerokuClient
from herokustack.errors import HerokustackError
from herokustack.facts import LiveState
from herokustack.planner import PLAN_FORMAT_VERSION, AppPlan, Change, Plan, Summary, secret_hash
from herokustack.stackfile import FromEnv, Stack

ABSENT = "absent"
LOCAL = "local"  # the target of a plan made with --local
SCHEMA_PATH = Path(__file__).with_name("plan.schema.json")
SCHEMA_ID = "https://github.com/herokustack/herokustack/blob/main/herokustack/plan.schema.json"
MAX_PLAN_BYTES = 32 * 1024 * 1024  # a thousand apps' plan is a few MB
MAX_SHOWN = 60  # characters of a value from a plan file quoted in a message


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
    signature: str = Field(
        description="HMAC-SHA256 of the rest of the document under the plan's hash key."
    )
    key_check: str = Field(
        description="HMAC-SHA256 of a constant and `target` under the hash key: tells apply it "
        "has the key, and that `target` is as plan wrote it, before it reaches the target."
    )
    target: str = Field(
        description='Where the plan was made and is applied: "local" (the local emulator) or '
        "the Platform API URL."
    )
    allow_destroy: list[str] = Field(
        default_factory=list, description="The --allow-destroy names the plan was made with."
    )
    allow_transfer: list[str] = Field(
        default_factory=list, description="The --allow-transfer apps the plan was made with."
    )
    exit_code: int = Field(description="The exit code of the plan command.")
    herokustack_version: str
    live: list[LiveFingerprint] = Field(description="Fingerprints of the live state planned.")
    stack_files: list[FileFingerprint] = Field(description="The stack files planned.")
    secrets: list[SecretSource] = Field(default_factory=list)
    checks: dict[str, Any] | None = Field(
        default=None,
        description="`herokustack check --format json` of the apps that change (when shown).",
    )
    requests: dict[str, int | None] | None = Field(
        default=None,
        description="Heroku's request budget: `spent` by this plan, `estimated` before it, "
        "and `remaining` after it (RateLimit-Remaining; null when the API did not say).",
    )

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

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
    allow_destroy: Sequence[str] = (),
    target: str = LOCAL,
    allow_transfer: Sequence[str] = (),
) -> list[tuple[str, Any]]:
    """The sections a saved plan adds to `render.plan_data`: exit code, target, fingerprints,
    secrets."""
    live = fingerprints_of({a.app: lives[a.app] for a in plan.apps}, plan.hash_key)
    return [
        ("exit_code", exit_code),
        ("herokustack_version", herokustack_version()),
        ("allow_destroy", sorted(set(allow_destroy))),
        ("allow_transfer", sorted(set(allow_transfer))),
        ("target", target),
        ("key_check", _key_check(plan.hash_key, target)),
        ("live", [_only_touched(f, plan).model_dump() for f in live]),
        ("stack_files", [f.model_dump() for f in file_fingerprints(stacks)]),
        ("secrets", [s.model_dump() for s in secret_sources(plan, stacks)]),
    ]


def _canonical(doc: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _key_check(key: bytes, target: str) -> str:
    message = b"herokustack key check\0" + target.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def check_key(doc: PlanDocument, key: bytes, name: str) -> None:
    """Refuse a plan whose hashes this apply cannot check (another key, an edited salt), or
    whose target was edited: checked before apply sends anything to the target."""
    if hmac.compare_digest(_key_check(key, doc.target), doc.key_check):
        return
    raise HerokustackError(
        f"{name}: made with another key than this apply has, or its salt or target was edited: "
        "nothing was changed\n"
        "  apply with the API key (or HEROKUSTACK_PLAN_KEY) the plan was made with;\n"
        "  when plan and apply use different API keys, give both the same HEROKUSTACK_PLAN_KEY"
    )


def sign(doc: dict[str, Any], key: bytes) -> dict[str, Any]:
    """`doc` with its `signature`: an HMAC of everything else in it."""
    doc["signature"] = hmac.new(key, _canonical(doc), hashlib.sha256).hexdigest()
    return doc


def signed_by(doc: PlanDocument, key: bytes) -> bool:
    """Whether the file is exactly as `plan` wrote it, with this key."""
    want = hmac.new(key, _canonical(doc._raw), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, doc.signature)


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
    """Read a saved plan; any problem is one clear error naming the file (and the key).

    Only a regular file of at most MAX_PLAN_BYTES is read (a FIFO would block, a device never
    end); JSON nested too deeply for the parser is refused like any other bad JSON.
    """
    name = str(path)
    try:
        raw = json.loads(_read_bounded(path, name).decode("utf-8"))
    except FileNotFoundError:
        raise HerokustackError(f"{name}: plan file not found") from None
    except RecursionError:
        raise HerokustackError(f"{name}: not a plan file (JSON nested too deeply)") from None
    except (OSError, ValueError) as exc:  # ValueError: bad UTF-8, JSON, or a huge number
        reason = getattr(exc, "strerror", None) or exc
        raise HerokustackError(f"{name}: not a plan file (not JSON: {reason})") from None
    return parse(raw, name)


def _read_bounded(path: Path, name: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise HerokustackError(f"{name}: not a plan file (not a regular file)")
        if info.st_size > MAX_PLAN_BYTES:
            raise HerokustackError(f"{name}: not a plan file (over {MAX_PLAN_BYTES // 2**20} MB)")
        data = file.read(MAX_PLAN_BYTES + 1)
    if len(data) > MAX_PLAN_BYTES:
        raise HerokustackError(f"{name}: not a plan file (over {MAX_PLAN_BYTES // 2**20} MB)")
    return data


def parse(raw: Any, name: str) -> PlanDocument:
    found = raw.get("format_version") if isinstance(raw, dict) else None
    if type(found) is not int or found < 1:
        raise HerokustackError(
            f"{name}: not a herokustack plan file (no valid format_version): "
            "write one with `herokustack plan --out FILE`"
        )
    if found > PLAN_FORMAT_VERSION:
        raise HerokustackError(
            f"{name}: plan format version {found} is newer than this herokustack reads "
            f"({PLAN_FORMAT_VERSION}): upgrade herokustack, or make the plan with this version"
        )
    if found < PLAN_FORMAT_VERSION:
        raise HerokustackError(
            f"{name}: plan format version {found} was written by an older herokustack "
            f"(this one reads {PLAN_FORMAT_VERSION}): run plan again"
        )
    if "target" not in raw and "key_check" in raw:  # a whole plan, from before targets
        raise HerokustackError(
            f"{name}: made by an older herokustack, which did not record where it planned: "
            "run plan again"
        )
    try:
        doc = PlanDocument.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise HerokustackError(f"{name}: {shown(where)[1:-1]}: {err['msg']}") from None
    doc._raw = raw
    return doc


def shown(value: Any) -> str:
    """A value from an untrusted file as JSON, short enough to quote in a message."""
    text = json.dumps(value, ensure_ascii=True)  # escapes control characters too
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


# --- fingerprints ------------------------------------------------------------------------------


def _digest(key: bytes, part: str, value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, f"{part}\0{text}".encode(), hashlib.sha256).hexdigest()


def _raw_parts(live: LiveState) -> dict[str, Any]:
    """Each part of an app's live state that a plan can touch, as plain values (per kind)."""
    if live.app is None:
        return {"app": ABSENT}
    parts: dict[str, Any] = {}
    for kind in resources.KINDS:
        parts.update(kind.parts(live))
    return parts


def _read_parts(client: HerokuClient, app: str, changes: Sequence[Change]) -> dict[str, Any]:
    """The live parts of the resources `changes` write, read again (only those: cheap).

    The app itself (`GET /apps/{app}`) is read again only when a change's parts come from it
    (the app kind, the kinds that do not read for themselves, or say `fresh_needs_app`):
    a formation or config batch costs its own one request. Heroku's "no such app" to that
    request tells that the app is gone just as well.
    """
    root = resources.root()
    kinds = [k for k in resources.KINDS if any(c.resource == k.resource for c in changes)]
    if any(k is root or not k.reads or k.fresh_needs_app for k in kinds):
        base = LiveState(name=app, **root.read(client, app, {}))
        if base.app is None:  # only on Heroku's own "no such app" answer
            return {"app": ABSENT}
        parts = _raw_parts(base)
    else:
        base, parts = LiveState(name=app), {}
    for kind in kinds:
        if kind is not root:
            mine = [c for c in changes if c.resource == kind.resource]
            try:
                parts.update(kind.fresh_parts(client, app, base, mine))
            except ApiError as exc:
                if not exc.missing("app"):
                    raise
                return {"app": ABSENT}
    return parts


def live_parts(live: LiveState, key: bytes) -> dict[str, str]:
    return _digests(_raw_parts(live), key)


def _digests(parts: Mapping[str, Any], key: bytes) -> dict[str, str]:
    return {part: _digest(key, part, value) for part, value in sorted(parts.items())}


def touched_parts(change: Change) -> list[str]:
    """The parts of live state one change writes (none for refused or deferred ones)."""
    if not change.is_change:
        return []
    return resources.kind_of(change.resource).touched_parts(change)


def part_label(part: str) -> str:
    prefix, _, name = part.partition(".")
    for kind in resources.KINDS:
        if prefix == kind.resource or part in (kind.resource, kind.name):
            return kind.part_label(name)
    return f"{prefix} {name}".strip()


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


def check_secrets(doc: PlanDocument, key: bytes, environ: Mapping[str, str]) -> None:
    """Refuse when a secret the plan sets is missing from `environ`, or holds another value."""
    hashes = {(a.app, c.name): c.value_hash for a in doc.apps for c in a.changes if c.value_hash}
    problems = []
    for source in doc.secrets:
        where = f"{source.app}: config.{source.key}: environment variable {source.env}"
        value = environ.get(source.env)
        if value is None:
            problems.append(f"{where} is not set (the plan sets this secret from it)")
        elif secret_hash(key, source.key, value) != hashes.get((source.app, source.key)):
            problems.append(f"{where} holds another value than when the plan was made")
    known = {(s.app, s.key) for s in doc.secrets}
    problems += [
        f"{app}: config.{name}: the plan names no environment variable for this secret"
        for app, name in hashes
        if (app, name) not in known
    ]
    if problems:
        raise HerokustackError("\n".join(["cannot apply the plan: nothing was changed", *problems]))


# --- checks at apply time ----------------------------------------------------------------------


def check_fresh(doc: PlanDocument, key: bytes, lives: Mapping[str, LiveState], name: str) -> None:
    """Refuse (StalePlanError) when live state the plan touches changed since it was made."""
    recorded = {f.app: f for f in doc.live}
    problems = []
    for app in (a for a in doc.to_plan().apps if a.has_work):
        if app.app not in recorded:
            problems.append(f"{app.app}: no fingerprint of its live state in the plan")
            continue
        if app.app not in lives:
            continue  # an app the stack files do not plan now: check_same names it
        now = live_parts(lives[app.app], key)
        parts = changed_parts(recorded[app.app], now, app.changes)
        if parts:
            problems.append(stale_message(app.app, parts))
    if problems:
        raise StalePlanError("\n".join([_stale_head(name), *problems]))


def check_files(doc: PlanDocument, name: str) -> None:
    """Refuse (StalePlanError) when a stack file of the plan changed or is gone."""
    problems = stale_files(doc.stack_files)
    if problems:
        raise StalePlanError("\n".join([_stale_head(name), *problems]))


def _stale_head(name: str) -> str:
    return f"{name} is stale: nothing was changed; run plan again and review it"


def check_same(doc: PlanDocument, derived: Plan, key: bytes, name: str) -> None:
    """Refuse unless the file is exactly as plan wrote it and holds exactly `derived`: the plan
    the stack files and live state give now."""
    found = first_difference(doc.to_plan(), derived)
    if found is None and signed_by(doc, key):
        return
    why = found or "its signature does not match: the file was edited after plan wrote it"
    raise HerokustackError(
        f"{name}: not the plan the stack files and live state give now: nothing was changed\n"
        f"  {why}\n"
        "  run plan again and review it"
    )


def first_difference(saved: Plan, derived: Plan) -> str | None:
    """Where the saved plan departs from the derived one (None: nowhere), in one line."""
    saved_apps = [a.app for a in saved.apps]
    derived_apps = [a.app for a in derived.apps]
    if saved_apps != derived_apps:
        return f"apps: {shown(saved_apps)} in the file, {shown(derived_apps)} now"
    for mine, theirs in zip(saved.apps, derived.apps, strict=True):
        found = _app_difference(mine, theirs)
        if found:
            return f"{mine.app}: {found}"
    return None


def _app_difference(saved: AppPlan, derived: AppPlan) -> str | None:
    for field in ("path", "exists"):
        if getattr(saved, field) != getattr(derived, field):
            was, now = getattr(saved, field), getattr(derived, field)
            return f"{field} is {shown(was)} in the file, {shown(now)} now"
    for index, (mine, theirs) in enumerate(zip(saved.changes, derived.changes, strict=False), 1):
        if mine != theirs:
            return f"change {index} ({_label(theirs)}): {_field_difference(mine, theirs)}"
    if len(saved.changes) != len(derived.changes):
        was, now = len(saved.changes), len(derived.changes)
        return f"{stackfile.plural(was, 'change')} in the file, {now} now"
    return None


def _label(change: Change) -> str:
    return f"{change.resource} {change.name}"


def _field_difference(saved: Change, derived: Change) -> str:
    mine, theirs = saved.model_dump(mode="json"), derived.model_dump(mode="json")
    field = next(k for k in theirs if mine.get(k) != theirs[k])
    return f"{field} is {shown(mine.get(field))} in the file, {shown(theirs[field])} now"


class LiveGuard:
    """Before each write batch of apply: the parts it touches must still be as planned."""

    def __init__(self, client: HerokuClient, key: bytes, live: Iterable[LiveFingerprint]) -> None:
        self.client = client
        self.key = key
        self.recorded = {f.app: f for f in live}
        self.created: set[str] = set()

    @classmethod
    def from_lives(
        cls, client: HerokuClient, key: bytes, lives: Mapping[str, LiveState]
    ) -> LiveGuard:
        return cls(client, key, fingerprints_of(lives, key))

    def __call__(self, app: str, step: str, changes: list[Change]) -> None:
        recorded = self.recorded.get(app)
        if recorded is None or app in self.created:
            return
        if not recorded.exists:
            # Only the creation can be checked: later steps see what this run created.
            self.created.add(app)
        now = _digests(_read_parts(self.client, app, changes), self.key)
        parts = changed_parts(recorded, now, changes)
        if parts:
            raise StalePlanError(
                f"{stale_message(app, parts)}: another apply may be running, or someone "
                f"changed it by hand; stopped before {step}: run plan again"
            )


def fingerprints_of(lives: Mapping[str, LiveState], key: bytes) -> list[LiveFingerprint]:
    return [
        LiveFingerprint(app=n, exists=s.exists, parts=live_parts(s, key)) for n, s in lives.items()
    ]


if __name__ == "__main__":
    print(schema_text(), end="")
