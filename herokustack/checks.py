"""Production-readiness checks: rules run on stack files (and, when given, on live state).

Each rule is a small function registered with an ID, a severity, a title, a "why" and a fix.
It yields `Hit`s (key path + message); `run_checks` turns them into `Finding`s with the file
line, and marks those silenced by a suppression (`# herokustack:ignore HS006 -- reason` in the
stack file, or `[checks] ignore = [{ id = "HS006", reason = "..." }]`).

Messages name config vars but never print their values: a finding can end up in a PR comment.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from herokustack import facts, tls
from herokustack.client import HerokuClient
from herokustack.resources import certs, drains, read_apps
from herokustack.secrets_rule import (  # noqa: F401 -- the rule's names, as `check` has them
    HEX,
    SECRET_NAME,
    TOKEN_PREFIXES,
    URL_WITH_PASSWORD,
    secret_reason,
    shannon_entropy,
    url_secret_reason,
)
from herokustack.stackfile import (
    CURRENT_STACK,
    STACKS,
    Stack,
    load_stacks,
    plural,
    stack_paths,
)

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}

DEFAULT_STACK = CURRENT_STACK
# Offline stack states; `GET /stacks` replaces them with --live. "container" is for Docker apps.
BUILTIN_STACK_STATES: dict[str, str] = {
    "heroku-16": "retired",
    "heroku-18": "retired",
    **STACKS,
    "container": "public",
}
DEPRECATED_STATES = frozenset({"deprecated", "retired", "end-of-life"})

# Add-on services (the part before ":" in `plan`) and config vars each rule looks for.
POSTGRES = "heroku-postgresql"
LOG_SERVICES = frozenset(
    {"papertrail", "logtail", "sumologic", "logdna", "mezmo", "loggly", "logentries",
     "coralogix", "sematext-logsene", "solarwinds", "timber-logging", "better-stack"}
)  # fmt: skip
ERROR_SERVICES = frozenset({"sentry", "honeybadger", "rollbar", "bugsnag", "airbrake", "raygun"})
ERROR_VARS = frozenset({"SENTRY_DSN", "HONEYBADGER_API_KEY", "ROLLBAR_ACCESS_TOKEN"})
APM_SERVICES = frozenset({"scout", "newrelic", "appsignal", "skylight"})
APM_VARS = frozenset({"NEW_RELIC_LICENSE_KEY", "SCOUT_KEY", "DD_API_KEY", "APPSIGNAL_PUSH_API_KEY"})
BROKER_SERVICES = frozenset(
    {"heroku-redis", "rediscloud", "redistogo", "redisgreen", "stackhero-redis", "cloudamqp",
     "stackhero-rabbitmq", "heroku-kafka", "cloudkarafka", "memetria-kv"}
)  # fmt: skip
BROKER_VARS = frozenset(
    {"REDIS_URL", "REDIS_TLS_URL", "CLOUDAMQP_URL", "RABBITMQ_URL", "BROKER_URL",
     "CELERY_BROKER_URL", "KAFKA_URL"}
)  # fmt: skip
TRAFFIC_PROCESSES = ("web", "worker")
WORKER_PROCESSES = frozenset({"worker", "celery", "sidekiq", "rq", "jobs", "queue"})
SMALL_DYNOS = frozenset({"eco", "basic", "free", "hobby"})
ESSENTIAL_PG = ("essential", "mini", "basic", "hobby")
DEPLOYED = frozenset({"production", "staging"})


# --- findings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one app; `suppressed` holds the reason when a suppression applies."""

    rule_id: str
    severity: Severity
    app: str
    path: Path
    key_path: str | None
    line: int | None
    message: str
    suppressed: str | None = None
    stack_path: Path | None = None  # the app's own stack file (`path` may be a partial)


@dataclass(frozen=True)
class Hit:
    """What a rule function reports: where (a key path) and what; severity overrides the rule's."""

    key_path: str
    message: str
    severity: Severity | None = None


# --- live state -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveAddon:
    name: str
    service: str
    plan: str = ""
    owned: bool = True  # False for an add-on of another app that is only attached here


@dataclass(frozen=True)
class LiveApp:
    """What the live-aware rules read about one running app."""

    addons: tuple[LiveAddon, ...] = ()
    log_drains: int = 0
    owner: str = ""  # the owner's email ("" when not known)
    team: str | None = None  # the Heroku Team that owns it, None for a personal app
    domains: tuple[str, ...] | None = None  # custom domains; None: not read
    acm: bool | None = None
    certificates: tuple[certs.LiveCert, ...] | None = None  # SNI endpoints; None: not read


