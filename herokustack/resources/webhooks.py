"""App webhooks: the `[[webhooks]]` tables of a stack file, one per receiver.

    [[webhooks]]
    url = "https://ci.example.com/heroku"          # or { from_env = "DEPLOY_HOOK_URL" }
    include = ["api:release", "api:build"]
    level = "sync"                                 # notify (default): one attempt; sync: retried
    secret = { from_env = "WEBHOOK_SECRET" }       # signs each notification (HMAC-SHA256)
    authorization = { from_env = "WEBHOOK_AUTH" }  # sent as the Authorization header

Declared (even as `webhooks = []`), the list is authoritative. A webhook is identified by its
URL: a declared one missing on Heroku is created (`POST /apps/{app}/webhooks`), one whose
`include` or `level` differ is updated in place (`PATCH /apps/{app}/webhooks/{id}`), a live one
not declared is removed (`DELETE`); apply does so after the app exists and before add-ons,
config and formation, so their events reach the new webhooks. Not declared: plan does not read
them (no request) and apply never touches them; drift shows them as undeclared, import writes
them. Reading costs one request, `GET /apps/{app}/webhooks`.

URLs may carry tokens. A literal URL is shown as written. One from the environment is compared
with the live URLs in memory only, shown as scheme and host (`https://hooks.example.com/…
(HOOK_URL)`), and a planned creation holds only its keyed hash (`secret_hash`), checked again
at apply. A live URL the file does not write literally is shown the same way, with its id.
Its variable must be set for plan and drift: without it the webhook cannot be told apart.

Secrets: `secret` and `authorization` are only `{ from_env = ... }` (a literal is a validate
error). Heroku never answers either (the schema's app-webhook has neither field), so they cannot
be compared: herokustack sends them once, when it creates the webhook, and never afterwards
(an update sends include and level only); the plan line of a webhook says so in its note. A
planned creation holds keyed hashes of them, never the values, and apply refuses when the
environment then holds other values. A creation whose secret variable is not set is refused
(`!`), not half done. To rotate a secret: `PATCH` it by hand, or remove the entry, apply, add
it back and apply. Without `secret`, Heroku makes one up and answers it once in a response
header, which herokustack never reads.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field

from herokustack.errors import StackFileError
from herokustack.facts import Live
from herokustack.resources.base import (
    Change,
    DriftContext,
    ImportProblem,
    Kind,
    Loc,
    PlanContext,
    Step,
    Strict,
    key_text,
    rules,
    secret_hash,
    write_tables,
)
from herokustack.resources.config_vars import ConfigField, FromEnv
from herokustack.secrets_rule import secret_reason

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

# The entities of Heroku's app webhooks (Dev Center, "App Webhooks"; the schema's `include` is
# any string). Keep in step with the emulator (herokustack/emulator/models/webhooks.py).
Entity = Literal[
    "api:addon-attachment",
    "api:addon",
    "api:app",
    "api:build",
    "api:collaborator",
    "api:domain",
    "api:dyno",
    "api:formation",
    "api:release",
    "api:sni-endpoint",
    "dyno",
]
ENTITIES: tuple[str, ...] = get_args(Entity)
Level = Literal["notify", "sync"]
LEVELS: tuple[str, ...] = get_args(Level)
HTTP_URL = re.compile(r"^https?://[^\s/?#]+(?:[/?#]\S*)?$")
SECRETS = ("secret", "authorization")
SECRET_TABLE = 'a table like { from_env = "WEBHOOK_SECRET" }'
URL_EXAMPLE = '"https://example.com/hooks"'


def _secret_table(value: Any) -> Any:
    # Never echo the value: a string here is a secret written in clear.
    if value is None or isinstance(value, dict | FromEnv):
        return value
    raise rules([((), f"must be {SECRET_TABLE}: a secret is never written in a stack file")])


SecretRef = Annotated[FromEnv | None, BeforeValidator(_secret_table)]


class WebhookSpec(Strict):
    """An app webhook: where Heroku sends notifications of the entities in `include`."""

    url: ConfigField = Field(
        description='The receiver\'s URL, or { from_env = "VAR" } when it carries a token '
        "(then never printed). Identifies the webhook."
    )
    include: list[Entity] = Field(
        description="The entities notified of: " + ", ".join(ENTITIES) + "."
    )
    level: Level = Field(
        default="notify",
        description="notify: one delivery attempt; sync: retried until it succeeds.",
    )
    secret: SecretRef = Field(
        default=None,
        description='{ from_env = "VAR" }: signs each notification (Heroku-Webhook-Hmac-SHA256). '
        "Sent when the webhook is created only: Heroku never returns it.",
    )
    authorization: SecretRef = Field(
        default=None,
        description='{ from_env = "VAR" }: sent as the Authorization header of each '
        "notification. Sent when the webhook is created only: Heroku never returns it.",
    )


class LiveWebhook(Live):
    id: str
    url: str = Field(repr=False, exclude=True)  # may carry a token: never shown whole
    include: tuple[str, ...]
    level: str
    created_at: str = ""


@dataclass(frozen=True)
class Declared:
    """A declared webhook with its URL resolved (a secret when it came from the environment)."""

    spec: WebhookSpec
    url: str
    label: str  # how plan and drift lines name it


def masked(url: str) -> str:
    """`https://hooks.example.com/…`: scheme and host only (no user, path or query)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if _port(parts) else ""
    return f"{parts.scheme}://{host}{port}/…"


