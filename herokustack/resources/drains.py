"""Log drains of an app: the `[[drains]]` array of tables of a stack file.

    [[drains]]
    url = { from_env = "LOG_DRAIN_URL" }   # drain URLs carry tokens: usually from the environment

    [[drains]]
    url = "syslog+tls://logs.example.com:6514"

Each `url` is a string or a `{ from_env = "VAR" }` table: the config vars' value type, resolved
with them (`Kind.resolved_values`), so an unset variable is the same error, naming file, key and
variable. A URL is https://, http://, syslog+tls:// or syslog:// with a host; no URL twice.

Declared (even as `drains = []`), the app's drains herokustack manages are exactly those: plan
reads them (one `GET /apps/{app}/log-drains`, only for apps that declare `drains`), a declared
URL that no live drain has is added (`POST /apps/{app}/log-drains` {url}) and a live drain not
declared is removed (`DELETE /apps/{app}/log-drains/{id}`), in one apply step after the app
exists and before add-ons. Drains made by an add-on (papertrail, ...: their `addon` is set) are
never touched nor removed, and not imported. Not declared at all, drains are neither read nor
touched; drift then shows the live ones as undeclared.

Heroku has no drain update: a changed URL is the old drain removed and a new one added, two plan
lines that say so; apply adds the new one before removing the old one (no log line lost).

Drain URLs are secrets, never printed, stored or sent anywhere but to Heroku:
- a plan line names a drain by its environment variable (`drain LOG_DRAIN_URL`); a literal URL
  and a live drain by scheme and host only (`drain syslog+tls://logs.example.com`), a live one
  with its token (`(d.0123...)`), which Heroku writes in every drained log line anyway;
- live and declared URLs are compared by keyed hash (`secret_hash` under the plan's hash key,
  as config vars are); a change carries only that hash and the key path of its value
  (`params.url_hash`, `params.key`), and apply takes the URL from the resolved values again and
  refuses one whose hash differs. Saved plans fingerprint the ids of the live drains (a drain's
  URL cannot change without its id), never a URL;
- the client redacts every URL it reads or sends; validation never echoes one; `check` HS011
  flags a literal URL holding credentials or a token.

Import writes each live drain (not an add-on's) as `{ from_env = "LOG_DRAIN_URL" }` (then
`LOG_DRAIN_URL_2`, ...), with a comment naming the drain whose URL the variable must hold.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Discriminator, Field, Tag, WithJsonSchema

from herokustack.errors import StackFileError
from herokustack.facts import Live
from herokustack.resources.base import (
    Change,
    DriftContext,
    Kind,
    Loc,
    PlanContext,
    Step,
    Strict,
    invalid,
    key_text,
    secret_hash,
    toml_comments,
    toml_inline,
)
from herokustack.resources.config_vars import FromEnv

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

SCHEMES = ("https", "http", "syslog+tls", "syslog")
EXPECTED = "a log drain URL: https://, http://, syslog+tls:// or syslog:// and a host"
URL_PATTERN = r"^(https?|syslog(\+tls)?)://\S+$"  # the JSON Schema's (editors) hint
HASH_NAME = "log drain"  # what `secret_hash` is given as the name of every drain URL
ENV_NAME = "LOG_DRAIN_URL"  # the variable import names (then _2, _3, ...)
SHOWN_HOST = re.compile(r"^[a-z0-9.:-]{1,100}$")


def url_problem(url: str) -> str | None:
    """Why `url` is no drain URL Heroku takes (never quoting it), or None."""
    if any(c.isspace() for c in url):
        return f"must be {EXPECTED}, without spaces"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"must be {EXPECTED}"
    if parts.scheme.lower() not in SCHEMES or not host:
        return f"must be {EXPECTED}"
    return None


def shown(url: str) -> str:
    """What a line shows of a drain URL: its scheme and host, nothing else."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "(a URL that cannot be read)"
    if parts.scheme.lower() not in SCHEMES or not SHOWN_HOST.match(host):
        return "(a URL whose host is not shown)"
    return f"{parts.scheme.lower()}://{host}"