@dataclass(frozen=True)
class LiveState:
    """Live facts for `run_checks`: stack states from `GET /stacks` and apps by name."""

    apps: Mapping[str, LiveApp] = field(default_factory=dict)
    stack_states: Mapping[str, str] = field(default_factory=dict)
    default_stack: str | None = None


# --- rule context ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    stack: Stack
    live_app: LiveApp | None = None
    stack_states: Mapping[str, str] = field(default_factory=lambda: BUILTIN_STACK_STATES)
    default_stack: str = DEFAULT_STACK

    @property
    def env(self) -> str:
        return self.stack.spec.app.environment

    @property
    def config(self) -> Mapping[str, object]:
        return self.stack.spec.config

    def literal(self, name: str) -> str | None:
        value = self.config.get(name)
        return value if isinstance(value, str) else None

    def services(self) -> set[str]:
        declared = {addon.service for addon in self.stack.spec.addons.values()}
        live = {addon.service for addon in self.live_app.addons} if self.live_app else set()
        return declared | live

    def has_any(self, services: frozenset[str], config_vars: frozenset[str] = frozenset()) -> bool:
        return bool(self.services() & services) or any(name in self.config for name in config_vars)


RuleFunc = Callable[[Context], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    why: str
    fix: str
    check: RuleFunc
    messages: tuple[str, ...] = ()  # the message forms, `<...>` standing for names and values
    scope: str = "all"  # the environments the rule looks at
    severity_note: str = ""
    live_only: bool = False


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str,
    severity: Severity,
    title: str,
    *,
    why: str,
    fix: str,
    messages: tuple[str, ...],
    scope: str,
    severity_note: str = "",
    live_only: bool = False,
) -> Callable[[RuleFunc], RuleFunc]:
    def register(func: RuleFunc) -> RuleFunc:
        RULES[rule_id] = Rule(
            rule_id, severity, title, why, fix, func, messages, scope, severity_note, live_only
        )
        return func

    return register


# HS000 is not a check function: `run_checks` reports broken suppressions under it.
SUPPRESSION_RULE = "HS000"
RULES[SUPPRESSION_RULE] = Rule(
    SUPPRESSION_RULE,
    "error",
    "Invalid suppression",
    why="A suppression must say why the advice does not apply, and name a rule that exists; "
    "otherwise nobody can review it and a typo silently suppresses nothing.",
    fix='Write `# herokustack:ignore HS006 -- reason` or `[checks] ignore = [{ id = "HS006", '
    'reason = "..." }]` with a known rule ID (see `herokustack check --list`).',
    check=lambda ctx: (),
    messages=(
        "unknown directive herokustack:<word> (write `herokustack:ignore`)",
        "suppression names no rule",
        "suppression names unknown rule <id>",
        "suppression of <id> gives no reason (write `-- reason`)",
    ),
)


# --- the rules ------------------------------------------------------------------------------


@rule(
    "HS001",
    "error",
    "Production process without redundancy",
    scope="production",
    messages=(
        "`<process>` runs 1 dyno; production needs at least 2",
        "`<process>` runs 0 dynos; production needs at least 2",
    ),
    why="A single dyno is a single point of failure: every deploy, daily restart or dyno "
    "failure takes the process type down. Heroku advises at least two dynos in production.",
    fix="Set `quantity = 2` (or more) for the `web` and `worker` process types in `[formation]`.",
)
def _single_dyno(ctx: Context) -> Iterator[Hit]:
    if ctx.env != "production":
        return
    for ptype in TRAFFIC_PROCESSES:
        spec = ctx.stack.spec.formation.get(ptype)
        if spec is not None and spec.quantity < 2:
            yield Hit(
                f"formation.{ptype}.quantity",
                f"`{ptype}` runs {plural(spec.quantity, 'dyno')}; production needs at least 2",
            )


@rule(
    "HS002",
    "error",
    "Production formation on eco or basic dynos",
    scope="production",
    messages=("`<process>` runs on <size> dynos, which cannot scale out in production",),
    why="Eco dynos sleep and basic dynos cannot scale beyond one dyno: neither can serve "
    "production traffic reliably or scale horizontally.",
    fix='Use `size = "standard-1x"`, `standard-2x` or a `performance-*` size in production.',
)
def _small_dynos(ctx: Context) -> Iterator[Hit]:
    if ctx.env != "production":
        return
    for ptype, spec in ctx.stack.spec.formation.items():
        if spec.size.lower() in SMALL_DYNOS:
            yield Hit(
                f"formation.{ptype}.size",
                f"`{ptype}` runs on {spec.size} dynos, which cannot scale out in production",
            )