def _port(parts: Any) -> int | None:
    try:
        return int(parts.port) if parts.port else None
    except ValueError:
        return None


def live_label(hook: LiveWebhook) -> str:
    return f"{masked(hook.url)} (id {hook.id[:8]})"


def url_looks_secret(url: str) -> bool:
    """Whether a live URL may carry a credential (import writes it from_env then)."""
    parts = urlsplit(url)
    if parts.username or parts.password or parts.query or parts.fragment:
        return True
    return any(secret_reason("", segment) for segment in parts.path.split("/"))


def shown(hook: Mapping[str, Any]) -> str:
    """`api:build, api:release (sync)`."""
    return f"{', '.join(hook['include'])} ({hook['level']})"


def _wanted(spec: WebhookSpec) -> dict[str, Any]:
    return {"include": sorted(spec.include), "level": spec.level}


def _had(hook: LiveWebhook) -> dict[str, Any]:
    return {"include": sorted(hook.include), "level": hook.level}


def _hash_name(label: str, field: str) -> str:
    return f"webhooks:{label}:{field}"


def _path(app: str, webhook_id: str | None = None) -> str:
    from herokustack.client import app_path, path_segment  # only when reading or writing

    base = f"{app_path(app)}/webhooks"
    return f"{base}/{path_segment(webhook_id, 'webhook id')}" if webhook_id else base


def _parse(doc: Mapping[str, Any]) -> LiveWebhook:
    include = doc.get("include")
    return LiveWebhook(
        id=str(doc.get("id") or ""),
        url=str(doc.get("url") or ""),
        include=tuple(str(e) for e in include) if isinstance(include, list) else (),
        level=str(doc.get("level") or ""),
        created_at=str(doc.get("created_at") or ""),
    )


# --- apply -------------------------------------------------------------------------------------


def _apply(run: AppRun, changes: list[Change]) -> None:
    # Creations and updates first, removals last: a creation Heroku refuses never follows one.
    ordered = [c for c in changes if c.action != "destroy"]
    ordered += [c for c in changes if c.action == "destroy"]
    run.each(ordered, _apply_one)


def _apply_one(run: AppRun, change: Change) -> None:
    from herokustack.client import ApiError

    client, webhook_id = run.client, change.params.get("id")
    if change.action == "create":
        _create(run, change)
    elif change.action == "update":
        body = {"include": change.after["include"], "level": change.after["level"]}
        client.request("PATCH", _path(run.app, webhook_id), body)
    else:
        try:
            client.request("DELETE", _path(run.app, webhook_id))
        except ApiError as exc:  # already gone (a retried DELETE that had succeeded): done
            if not (exc.status == 404 and exc.error_id == "not_found" and exc.resource != "app"):
                raise


