"""The kinds of Heroku resource herokustack manages, one module each, and their ordered registry.

`KINDS` is the order of everything: the changes of one app are planned (and shown) kind by kind
in this order, drift lists them so, and apply runs the kinds' steps by their `Step.order`. A new
kind is a new module here plus one line in `KINDS` (see docs/adding-a-resource.md); a test adds
one with `register`.

Reads: `read_app` reads the app itself first (one request; a missing app ends there), then the
kinds asked for, those that need another kind's facts (`after`) once those are read, the others
in parallel. `plan` asks for the kinds an app's stack file needs (`needed`); drift and import
for every kind. Each kind's `read_cost` says what reading it costs. `read_apps` (many apps)
first asks the kinds' account-wide readers (`Kind.read_many`: the app kind's `GET /apps`, the
add-ons kind's `GET /addons`), each of which declines when one request per app costs fewer;
what they do not answer is read per app. `estimate_reads` tells the request budget the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from herokustack.facts import LiveState
from herokustack.resources import (
    access,
    acm,
    addons,
    app,
    backups,
    buildpacks,
    certs,
    config_vars,
    data_settings,
    domains,
    drains,
    features,
    formation,
    maintenance,
    pipeline_settings,
    pipelines,
    team,
    webhooks,
)
from herokustack.resources.base import Change, Kind

if TYPE_CHECKING:
    from herokustack.client import HerokuClient
    from herokustack.stackfile import StackFile

KINDS: list[Kind] = [
    app.KIND,
    team.TEAM,
    team.LOCKED,
    pipelines.KIND,
    pipeline_settings.KIND,
    buildpacks.KIND,
    features.KIND,
    addons.KIND,
    config_vars.KIND,
    backups.KIND,
    data_settings.KIND,
    formation.KIND,
    domains.KIND,
    certs.KIND,
    acm.KIND,
    maintenance.KIND,
    drains.KIND,
    webhooks.KIND,
    access.KIND,
    access.ADMINS,
]


def register(kind: Kind) -> Callable[[], None]:
    """Add a kind after the others (a test's, say); returns the function that removes it."""
    if any(k.name == kind.name or k.resource == kind.resource for k in KINDS):
        raise ValueError(f"a kind named {kind.name!r} (resource {kind.resource!r}) is registered")
    KINDS.append(kind)
    return lambda: unregister(kind)


def unregister(kind: Kind) -> None:
    if kind in KINDS:
        KINDS.remove(kind)


def root() -> Kind:
    """The kind of the app itself: read first, and whether it exists decides the rest."""
    return KINDS[0]


def resource_names() -> tuple[str, ...]:
    return tuple(k.resource for k in KINDS)


def kind_of(resource: str) -> Kind:
    """The kind whose changes have `resource` ("addon" -> the add-ons kind)."""
    for kind in KINDS:
        if kind.resource == resource:
            return kind
    raise KeyError(resource)


def order_of(resource: str) -> int:
    return resource_names().index(resource)


def needed(kind: Kind, spec: StackFile) -> bool:
    """Whether `plan` reads (and plans) `kind` for an app whose stack file is `spec`."""
    return kind.always_read or kind.declared(spec) or kind.wants_undeclared(spec)


def planned_kinds(spec: StackFile) -> list[Kind]:
    """The kinds `plan` reads and plans for this stack file, with the kinds they read after."""
    wanted = {k.name for k in KINDS if needed(k, spec)}
    for kind in reversed(KINDS):
        if kind.name in wanted:
            wanted.update(kind.after)
    return [k.for_stack(spec) for k in KINDS if k.name in wanted]


# --- reading ------------------------------------------------------------------------------------


def estimate_reads(specs: Sequence[StackFile], every_kind: bool = False) -> int:
    """About how many requests reading these apps costs (the kinds `plan` reads of each, or
    with `every_kind` all): per kind, its account-wide reader's pages when that is cheaper
    than one read per app (as `read_apps` chooses), else each app's `estimate`."""
    wanting: dict[str, list[StackFile]] = {}
    per_app: dict[str, int] = {}
    for spec in specs:
        for kind in KINDS if every_kind else planned_kinds(spec):
            wanting.setdefault(kind.name, []).append(spec)
            per_app[kind.name] = per_app.get(kind.name, 0) + kind.estimate(spec)
    total = 0
    for kind in KINDS:
        if kind.name in wanting:
            many = kind.estimate_many(wanting[kind.name])
            total += per_app[kind.name] if many is None else min(many, per_app[kind.name])
    return total


def read_app(
    client: HerokuClient,
    name: str,
    kinds: Iterable[Kind] | None = None,
    known: Mapping[str, dict[str, Any]] | None = None,
) -> LiveState:
    """Live state of one app: the app itself, then `kinds` (default: every kind); a kind whose
    facts are in `known` (kind name -> facts, read account-wide) is not read again."""
    known = known or {}
    first = root()
    facts: dict[str, Any] = dict(known.get(first.name) or first.read(client, name, {}))
    if not any(facts.values()):
        return LiveState(name=name)  # Heroku's own "no such app": a planned creation
    todo = [k for k in (KINDS if kinds is None else kinds) if k is not first and k.reads]
    for kind in [k for k in todo if k.name in known]:
        facts.update(known[kind.name])
    todo = [k for k in todo if k.name not in known]
    while todo:
        # A kind reads once the kinds it reads after are read; those that can, in parallel.
        pending = {k.name for k in todo}
        wave = [k for k in todo if not set(k.after) & pending] or todo[:1]
        facts.update(_read_wave(client, name, wave, facts))
        todo = [k for k in todo if k not in wave]
    return _state(name, facts)


def _read_wave(
    client: HerokuClient, name: str, wave: Sequence[Kind], facts: dict[str, Any]
) -> dict[str, Any]:
    if len(wave) == 1:
        return dict(wave[0].read(client, name, facts))
    with ThreadPoolExecutor(max_workers=len(wave)) as pool:
        futures = [pool.submit(k.read, client, name, facts) for k in wave]
        found: dict[str, Any] = {}
        for future in futures:
            found.update(future.result())
        return found


def _state(name: str, facts: dict[str, Any]) -> LiveState:
    return LiveState(name=name).with_facts(facts)


def read_account_wide(
    client: HerokuClient,
    kinds_of: Mapping[str, Sequence[Kind]],
    teams: Mapping[str, str | None],
) -> dict[str, dict[str, dict[str, Any]]]:
    """What the kinds' account-wide readers find (`Kind.read_many`), app -> kind -> facts:
    the app kind first, then each other kind for the apps found to exist."""
    first = root()
    names = list(kinds_of)
    known: dict[str, dict[str, dict[str, Any]]] = {
        app: {first.name: facts} for app, facts in first.read_many(client, names, teams).items()
    }
    existing = [n for n in names if any((known.get(n, {}).get(first.name) or {}).values())]
    names_of = {n: {k.name for k in kinds} for n, kinds in kinds_of.items()}
    for kind in KINDS:
        apps = [n for n in existing if kind is not first and kind.name in names_of[n]]
        if apps and kind.reads:
            for app, facts in kind.read_many(client, apps, teams).items():
                known[app][kind.name] = facts
    return known


def read_apps(
    client: HerokuClient,
    names: Sequence[str],
    kinds_for: Callable[[str], Iterable[Kind]] | None = None,
    teams: Mapping[str, str | None] | None = None,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, LiveState]:
    """Live state of many apps: account-wide lists first where they cost fewer requests
    (`read_account_wide`), then per app, in parallel (at most `client.parallelism` at once);
    `kinds_for(app)` says which kinds to read of each (default: every kind), `teams` the team
    each app's file names; `on_done(app)` is told of each app read (a progress bar)."""
    kinds_of = {n: list(kinds_for(n)) if kinds_for else list(KINDS) for n in names}
    known = read_account_wide(client, kinds_of, teams or {})

    def one(name: str) -> LiveState:
        state = read_app(client, name, kinds_of[name], known.get(name))
        if on_done is not None:
            on_done(name)
        return state

    with ThreadPoolExecutor(max_workers=min(client.parallelism, max(1, len(names)))) as pool:
        states = list(pool.map(one, names))
    return {s.name: s for s in states}


__all__ = ["KINDS", "Change", "Kind", "kind_of", "read_app", "read_apps", "register"]