@rule(
    "HS003",
    "warning",
    "Stack is not the current default",
    scope="all",
    messages=(
        "stack <stack> is not the current default (<default>)",
        "stack <stack> is <state>",
        "stack <stack> is not a known Heroku stack",
    ),
    severity_note="error when the stack is deprecated or retired",
    why="Older stacks stop receiving security updates; on a deprecated or retired stack "
    "builds fail and the app runs an unpatched operating system.",
    fix='Set `stack = "heroku-24"` in `[app]` and test a build on it (staging first).',
)
def _old_stack(ctx: Context) -> Iterator[Hit]:
    name = ctx.stack.spec.app.stack
    state = ctx.stack_states.get(name)
    if name == "container" or name == ctx.default_stack:
        return
    if state is None:
        yield Hit("app.stack", f"stack {name} is not a known Heroku stack")
    elif state in DEPRECATED_STATES:
        yield Hit("app.stack", f"stack {name} is {state}", "error")
    else:
        yield Hit("app.stack", f"stack {name} is not the current default ({ctx.default_stack})")


@rule(
    "HS004",
    "error",
    "Production Postgres on an essential plan",
    scope="production",
    messages=("Postgres `<addon>` is on <plan>",),
    why="Essential plans have no followers, no point-in-time rollback and no high "
    "availability, and their row and connection limits are small.",
    fix="Use a `heroku-postgresql:standard-0` plan or higher for production data.",
)
def _essential_postgres(ctx: Context) -> Iterator[Hit]:
    if ctx.env != "production":
        return
    for name, addon in ctx.stack.spec.addons.items():
        plan = addon.plan.partition(":")[2]
        if addon.service == POSTGRES and plan.startswith(ESSENTIAL_PG):
            yield Hit(f"addons.{name}.plan", f"Postgres `{name}` is on {addon.plan}")


@rule(
    "HS005",
    "error",
    "Postgres without a daily backup schedule",
    scope="production, staging",
    messages=("Postgres `<addon>` has no backup schedule",),
    severity_note="warning in staging",
    why="Without a schedule there is no recent logical backup to restore from after a bad "
    "migration or a deleted table, and continuous protection is not a substitute for that.",
    fix='Add `backups = { at = "02:00", timezone = "UTC" }` to the Postgres add-on.',
)
def _no_backups(ctx: Context) -> Iterator[Hit]:
    if ctx.env not in DEPLOYED:
        return
    severity: Severity = "error" if ctx.env == "production" else "warning"
    for name, addon in ctx.stack.spec.addons.items():
        if addon.service == POSTGRES and addon.backups is None:
            yield Hit(f"addons.{name}", f"Postgres `{name}` has no backup schedule", severity)


@rule(
    "HS006",
    "warning",
    "Staging app reachable from outside",
    scope="staging",
    messages=("staging app is not in maintenance mode",),
    why="Staging holds unreleased features and often copies of real data; nobody outside the "
    "team should reach it. Maintenance mode answers public requests with a 503.",
    fix="Set `maintenance = true` in `[app]` (the team uses `heroku run` or a preview URL), or "
    "suppress with a reason if staging is protected another way.",
)
def _public_staging(ctx: Context) -> Iterator[Hit]:
    if ctx.env == "staging" and not ctx.stack.spec.app.maintenance:
        yield Hit("app.maintenance", "staging app is not in maintenance mode")


@rule(
    "HS007",
    "warning",
    "No log destination",
    scope="production, staging",
    messages=("no logging add-on or log drain",),
    why="Heroku keeps only the last 1,500 log lines; without a drain or logging add-on the "
    "logs of an incident are gone before anyone reads them.",
    fix="Add a logging add-on (e.g. `papertrail`, `logtail`, `sumologic`) or declare a log drain.",
)
def _no_logs(ctx: Context) -> Iterator[Hit]:
    if ctx.env not in DEPLOYED or ctx.has_any(LOG_SERVICES) or ctx.stack.spec.drains:
        return
    if ctx.live_app and ctx.live_app.log_drains:
        return  # a live drain (of an add-on, or not declared) counts too
    yield Hit("addons", "no logging add-on or log drain")


@rule(
    "HS008",
    "warning",
    "No error monitoring",
    scope="production, staging",
    messages=("no error monitoring add-on or SENTRY_DSN",),
    why="Exceptions in production otherwise surface only as 500s in the router log; nobody is "
    "alerted and there is no stack trace.",
    fix="Add an error tracker add-on (`sentry`, `honeybadger`, `rollbar`) or set `SENTRY_DSN` "
    "(with `from_env`).",
)
def _no_error_tracking(ctx: Context) -> Iterator[Hit]:
    if ctx.env in DEPLOYED and not ctx.has_any(ERROR_SERVICES, ERROR_VARS):
        yield Hit("addons", "no error monitoring add-on or SENTRY_DSN")