def _create(run: AppRun, change: Change) -> None:
    params = change.params
    url = params["url"] if "url" in params else _from_env(run, change, "url")
    body: dict[str, Any] = {"url": url, **change.after}
    for field in SECRETS:
        if f"{field}_env" in params:
            body[field] = _from_env(run, change, field)
    path = _path(run.app)

    def send() -> bool:
        run.client.request("POST", path, body)
        return True

    def existing() -> bool | None:  # after an answer that never came: was it created?
        return True if any(h.get("url") == url for h in run.client.get_list(path)) else None

    run.client._post_once(send, existing)


def _from_env(run: AppRun, change: Change, field: str) -> str:
    """The planned value of a variable: refused when it changed (or is gone) since plan."""
    from herokustack.applier import ApplyError

    variable = change.params[f"{field}_env"]
    value = os.environ.get(variable)
    digest = change.params.get(f"{field}_hash")
    if value is None or secret_hash(run.key, _hash_name(change.name, field), value) != digest:
        raise ApplyError(
            f"webhook {change.name}: {field}: environment variable {variable} is not set or "
            "holds another value than when the plan was made"
        )
    run.client.redact.add(value)
    return value


# --- the kind ----------------------------------------------------------------------------------


class Webhooks(Kind):
    name = "webhooks"
    resource = "webhook"
    label = "webhook"
    read_cost = "1 request: GET /apps/{app}/webhooks, only for apps that declare webhooks"
    section = "webhooks"
    section_model = list[WebhookSpec]
    section_description = (
        "App webhooks ([[webhooks]]: url, include, level, secret, authorization), identified "
        "by url. Declared (even empty), exactly these exist; not declared: not managed."
    )
    expected = {
        "webhooks": "an array of tables like { url = ..., include = [...] }",
        "webhooks.*": "a table like { url = ..., include = [...] }",
        "webhooks.*.url": f'a URL like {URL_EXAMPLE} or a table like {{ from_env = "HOOK_URL" }}',
        "webhooks.*.url.from_env": "an environment variable name: letters, digits and _, "
        "not starting with a digit",
        "webhooks.*.include": 'an array of entities like ["api:release"]',
        "webhooks.*.include.*": "one of " + ", ".join(ENTITIES),
        "webhooks.*.level": "notify or sync",
        "webhooks.*.secret": SECRET_TABLE,
        "webhooks.*.authorization": SECRET_TABLE,
        "webhooks.*.secret.from_env": "an environment variable name: letters, digits and _, "
        "not starting with a digit",
        "webhooks.*.authorization.from_env": "an environment variable name: letters, digits "
        "and _, not starting with a digit",
    }
    models_at = {
        "webhooks.*": WebhookSpec,
        "webhooks.*.url": FromEnv,
        "webhooks.*.secret": FromEnv,
        "webhooks.*.authorization": FromEnv,
    }
    named = frozenset({("webhooks",), ("webhooks", "*", "include")})
    choices = {"webhooks.*.level": LEVELS, "webhooks.*.include.*": ENTITIES}

    def declared(self, spec: StackFile) -> bool:
        # `webhooks = []` declares that the app has none (an absent key leaves them alone).
        return self.section in spec.model_fields_set

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        seen: dict[tuple[str, str], int] = {}
        for i, hook in enumerate(getattr(spec, self.section, [])):
            problems += _url_problems(i, hook.url, seen)
            if not hook.include:
                msg = 'at least one entity, like "api:release"'
                problems.append(((self.section, i, "include"), msg))
            for j, entity in enumerate(hook.include):
                if entity in hook.include[:j]:
                    first = hook.include.index(entity)
                    msg = f"{entity} is already include[{first}]"
                    problems.append(((self.section, i, "include", j), msg))
        return problems

    # -- live state ---------------------------------------------------------------------------

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        hooks = tuple(_parse(doc) for doc in client.get_list(_path(app)))
        client.redact.add(*(h.url for h in hooks))  # a Heroku message may quote one
        return {self.name: hooks}

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        declared = _resolve(ctx)
        left = {hook.url: hook for hook in self.facts(ctx.live) or ()}
        for item in declared:
            have = left.pop(item.url, None)
            if have is None:
                _plan_create(ctx, item)
                continue
            before, after = _had(have), _wanted(item.spec)
            if before != after:
                ctx.add("update", self.resource, item.label, before=before, after=after,
                        note=_kept_note(item.spec), params={"id": have.id})  # fmt: skip
        for hook in left.values():
            ctx.add("destroy", self.resource, live_label(hook), before=_had(hook),
                    note="not in the stack file", params={"id": hook.id})  # fmt: skip

    def steps(self) -> list[Step]:
        # After the app exists (10, 30), before add-ons (40), config (50) and formation (80):
        # the new webhooks hear of what apply does next.
        return [Step(35, "webhooks", _apply)]

    # -- text ---------------------------------------------------------------------------------

    def body(self, change: Change) -> str:
        if change.action == "update":
            parts = []
            if change.before["include"] != change.after["include"]:
                was, now = ", ".join(change.before["include"]), ", ".join(change.after["include"])
                parts.append(f"include {was} → {now}")
            if change.before["level"] != change.after["level"]:
                parts.append(f"level {change.before['level']} → {change.after['level']}")
            return ": " + "; ".join(parts)
        return f": {shown(change.after if change.after else change.before)}"

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.action == "destroy":
            return {"kind": "undeclared", "live": shown(change.before), "note": "apply removes it"}
        if change.action == "update":
            live, declared = shown(change.before), shown(change.after)
            return {"kind": "changed", "live": live, "declared": declared}
        return {"kind": "missing", "declared": shown(change.after)}

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        if self.declared(ctx.stack.spec):
            return []  # the planner already reports what differs
        return [
            {
                "kind": "undeclared",
                "name": live_label(hook),
                "live": shown(_had(hook)),
                "note": "apply leaves it (webhooks not declared)",
            }
            for hook in self.facts(ctx.live) or ()
        ]

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        hooks = sorted(self.facts(builder.live) or (), key=lambda h: (h.created_at, h.url))
        entries = [_import_one(builder, n, hook) for n, hook in enumerate(hooks, 1)]
        if entries:
            doc[self.section] = entries
            builder.note(
                self.section,
                "secret: a placeholder (Heroku never returns it); "
                "sent only when a webhook is created",
            )

    def import_minimal(self, full: Mapping[str, Any], minimal: dict[str, Any]) -> None:
        written = minimal.get(self.section) or []
        for entry, table in zip(full.get(self.section) or [], written, strict=True):
            table["level"] = entry["level"]  # said even when it is the default

    def write_section(self, doc: Any, values: Any, notes: Sequence[str]) -> None:
        write_tables(doc, self.section, list(values or []), WebhookSpec, notes)

    def env_names(self, spec: StackFile) -> list[str]:
        # The URLs' variables: needed by every plan. The secrets' only to create a webhook.
        hooks = getattr(spec, self.section, [])
        return sorted({h.url.from_env for h in hooks if isinstance(h.url, FromEnv)})

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        hooks = self.facts(live)
        if hooks is None:
            return {}
        return {"webhooks": sorted([h.id, h.url, sorted(h.include), h.level] for h in hooks)}

    def touched_parts(self, change: Change) -> list[str]:
        return ["webhooks"]

    def part_label(self, name: str) -> str:
        return "webhooks"