def _check(value: str) -> str:
    problem = url_problem(value)
    if problem:
        raise invalid(problem)
    return value


LiteralUrl = Annotated[
    str,
    AfterValidator(_check),
    WithJsonSchema({"type": "string", "pattern": URL_PATTERN, "description": EXPECTED}),
]


def _url_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "@str"
    if isinstance(value, dict | FromEnv):
        return "@env"
    return None


# The tags ("@str", "@env") appear in error locations; the loader drops them.
DrainUrl = Annotated[
    Annotated[LiteralUrl, Tag("@str")] | Annotated[FromEnv, Tag("@env")],
    Discriminator(
        _url_kind,
        custom_error_type="drain_url",
        custom_error_message="must be a URL string or a from_env table",
    ),
]


class DrainSpec(Strict):
    """One log drain of the app."""

    url: DrainUrl = Field(
        description='The drain URL: a string, or { from_env = "VAR" } (drain URLs carry tokens).'
    )


class LiveDrain(Live):
    """A drain of a live app; its URL stays in memory (never shown, dumped or stored)."""

    id: str
    token: str
    addon: str | None = None  # the add-on that made it: then never touched
    where: str  # scheme://host, what lines show of it
    url: str = Field(default="", repr=False, exclude=True)

    @property
    def label(self) -> str:
        return f"{self.where} ({self.token})"


@dataclasses.dataclass(frozen=True)
class Wanted:
    """A declared drain as plan sees it: how lines name it, its URL's keyed hash (None when its
    variable is unset: drift compares presence only), where apply finds its URL."""

    label: str
    digest: str | None
    key: str  # drains[0].url


def _path(app: str, drain: str | None = None) -> str:
    from herokustack.client import app_path, path_segment  # only when reading or writing

    base = f"{app_path(app)}/log-drains"
    return f"{base}/{path_segment(drain, 'log drain id')}" if drain else base


def _live(doc: Mapping[str, Any]) -> LiveDrain:
    url = str(doc.get("url") or "")
    addon = doc.get("addon")
    owner = str(addon.get("name") or "an add-on") if isinstance(addon, dict) else "an add-on"
    return LiveDrain(
        id=str(doc.get("id") or ""),
        token=str(doc.get("token") or ""),
        addon=owner if addon else None,
        where=shown(url),
        url=url,
    )


# --- apply ------------------------------------------------------------------------------------


def _apply(run: AppRun, changes: list[Change]) -> None:
    # New drains first, then the old ones go: a changed URL loses no log line.
    todo = sorted(changes, key=lambda c: c.action != "create")
    run.each(
        todo, lambda run, change: (_add if change.action == "create" else _remove)(run, change)
    )


def _add(run: AppRun, change: Change) -> None:
    from herokustack.applier import ApplyError
    from herokustack.client import ApiError

    key = str(change.params.get("key"))
    entry = run.config.get(key)
    if entry is None or secret_hash(run.key, HASH_NAME, entry.value) != change.params.get(
        "url_hash"
    ):
        raise ApplyError(
            f"{key}: the drain URL is not the one planned "
            "(its environment variable changed or is missing)"
        )
    url = entry.value
    run.client.redact.add(url)
    try:
        run.client.request("POST", _path(run.app), {"url": url})
    except ApiError as exc:
        # No answer: the drain may have been added; read again rather than add it twice.
        if not exc.ambiguous or not any(d.get("url") == url for d in _list(run)):
            raise


def _list(run: AppRun) -> list[Any]:
    return run.client.get_list(_path(run.app))


def _remove(run: AppRun, change: Change) -> None:
    run.client.request("DELETE", _path(run.app, str(change.params.get("id"))))


# --- the kind ---------------------------------------------------------------------------------