@rule(
    "HS009",
    "info",
    "No performance monitoring in production",
    scope="production",
    messages=("no performance monitoring add-on",),
    why="Without an APM, slow endpoints and queries are found by users rather than by the team.",
    fix="Add `scout` or `newrelic` (or another APM add-on).",
)
def _no_apm(ctx: Context) -> Iterator[Hit]:
    if ctx.env == "production" and not ctx.has_any(APM_SERVICES, APM_VARS):
        yield Hit("addons", "no performance monitoring add-on")


@rule(
    "HS010",
    "warning",
    "Worker without a queue",
    scope="all",
    messages=("`<process>` has no queue or broker add-on",),
    why="A worker process needs a broker (Redis, RabbitMQ, Kafka) to take jobs from; without "
    "one declared, the worker either idles or depends on something nobody manages.",
    fix="Add `heroku-redis` (or another Redis/RabbitMQ add-on), or declare its URL with "
    "`from_env`.",
)
def _worker_without_broker(ctx: Context) -> Iterator[Hit]:
    workers = [p for p in ctx.stack.spec.formation if _is_worker(p)]
    if workers and not ctx.has_any(BROKER_SERVICES, BROKER_VARS):
        yield Hit(f"formation.{workers[0]}", f"`{workers[0]}` has no queue or broker add-on")


def _is_worker(ptype: str) -> bool:
    return ptype in WORKER_PROCESSES or ptype.startswith("worker")


@rule(
    "HS011",
    "error",
    "Literal secret in the stack file",
    scope="all",
    messages=(
        "config var <NAME> is a literal <reason>; use from_env",
        "add-on option <name> is a literal <reason>",
        "drain URL drains[<n>] is a literal URL with <reason>; use from_env",
    ),
    why="A stack file lives in git: a secret written in it is in every clone, fork and CI log "
    "forever, and rotating it means rewriting history.",
    fix='Replace the value with `{ from_env = "NAME" }` and set NAME in CI\'s secret store; '
    "rotate the exposed secret.",
)
def _literal_secrets(ctx: Context) -> Iterator[Hit]:
    for name, value in ctx.config.items():
        reason = secret_reason(name, value)
        if reason:
            yield Hit(f"config.{name}", f"config var {name} is a literal {reason}; use from_env")
    for addon_name, addon in ctx.stack.spec.addons.items():
        for key, value in addon.config.items():
            reason = secret_reason(key, value)
            if reason:
                where = f"addons.{addon_name}.config.{key}"
                yield Hit(where, f"add-on option {key} is a literal {reason}")
    for index, drain in enumerate(ctx.stack.spec.drains or ()):
        reason = url_secret_reason(drain.url) if isinstance(drain.url, str) else None
        if reason:
            where = f"drains[{index}]"
            yield Hit(
                f"{where}.url", f"drain URL {where} is a literal URL with {reason}; use from_env"
            )


@rule(
    "HS012",
    "error",
    "Unsafe Django settings",
    scope="production, staging (Django apps)",
    messages=(
        "<DEBUG> is true in production",
        "Django app without ALLOWED_HOSTS",
        "<ALLOWED_HOSTS> allows any host (*)",
    ),
    severity_note="warning when ALLOWED_HOSTS is missing or `*`",
    why="Django's DEBUG mode shows settings, source and SQL to anyone who triggers an error; "
    "ALLOWED_HOSTS `*` disables Host header validation (cache poisoning, password-reset links "
    "pointing elsewhere).",
    fix='Set `DEBUG = "False"` in production and list the app\'s domains in `ALLOWED_HOSTS`.',
)
def _django_settings(ctx: Context) -> Iterator[Hit]:
    if "DJANGO_SETTINGS_MODULE" not in ctx.config or ctx.env not in DEPLOYED:
        return
    for name in ("DEBUG", "DJANGO_DEBUG"):
        value = ctx.literal(name)
        if ctx.env == "production" and value is not None and _truthy(value):
            yield Hit(f"config.{name}", f"{name} is true in production")
    hosts_var = next(
        (n for n in ("ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS") if n in ctx.config), None
    )
    if hosts_var is None:
        yield Hit("config", "Django app without ALLOWED_HOSTS", "warning")
        return
    hosts = ctx.literal(hosts_var)
    if hosts is not None and "*" in re.split(r"[\s,]+", hosts.strip()):
        yield Hit(f"config.{hosts_var}", f"{hosts_var} allows any host (*)", "warning")


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "t", "y"}