# --- plan helpers ------------------------------------------------------------------------------


def _url_problems(i: int, url: str | FromEnv, seen: dict[tuple[str, str], int]) -> list[Any]:
    loc: Loc = ("webhooks", i, "url")
    if isinstance(url, FromEnv):
        key = ("env", url.from_env)
        if url.optional:
            msg = "cannot be optional: without its URL the webhook cannot be told from others"
            return [((*loc, "optional"), msg)]
    else:
        key = ("url", url)
        if not HTTP_URL.match(url):
            return [(loc, f"must be an http(s) URL like {URL_EXAMPLE}, got {json.dumps(url)}")]
    if key in seen:
        what = "from_env " + key[1] if key[0] == "env" else key[1]
        return [(loc, f"{what} is already webhooks[{seen[key]}].url")]
    seen[key] = i
    return []


def _resolve(ctx: PlanContext) -> list[Declared]:
    """The declared webhooks, their URLs read from the environment; StackFileError when a
    variable is not set or two entries give one URL (never quoting a URL from the environment)."""
    found: list[Declared] = []
    problems: list[str] = []
    first: dict[str, int] = {}
    for i, spec in enumerate(ctx.spec.webhooks):
        loc: Loc = ("webhooks", i, "url")
        where = f"{ctx.stack.locate(loc)[0]}: {key_text(loc)}"
        if isinstance(spec.url, str):
            url, label = spec.url, spec.url
        else:
            variable = spec.url.from_env
            value = os.environ.get(variable)
            if value is None or not HTTP_URL.match(value):
                why = "is not set" if value is None else "does not hold an http(s) URL"
                problems.append(f"{where}: environment variable {variable} {why}")
                continue
            url, label = value, f"{masked(value)} ({variable})"
        if url in first:
            problems.append(f"{where}: the same URL as webhooks[{first[url]}].url")
            continue
        first[url] = i
        found.append(Declared(spec, url, label))
    if problems:
        raise StackFileError(problems)
    return found