class Drains(Kind):
    name = "drains"
    resource = "drain"
    label = "drain"
    read_cost = "1 request: GET /apps/{app}/log-drains, only for apps that declare drains"
    section = "drains"
    section_model = list[DrainSpec]
    section_description = (
        'Log drains, each { url = "syslog+tls://..." } or { url = { from_env = "VAR" } }: '
        "declared (even empty), they are the app's drains (add-ons' drains aside). Not "
        "declared: not managed."
    )
    expected = {
        "drains": 'an array of tables like [[drains]] url = { from_env = "LOG_DRAIN_URL" }',
        "drains.*": "a table with a url",
        "drains.*.url": 'a drain URL string or a table like { from_env = "LOG_DRAIN_URL" }',
        "drains.*.url.from_env": "an environment variable name: letters, digits and _, "
        "not starting with a digit",
    }
    models_at = {"drains.*": DrainSpec, "drains.*.url": FromEnv}
    named = frozenset({("drains",)})
    hidden_values = frozenset({"drains.*.url"})

    def declared(self, spec: StackFile) -> bool:
        return getattr(spec, self.section, None) is not None

    def _specs(self, spec: StackFile) -> list[DrainSpec]:
        return list(getattr(spec, self.section, None) or [])

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        seen: dict[str, int] = {}
        for i, drain in enumerate(self._specs(spec)):
            url = drain.url
            mark = url if isinstance(url, str) else f"env:{url.from_env}"
            if mark in seen:
                first = f"drains[{seen[mark]}]"
                problems.append(
                    ((self.section, i, "url"), f"the same URL as {first}")
                    if isinstance(url, str)
                    else (
                        (self.section, i, "url", "from_env"),
                        f"environment variable {url.from_env} already gives the URL of {first}",
                    )
                )
            seen.setdefault(mark, i)
        return problems

    def resolved_values(self, spec: StackFile) -> list[tuple[Loc, Any]]:
        return [((self.section, i, "url"), d.url) for i, d in enumerate(self._specs(spec))]

    def env_names(self, spec: StackFile) -> list[str]:
        return sorted({d.url.from_env for d in self._specs(spec) if isinstance(d.url, FromEnv)})

    # -- live state ---------------------------------------------------------------------------

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        drains = tuple(_live(doc) for doc in client.get_list(_path(app)))
        client.redact.add(*(d.url for d in drains))
        return {self.name: drains}

    def managed(self, live: LiveState) -> list[LiveDrain]:
        """The live drains herokustack manages: those no add-on made."""
        return [d for d in self.facts(live) or () if d.addon is None]

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        wanted = self._wanted(ctx)
        pool = self.managed(ctx.live)
        missing: list[Wanted] = []
        for want in (w for w in wanted if w.digest is not None):
            match = next((d for d in pool if self._digest(ctx, d.url) == want.digest), None)
            if match is None:
                missing.append(want)
            else:
                pool.remove(match)
        for want in (w for w in wanted if w.digest is None):
            # Its variable is unset (drift): any drain left over may be it; only presence counts.
            if pool:
                pool.pop(0)
            else:
                missing.append(want)
        pairs = list(zip(pool, missing, strict=False))
        for old, new in pairs:
            self._destroy(ctx, old, f"URL changed: removed once drain {new.label} is added "
                          "(Heroku has no drain update)")  # fmt: skip
            self._create(ctx, new, f"replaces drain {old.where} (Heroku has no drain update)")
        for new in missing[len(pairs) :]:
            self._create(ctx, new, None)
        for old in pool[len(pairs) :]:
            self._destroy(ctx, old, "not declared")

    @staticmethod
    def _digest(ctx: PlanContext, url: str) -> str:
        return secret_hash(ctx.key, HASH_NAME, url)

    def _wanted(self, ctx: PlanContext) -> list[Wanted]:
        wanted: list[Wanted] = []
        problems: list[str] = []
        seen: dict[str, int] = {}
        for i, drain in enumerate(self._specs(ctx.spec)):
            loc: Loc = (self.section, i, "url")
            key = key_text(loc)
            label = drain.url.from_env if isinstance(drain.url, FromEnv) else shown(drain.url)
            entry = ctx.config.get(key)
            if entry is None:
                if not (isinstance(drain.url, FromEnv) and drain.url.optional):
                    wanted.append(Wanted(label, None, key))
                continue  # an optional URL whose variable is unset: not declared this time
            where = f"{ctx.stack.locate(loc)[0]}: {key}"
            problem = url_problem(entry.value)
            if problem and isinstance(drain.url, FromEnv):
                problems.append(f"{where}: environment variable {label} does not hold {EXPECTED}")
                continue
            digest = self._digest(ctx, entry.value)
            if digest in seen:
                problems.append(f"{where}: the same URL as drains[{seen[digest]}] "
                                "(Heroku has one drain per URL)")  # fmt: skip
            seen.setdefault(digest, i)
            wanted.append(Wanted(label, digest, key))
        if problems:
            raise StackFileError(problems)
        return wanted

    def _create(self, ctx: PlanContext, want: Wanted, note: str | None) -> None:
        params: dict[str, Any] = {"key": want.key}
        if want.digest is not None:
            params["url_hash"] = want.digest
        ctx.add("create", self.resource, want.label, sensitive=True, note=note, params=params)

    def _destroy(self, ctx: PlanContext, drain: LiveDrain, note: str) -> None:
        params = {"id": drain.id}
        ctx.add("destroy", self.resource, drain.label, sensitive=True, note=note, params=params)

    def steps(self) -> list[Step]:
        return [Step(35, "log drains", _apply)]  # once the app exists, before add-ons

    def body(self, change: Change) -> str:
        return ""  # a URL is never shown: `what` says all there is

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.action == "create":
            return {"kind": "missing"}
        return {"kind": "undeclared", "note": "apply removes it"}

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        if self.declared(ctx.stack.spec):
            return []  # the planner already reports what differs
        return [
            {"kind": "undeclared", "name": d.label, "sensitive": True,
             "note": "apply leaves it (no drains in the stack file)"}
            for d in self.managed(ctx.live)
        ]  # fmt: skip

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        live = builder.live
        config = doc.get("config") or {}
        taken = set(live.config) | {v["from_env"] for v in config.values() if isinstance(v, dict)}
        entries: list[dict[str, Any]] = []
        for drain in self.facts(live) or ():
            if drain.addon is not None:
                builder.note(self.section, f"the log drain of add-on {drain.addon} is left out "
                             "(the add-on owns it)")  # fmt: skip
                continue
            env = _free_name(taken, len(entries))
            taken.add(env)
            builder.note(self.section, f"set {env} to the URL of drain {drain.label}: "
                         f"`heroku drains -a {live.name}` shows it")  # fmt: skip
            entries.append({"url": {"from_env": env}})
        if entries:
            doc[self.section] = entries

    def write_section(self, doc: Any, values: Any, notes: Sequence[str]) -> None:
        import tomlkit

        # A drain's own note (which URL its variable must hold) goes in its table.
        def own(entry: Mapping[str, Any]) -> list[str]:
            env = entry["url"].get("from_env") if isinstance(entry["url"], dict) else None
            return [n for n in notes if env and n.startswith(f"set {env} ")]

        entries = list(values or [])
        toml_comments(doc, [n for n in notes if not any(n in own(e) for e in entries)])
        if not entries:
            return
        tables = tomlkit.aot()
        for entry in entries:
            table = tomlkit.table()
            toml_comments(table, own(entry))
            url = entry["url"]
            table["url"] = toml_inline(url) if isinstance(url, dict) else url
            tables.append(table)
        doc[self.section] = tables

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        if self.facts(live) is None:
            return {}
        return {"drains": sorted(d.id for d in self.managed(live))}

    def touched_parts(self, change: Change) -> list[str]:
        return ["drains"]

    def part_label(self, name: str) -> str:
        return "log drains"


def _free_name(taken: set[str], count: int) -> str:
    """LOG_DRAIN_URL, LOG_DRAIN_URL_2, ...: the first not taken (by a config var, say)."""
    number = count + 1
    while True:
        name = ENV_NAME if number == 1 else f"{ENV_NAME}_{number}"
        if name not in taken:
            return name
        number += 1


KIND = Drains()