@rule(
    "HS013",
    "warning",
    "WEB_CONCURRENCY not tuned on performance dynos",
    scope="all",
    messages=("`<process>` runs on <size> dynos but WEB_CONCURRENCY is not set",),
    why="Performance dynos have many cores and GBs of memory; the default worker count of the "
    "web server leaves most of it idle or, for some frameworks, exhausts memory.",
    fix="Set `WEB_CONCURRENCY` in `[config]` to the number of server processes per dyno.",
)
def _web_concurrency(ctx: Context) -> Iterator[Hit]:
    if "WEB_CONCURRENCY" in ctx.config:
        return
    for ptype, spec in ctx.stack.spec.formation.items():
        if spec.size.lower().startswith("performance-"):
            msg = f"`{ptype}` runs on {spec.size} dynos but WEB_CONCURRENCY is not set"
            yield Hit(f"formation.{ptype}.size", msg)
            return


@rule(
    "HS014",
    "warning",
    "Live add-on not declared in the stack file",
    scope="all",
    messages=("live add-on <name> (<service>) is not declared",),
    live_only=True,
    why="An add-on created by hand is invisible to review, costs money nobody tracks, and "
    "disappears or drifts on the next rebuild of the app from its stack file.",
    fix="Declare the add-on under `[addons]` (or remove it from the app). Needs `--live`.",
)
def _undeclared_addons(ctx: Context) -> Iterator[Hit]:
    if ctx.live_app is None:
        return
    declared = Counter(addon.service for addon in ctx.stack.spec.addons.values())
    for addon in (a for a in ctx.live_app.addons if a.owned):
        if declared[addon.service] > 0:
            declared[addon.service] -= 1
        else:
            yield Hit("addons", f"live add-on {addon.name} ({addon.service}) is not declared")


@rule(
    "HS015",
    "info",
    "Production web process without preboot",
    scope="production",
    messages=("`web` deploys without preboot (set `preboot = true` in `[features]`)",),
    why="Without preboot, each deploy or config change stops the old web dynos before the new "
    "ones accept requests, so users see errors or slow responses for the boot time. Preboot "
    "starts the new dynos first and moves traffic once they are up (Dev Center: Preboot).",
    fix="Add `[features]` with `preboot = true` (zero-downtime deploys; for a while old and new "
    "code run side by side).",
)
def _no_preboot(ctx: Context) -> Iterator[Hit]:
    if ctx.env != "production" or "web" not in ctx.stack.spec.formation:
        return
    preboot = ctx.stack.spec.features.get("preboot")
    if not preboot:
        # Point at `preboot = false` when written, else at the web process that needs it.
        where = "features.preboot" if preboot is False else "formation.web"
        yield Hit(where, "`web` deploys without preboot (set `preboot = true` in `[features]`)")


@rule(
    "HS018",
    "warning",
    "Production app outside a Heroku Team",
    scope="production",
    messages=(
        "production app is not declared in a Heroku Team (set `team` in `[app]`)",
        "production app is owned by the personal account <email>, not a Heroku Team",
    ),
    why="A personal app belongs to one person's account: if they leave, lose their login or "
    "their card fails, nobody else can manage or pay for production, and access is granted "
    "app by app. A team owns the app for everyone, with roles and one bill.",
    fix='Set `team = "<team>"` in `[app]`: plan shows the transfer (`heroku apps:transfer`) and '
    "apply makes it. With live state, an app already in a team passes.",
)
def _personal_production(ctx: Context) -> Iterator[Hit]:
    if ctx.env != "production" or ctx.stack.spec.app.team is not None:
        return
    live = ctx.live_app
    if live is None or not live.owner:  # offline: only the file can tell
        yield Hit("app", "production app is not declared in a Heroku Team (set `team` in `[app]`)")
    elif live.team is None:
        yield Hit(
            "app",
            f"production app is owned by the personal account {live.owner}, not a Heroku Team",
        )


def _settable_postgres(ctx: Context) -> Iterator[tuple[str, Any]]:
    """Production Postgres add-ons of a tier that has a window and settings (not Essential)."""
    if ctx.env != "production":
        return
    for name, addon in ctx.stack.spec.addons.items():
        plan = addon.plan.partition(":")[2]
        if addon.service == POSTGRES and not plan.startswith(ESSENTIAL_PG):
            yield name, addon