def _plan_create(ctx: PlanContext, item: Declared) -> None:
    spec, params = item.spec, {}
    if isinstance(spec.url, str):
        params["url"] = item.url
    else:
        params["url_env"] = spec.url.from_env
        params["url_hash"] = secret_hash(ctx.key, _hash_name(item.label, "url"), item.url)
    missing, sent = [], []
    for field in SECRETS:
        ref: FromEnv | None = getattr(spec, field)
        if ref is None:
            continue
        value = os.environ.get(ref.from_env)
        if value is None:
            if not ref.optional:
                missing.append(ref.from_env)
            continue
        params[f"{field}_env"] = ref.from_env
        params[f"{field}_hash"] = secret_hash(ctx.key, _hash_name(item.label, field), value)
        sent.append(field)
    if missing:
        why = f"{' and '.join(missing)} not set: a webhook's secrets are only sent at creation"
        ctx.add("refused", "webhook", item.label, after=_wanted(spec), note=why)
        return
    note = f"{', '.join(sent)}: sent at creation only" if sent else None
    ctx.add("create", "webhook", item.label, after=_wanted(spec), note=note, params=params)


def _kept_note(spec: WebhookSpec) -> str | None:
    kept = [field for field in SECRETS if getattr(spec, field) is not None]
    if not kept:
        return None
    return f"{', '.join(kept)}: set at creation; not comparable (Heroku never returns them)"


def _import_one(builder: Builder, number: int, hook: LiveWebhook) -> dict[str, Any]:
    where = f"app {builder.live.name}: webhooks[{number - 1}]"
    unknown = [e for e in hook.include if e not in ENTITIES]
    if unknown or hook.level not in LEVELS or not hook.include:
        what = f"entity {unknown[0]!r}" if unknown else f"level {hook.level!r}"
        raise ImportProblem(f"{where}: {what} cannot be declared (stack files take "
                            f"{', '.join(ENTITIES)}; notify or sync)")  # fmt: skip
    suffix = "" if number == 1 else f"_{number}"
    url: Any = hook.url
    if url_looks_secret(hook.url) or not HTTP_URL.match(hook.url):
        url = {"from_env": f"WEBHOOK_URL{suffix}"}
        builder.note(
            "webhooks",
            f"webhooks[{number - 1}]: the URL ({masked(hook.url)}) may carry a token: "
            f"set WEBHOOK_URL{suffix} to it",
        )
    return {
        "url": url,
        "include": sorted(hook.include),
        "level": hook.level,
        "secret": {"from_env": f"WEBHOOK_SECRET{suffix}"},
    }


KIND = Webhooks()