@rule(
    "HS019",
    "info",
    "Production Postgres without a declared maintenance window",
    scope="production",
    messages=("Postgres `<addon>` has no maintenance_window: Heroku picks when maintenance runs",),
    why="Heroku runs required maintenance of a production database (a failover, seconds to a "
    "minute of errors) in its maintenance window; without one declared, Heroku picks it, and "
    "it may fall on your busiest hour.",
    fix='Add `maintenance_window = "Tuesdays 14:30"` (a day and a UTC start time) to the '
    "Postgres add-on, at a quiet time for its users.",
)
def _no_maintenance_window(ctx: Context) -> Iterator[Hit]:
    for name, addon in _settable_postgres(ctx):
        if addon.maintenance_window is None:
            msg = f"Postgres `{name}` has no maintenance_window: Heroku picks when maintenance runs"
            yield Hit(f"addons.{name}", msg)


@rule(
    "HS020",
    "info",
    "Production Postgres without a slow-query threshold",
    scope="production",
    messages=("Postgres `<addon>` does not declare settings.log_min_duration_statement",),
    why="`log_min_duration_statement` decides which slow statements reach the logs: declared, "
    "the threshold is reviewed with the code and the same in every environment, instead of "
    "whatever was last set by hand with `heroku pg:settings`.",
    fix="Add `settings = { log_min_duration_statement = 2000 }` (milliseconds; -1 logs none) "
    "to the Postgres add-on.",
)
def _no_slow_query_log(ctx: Context) -> Iterator[Hit]:
    for name, addon in _settable_postgres(ctx):
        if "log_min_duration_statement" not in (addon.settings or {}):
            where = f"addons.{name}.settings" if addon.settings is not None else f"addons.{name}"
            msg = f"Postgres `{name}` does not declare settings.log_min_duration_statement"
            yield Hit(where, msg)


def custom_domains(ctx: Context) -> list[str] | None:
    """The app's custom domains: as declared, else as live state has them; None: unknown."""
    declared = ctx.stack.spec.domains
    if declared is not None:
        return list(declared)
    if ctx.live_app is not None and ctx.live_app.domains is not None:
        return list(ctx.live_app.domains)
    return None


def has_acm(ctx: Context) -> bool:
    """Whether ACM is on: as declared, else as live state has it."""
    acm = ctx.stack.spec.app.acm
    if acm is None and ctx.live_app is not None:
        acm = ctx.live_app.acm
    return bool(acm)


def served_by_certificates(ctx: Context) -> set[str]:
    """The domains an uploaded certificate (SNI endpoint) serves: as declared, else live."""
    declared = ctx.stack.spec.certificates
    if declared or "certificates" in ctx.stack.spec.model_fields_set:
        return {host for cert in declared for host in cert.domains}
    live = ctx.live_app.certificates if ctx.live_app else None
    return {host for cert in live or () for host in cert.domains}


def has_tls(ctx: Context) -> bool:
    """Whether every custom domain gets a certificate: ACM, or an uploaded one bound to it."""
    domains = custom_domains(ctx) or []
    return has_acm(ctx) or not (set(domains) - served_by_certificates(ctx))


@rule(
    "HS016",
    "error",
    "Production custom domain without TLS",
    scope="production",
    messages=("custom domains <names> have no certificate: ACM is off",),
    why="Browsers refuse or warn on https:// to a custom domain without a certificate, and "
    "plain http:// sends cookies and passwords in clear. Heroku's ACM issues and renews a free "
    "certificate for each custom domain (Dev Center: Automated Certificate Management); an "
    "uploaded certificate (`[[certificates]]`) serves the domains bound to it.",
    fix="Set `acm = true` in `[app]`, or bind the domains to a certificate "
    "(`[[certificates]]` `domains = [...]`).",
)
def _domains_without_tls(ctx: Context) -> Iterator[Hit]:
    domains = custom_domains(ctx)
    if ctx.env != "production" or not domains or has_acm(ctx):
        return
    served = served_by_certificates(ctx)
    bare = [d for d in domains if d not in served]
    if not bare:
        return
    where = "app.acm" if ctx.stack.spec.app.acm is False else "domains"
    shown = ", ".join(bare[:3]) + (", …" if len(bare) > 3 else "")
    yield Hit(where, f"custom domains {shown} have no certificate: ACM is off")


def declared_chains(ctx: Context) -> Iterator[tuple[int, tls.CertInfo]]:
    """Each declared certificate whose chain can be read here (a file, a variable that is set)
    and parsed; the others are plan's to report."""
    for i, spec in enumerate(ctx.stack.spec.certificates):
        try:
            text = certs.read_source(ctx.stack, ("certificates", i, "chain"), spec.chain)
            if text is not None:
                yield i, tls.parse_chain(text)
        except (certs.SourceProblem, tls.CertError):
            continue


@rule(
    "HS021",
    "warning",
    "Certificate expiring soon",
    scope="all",
    messages=(
        "certificate <name> expires <date> (in <n> days)",
        "certificate <name> expires <date> (expired <n> days ago)",
        "certificate <name> on Heroku expires <date> (in <n> days)",
    ),
    severity_note="error within 7 days or once expired",
    why="An expired certificate is an outage: browsers and API clients refuse the connection. "
    "Heroku renews ACM's certificates, never uploaded ones: their renewal is a chore with a "
    "deadline, and certificate authorities take days to issue an EV or OV one.",
    fix="Renew the certificate and put the new chain and key where `chain` and `key` point; "
    "plan shows the rotation and apply updates the SNI endpoint in place. Or switch to ACM.",
)
def _expiring_certificates(ctx: Context) -> Iterator[Hit]:
    leaves: set[str] = set()
    for i, info in declared_chains(ctx):
        leaves.add(info.fingerprints[0])
        severity = tls.expiry_severity(info.expires_at)
        if severity:
            name = ctx.stack.spec.certificates[i].name or info.label
            message = f"certificate {name} expires {info.expiry_text()}"
            yield Hit(f"certificates[{i}]", message, severity)
    where = "certificates" if ctx.stack.spec.certificates else "app"
    for live in (ctx.live_app.certificates if ctx.live_app else None) or ():
        expires = tls.parse_time(live.expires_at)
        severity = tls.expiry_severity(expires) if expires else None
        if expires and severity and live.fingerprints[:1] and live.fingerprints[0] not in leaves:
            message = f"certificate {live.name} on Heroku expires {tls.expiry_text(expires)}"
            yield Hit(where, message, severity)


@rule(
    "HS017",
    "info",
    "Production web app without a custom domain",
    scope="production",
    messages=("no custom domain: users reach the app at its herokuapp.com address",),
    why="A herokuapp.com address ties users, links and OAuth callbacks to Heroku and to the "
    "app's name; a custom domain can move to another app (or provider) without them noticing.",
    fix='Declare `domains = ["www.example.com"]` (above `[app]`) with `acm = true` in `[app]`.',
)
def _no_custom_domain(ctx: Context) -> Iterator[Hit]:
    if ctx.env != "production" or "web" not in ctx.stack.spec.formation:
        return
    # Known to have none: `domains = []`, or (not declared) live state read with none. Not
    # declared and not read, the app may well have domains added by hand: nothing is said.
    if custom_domains(ctx) == []:
        where = "domains" if ctx.stack.spec.domains is not None else "formation.web"
        yield Hit(where, "no custom domain: users reach the app at its herokuapp.com address")


# --- secrets --------------------------------------------------------------------------------

# --- suppressions ---------------------------------------------------------------------------

# Spaces and case are forgiven; a word close to "ignore" is a typo to report, any other word
# ("# managed by herokustack: see ...") is prose.
_MARK = re.compile(r"herokustack\s*:\s*(\w*)(.*)", re.IGNORECASE)


@dataclass(frozen=True)
class Suppressed:
    rule_id: str
    reason: str
    key_path: str | None
    line: int | None
    directive: str = "ignore"


def comment_of(line: str) -> str | None:
    """The comment part of a TOML line (after a `#` outside any string), or None."""
    quote: str | None = None
    escaped = False
    for i, char in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[i + 1 :]
    return None


def suppressions_of(stack: Stack, text: str | None) -> list[Suppressed]:
    """Every suppression of one stack file: `# herokustack:ignore` comments and [checks] ignore."""
    found: list[Suppressed] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        match = _MARK.search(comment_of(line) or "")
        if match is None:
            continue
        directive = match[1].lower()
        if directive != "ignore":
            if difflib.get_close_matches(directive, ["ignore"], cutoff=0.6):
                found.append(Suppressed("", "", None, number, directive))
            continue
        ids_part, _, reason = match[2].partition("--")
        ids = [i for i in re.split(r"[\s,]+", ids_part) if i] or [""]
        found += [Suppressed(i.upper(), reason.strip(), None, number) for i in ids]
    for index, entry in enumerate(stack.spec.checks.ignore):
        key_path = f"checks.ignore[{index}]"
        found.append(Suppressed(entry.id.upper(), entry.reason.strip(), key_path, None))
    return found


def _suppression_problem(s: Suppressed) -> str | None:
    if s.directive != "ignore":
        return f"unknown directive herokustack:{s.directive} (write `herokustack:ignore`)"
    if not s.rule_id:
        return "suppression names no rule"
    if s.rule_id not in RULES or s.rule_id == SUPPRESSION_RULE:
        return f"suppression names unknown rule {s.rule_id}"
    if not s.reason:
        return f"suppression of {s.rule_id} gives no reason (write `-- reason`)"
    return None


# --- running --------------------------------------------------------------------------------


def locate(stack: Stack, key_path: str | None) -> tuple[Path, int | None]:
    """The file of the `extends` chain that writes `key_path`, and its line (else the app's)."""
    if key_path:
        path, line = stack.locate(key_path)
        if line:
            return path, line
    return stack.path, stack.line_of("app")


def check_stack(stack: Stack, ctx: Context | None = None) -> list[Finding]:
    """All findings for one stack file, suppressed ones marked (not dropped)."""
    ctx = ctx or Context(stack)
    app = stack.spec.app.name
    findings: list[Finding] = []
    active: dict[str, str] = {}
    for s in suppressions_of(stack, stack.text):
        problem = _suppression_problem(s)
        if problem is None:
            active.setdefault(s.rule_id, s.reason)
            continue
        line = s.line or stack.line_of(s.key_path or "checks")
        finding = Finding(SUPPRESSION_RULE, "error", app, stack.path, s.key_path, line, problem)
        findings.append(replace(finding, stack_path=stack.path))
    for rule_ in RULES.values():
        if rule_.live_only and ctx.live_app is None:
            continue
        for hit in rule_.check(ctx):
            path, line = locate(stack, hit.key_path)
            severity = hit.severity or rule_.severity
            finding = Finding(rule_.id, severity, app, path, hit.key_path, line, hit.message)
            findings.append(
                replace(finding, suppressed=active.get(rule_.id), stack_path=stack.path)
            )
    return findings


def run_checks(
    stacks: Sequence[Stack], live: LiveState | None = None, *, include_suppressed: bool = False
) -> list[Finding]:
    """Run every rule on every stack; live-only rules run when `live` has the app."""
    findings: list[Finding] = []
    for stack in stacks:
        ctx = Context(stack)
        if live is not None:
            states = {**BUILTIN_STACK_STATES, **live.stack_states}
            ctx = Context(
                stack,
                live.apps.get(stack.spec.app.name),
                states,
                live.default_stack or DEFAULT_STACK,
            )
        findings += check_stack(stack, ctx)
    if not include_suppressed:
        findings = [f for f in findings if f.suppressed is None]
    return sorted(findings, key=_order)


def _order(f: Finding) -> tuple[str, str, int, int, str]:
    return (str(f.path), f.app, SEVERITY_RANK[f.severity], f.line or 0, f.rule_id)


def failed(findings: Iterable[Finding], strict: bool = False) -> bool:
    """True when an unsuppressed error (or, with strict, a warning) is among the findings."""
    failing = {"error", "warning"} if strict else {"error"}
    return any(f.severity in failing and f.suppressed is None for f in findings)


# --- loading and live state -----------------------------------------------------------------


def load(paths: Sequence[Path] | None) -> list[Stack]:
    """The stacks to check: `paths`, or the stack files under stacks/."""
    unique: dict[Path, Path] = {}
    for path in stack_paths(paths):
        unique.setdefault(Path(path).resolve(), Path(path))  # a file named twice is read once
    return load_stacks(list(unique.values()))


def read_live_state(client: HerokuClient, stacks: Sequence[Stack]) -> LiveState:
    """Stack states (`GET /stacks`), add-ons and log drains of the apps of `stacks`."""
    docs = client.get_list("stacks")
    states = {str(d["name"]): str(d.get("state") or "public") for d in docs}
    default = next((str(d["name"]) for d in docs if d.get("default")), None)
    lives = read_apps(client, [s.spec.app.name for s in stacks])
    apps = {name: live_app_of(live) for name, live in lives.items() if live.exists}
    return LiveState(apps, states, default)


def live_state_from(lives: Mapping[str, facts.LiveState]) -> LiveState:
    """What the checks need from live states already read (e.g. by `plan`); no requests."""
    return LiveState({name: live_app_of(live) for name, live in lives.items() if live.exists})


def live_app_of(live: facts.LiveState) -> LiveApp:
    addons = tuple(LiveAddon(a.name, a.service, a.plan, a.owner == live.name) for a in live.addons)
    info = live.app
    domains = live.extra.get("domains")  # read only when declared (plan) or always (--live)
    return LiveApp(
        addons=addons,
        log_drains=len(drains.KIND.facts(live) or ()),
        owner=info.owner if info else "",
        team=info.team if info else None,
        domains=None if domains is None else tuple(domains),
        acm=info.acm if info else None,
        certificates=certs.KIND.facts(live),
    )
