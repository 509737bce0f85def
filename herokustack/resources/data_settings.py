"""Maintenance windows and settings of data add-ons: `maintenance_window = "Tuesdays 14:30"` and
`settings = { ... }` in an `[addons.NAME]` table of a heroku-postgresql or heroku-redis add-on.

The APIs are those the official CLI 11 uses, on the data host (docs/data-services.md):
windows are `GET`/`POST /data/maintenances/v1/{addon id}/window` (`data:maintenances:window`),
Postgres settings `GET`/`PATCH /postgres/v0/databases/{addon id}/config` (`pg:settings:*`), Redis
settings `GET`/`PATCH /redis/v0/databases/{addon id}/config` (`redis:maxmemory`, `redis:timeout`,
`redis:keyspace-notifications`). Essential-tier Postgres has neither (the CLI refuses
`pg:settings` on it), Redis mini has no maintenance window: declaring them is a validate error.

Reads. `plan` reads only what a file declares: one request per declared window and one per
declared settings table, of add-ons that are provisioned. Drift and import read every data
add-on the app owns that has them: a window and settings (2) per Postgres of another tier than
Essential and per premium Redis, settings only (1) per mini Redis, nothing for Essential. Apply
writes one POST per window and one PATCH per add-on whose settings change, once it is
provisioned.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field

from herokustack.resources.base import (
    Change,
    DriftContext,
    Kind,
    Loc,
    PlanContext,
    Step,
    did_you_mean,
    invalid,
    show,
)
from herokustack.resources.data_services import POSTGRES, REDIS, essential, redis_mini

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveAddon, LiveState
    from herokustack.importer import Builder
    from herokustack.resources.addons import AddonSpec
    from herokustack.stackfile import StackFile

DAYS = ("Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays")
WINDOW_PATTERN = r"^(Sun|Mon|Tues|Wednes|Thurs|Fri|Satur)days ([01][0-9]|2[0-3]):[0-5][0-9]$"
WINDOW = "maintenance_window"
SETTINGS = "settings"


@dataclass(frozen=True)
class Setting:
    """One setting Heroku exposes: an integer (bounds), a boolean, one of `values`, or flags."""

    kind: str  # "int" | "bool" | "enum" | "flags"
    values: tuple[str, ...] = ()
    minimum: int = 0
    maximum: int = 2**31 - 1
    default: Any = None  # Heroku's value on a new database (import leaves defaults out)

    def problem(self, value: Any) -> str | None:
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            if ok and self.minimum <= value <= self.maximum:
                return None
            return f"must be an integer between {self.minimum} and {self.maximum}"
        if self.kind == "enum":
            return None if value in self.values else f"must be one of {', '.join(self.values)}"
        chars = "".join(self.values)
        if isinstance(value, str) and all(c in chars for c in value):
            return None
        return f'must be a string of the flags {chars} ("" for none)'


_OFF = Setting("bool", default=False)
_ON = Setting("bool", default=True)
_MS = Setting("int", minimum=-1, default=-1)
# The settings of `pg:settings:*` in the official CLI 11, with the values each accepts.
POSTGRES_SETTINGS: dict[str, Setting] = {
    "log_connections": _ON,
    "log_lock_waits": _ON,
    "log_min_duration_statement": Setting("int", minimum=-1, default=2000),
    "log_min_error_statement": Setting("enum", ("error", "log", "fatal", "panic"), default="error"),
    "log_statement": Setting("enum", ("none", "ddl", "mod", "all"), default="ddl"),
    "track_functions": Setting("enum", ("none", "pl", "all"), default="none"),
    "auto_explain": _OFF,
    "auto_explain.log_analyze": _OFF,
    "auto_explain.log_buffers": _OFF,
    "auto_explain.log_format": Setting("enum", ("text", "json", "yaml", "xml"), default="text"),
    "auto_explain.log_min_duration": _MS,
    "auto_explain.log_nested_statements": _OFF,
    "auto_explain.log_triggers": _OFF,
    "auto_explain.log_verbose": _OFF,
    "data_connector_details_logs": _OFF,
}
# redis:maxmemory, redis:timeout, redis:keyspace-notifications.
REDIS_SETTINGS: dict[str, Setting] = {
    "maxmemory_policy": Setting(
        "enum",
        (
            "noeviction",
            "allkeys-lfu",
            "volatile-lfu",
            "allkeys-lru",
            "volatile-lru",
            "allkeys-random",
            "volatile-random",
            "volatile-ttl",
        ),
        default="noeviction",
    ),
    "timeout": Setting("int", default=300),
    "notify_keyspace_events": Setting("flags", tuple("KEg$lshztxemA"), default=""),
}
SERVICE_SETTINGS = {POSTGRES: POSTGRES_SETTINGS, REDIS: REDIS_SETTINGS}


def _check_window(value: str) -> str:
    if not re.fullmatch(WINDOW_PATTERN, value):
        raise invalid('must be a day and a UTC time like "Tuesdays 14:30" (Heroku\'s format)')
    return value


Window = Annotated[str, AfterValidator(_check_window)]
SettingValue = bool | int | str

# The fields of [addons.NAME] this kind owns (`AddonSpec` composes them).
WINDOW_FIELD: Any = Field(
    default=None,
    description='Maintenance window, "Tuesdays 14:30": a day and a UTC start time (Heroku-run '
    "maintenance starts in it). heroku-postgresql (not Essential) and heroku-redis (not mini).",
    json_schema_extra={"pattern": WINDOW_PATTERN},
)
SETTINGS_FIELD: Any = Field(
    default=None,
    description="Database settings, e.g. { log_min_duration_statement = 2000 } (Postgres, not "
    'Essential) or { maxmemory_policy = "allkeys-lru", timeout = 300 } (Redis).',
)


def supports_window(plan: str) -> bool:
    service = plan.split(":", 1)[0]
    if service == POSTGRES:
        return not essential(plan)
    return service == REDIS and not redis_mini(plan)


def supports_settings(plan: str) -> bool:
    service = plan.split(":", 1)[0]
    return service == REDIS or (service == POSTGRES and not essential(plan))


def addon_problems(spec: AddonSpec) -> list[tuple[Loc, str]]:
    """What an add-on's plan does not support, or a setting Heroku does not have."""
    problems: list[tuple[Loc, str]] = []
    service, short = spec.service, spec.plan.split(":", 1)[-1]
    data = service in SERVICE_SETTINGS
    if spec.maintenance_window is not None and not supports_window(spec.plan):
        why = f"{short} has no maintenance window" if data else "only for heroku-postgresql"
        problems.append(((WINDOW,), f"{why} (heroku-postgresql and heroku-redis add-ons only; "
                         "not Essential Postgres, not mini Redis)"))  # fmt: skip
    if spec.settings is None:
        return problems
    if not supports_settings(spec.plan):
        why = f"Heroku has no settings on {short} (Essential-tier) databases" if data else (
            "settings are only for heroku-postgresql and heroku-redis add-ons")  # fmt: skip
        return [*problems, ((SETTINGS,), why)]
    known = SERVICE_SETTINGS[service]
    for name, value in spec.settings.items():
        setting = known.get(name)
        if setting is None:
            names = sorted(known)
            msg = f"{service} has no setting {name!r}{did_you_mean(name, names)} (its settings: "
            problems.append(((SETTINGS, name), msg + ", ".join(names) + ")"))
        elif (problem := setting.problem(value)) is not None:
            problems.append(((SETTINGS, name), problem))
    return problems


# --- reading -----------------------------------------------------------------------------------


def readable(addon: LiveAddon, app: str) -> tuple[bool, bool]:
    """Whether the add-on has a window and settings to read (provisioned, owned by the app)."""
    if addon.owner != app or addon.state != "provisioned":
        return False, False
    return supports_window(addon.plan), supports_settings(addon.plan)


def read_one(
    client: HerokuClient, service: str, addon_id: str, window: bool, settings: bool
) -> dict[str, Any]:
    """The add-on's window and/or settings, as asked: one request each."""
    found: dict[str, Any] = {}
    if window:
        found[WINDOW] = client.read_window(addon_id)
    if settings:
        found[SETTINGS] = client.read_data_config(service, addon_id)
    return found


# --- apply -------------------------------------------------------------------------------------


def _apply(run: AppRun, changes: list[Change]) -> None:
    from herokustack.resources.addons import addon_id_of, wait_provisioned

    if not run.shared.get("waited"):  # a database may still be provisioning from an earlier run
        wait_provisioned(run)
    by_addon: dict[str, list[Change]] = {}
    for change in changes:
        by_addon.setdefault(change.attachment or change.name, []).append(change)
    for group in by_addon.values():
        addon_id = addon_id_of(run, group[0])
        for change in group:
            if change.field == WINDOW:
                day, time_of_day = str(change.after).split(" ", 1)
                run.client.set_window(addon_id, day[:-1].lower(), time_of_day)
        values = {c.params["setting"]: c.after for c in group if c.field != WINDOW}
        if values:
            run.client.update_data_config(group[0].params["service"], addon_id, values)
        run.outcome.done.extend(group)


# --- the kind ------------------------------------------------------------------------------------


class DataSettings(Kind):
    name = "data_settings"
    resource = "data_setting"
    label = "data add-on"
    read_cost = (
        "plan: 1 request per declared maintenance_window (GET /data/maintenances/v1/{id}/window) "
        "and 1 per declared settings table (GET /postgres/v0|/redis/v0/databases/{id}/config), "
        "data API; drift and import: those of every Postgres (not Essential) and Redis the app "
        "owns (a mini Redis has settings only)"
    )
    after = ("addons",)
    expected = {
        "addons.*.maintenance_window": 'a day and a UTC time like "Tuesdays 14:30"',
        "addons.*.settings": "a table of settings like { log_min_duration_statement = 2000 }",
        "addons.*.settings.*": "true, false, an integer or a string",
    }
    named = frozenset({("addons", "*", "settings")})
    # The attachments whose window / settings `plan` reads (`for_stack`); None: all (drift).
    wanted: dict[str, tuple[bool, bool]] | None = None

    def declared(self, spec: StackFile) -> bool:
        return any(_declares(a) != (False, False) for a in spec.addons.values())

    def estimate(self, spec: StackFile) -> int:
        """The request budget: one request per declared window and per settings table."""
        return sum(int(w) + int(s) for w, s in (_declares(a) for a in spec.addons.values()))

    def for_stack(self, spec: StackFile) -> Kind:
        narrowed = copy.copy(self)
        narrowed.wanted = {a.attachment: _declares(a) for a in spec.addons.values()}
        return narrowed

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, dict[str, Any]] = {}
        for addon in facts.get("addons", ()):
            window, settings = readable(addon, app)
            if self.wanted is not None:
                declared = [self.wanted.get(a, (False, False)) for a in addon.attachments]
                window = window and any(w for w, _ in declared)
                settings = settings and any(s for _, s in declared)
            if window or settings:
                found[addon.id] = read_one(client, addon.service, addon.id, window, settings)
        return {self.name: found}

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        read: Mapping[str, Mapping[str, Any]] = self.facts(ctx.live) or {}
        for local, spec in ctx.spec.addons.items():
            if _declares(spec) == (False, False):
                continue
            live = ctx.live.addon_by_attachment(spec.attachment)
            if live is not None and _waits(ctx, local):
                continue  # a refused plan change: its settings wait with it
            if live is not None and live.state != "provisioned":
                continue  # read once provisioned (apply waits, then the next plan sees them)
            self._plan_one(ctx, local, spec, live, read.get(live.id, {}) if live else {})

    def _plan_one(
        self,
        ctx: PlanContext,
        local: str,
        spec: AddonSpec,
        live: LiveAddon | None,
        have: Mapping[str, Any],
    ) -> None:
        common: dict[str, Any] = {
            "attachment": spec.attachment,
            "addon_id": live.id if live else None,
        }
        params = {"service": spec.service}
        if spec.maintenance_window is not None and spec.maintenance_window != have.get(WINDOW):
            before = have.get(WINDOW)
            ctx.add("create" if before is None else "update", self.resource, local, field=WINDOW,
                    before=before, after=spec.maintenance_window, params=params,
                    **common)  # fmt: skip
        live_settings = have.get(SETTINGS) or {}
        for name, value in (spec.settings or {}).items():
            before = live_settings.get(name)
            if before == value and type(before) is type(value):
                continue
            ctx.add("create" if before is None else "update", self.resource, local,
                    field=f"{SETTINGS}.{name}", before=before, after=value,
                    params={**params, "setting": name}, **common)  # fmt: skip

    def steps(self) -> list[Step]:
        return [Step(72, "maintenance windows and settings", _apply)]

    # -- text ---------------------------------------------------------------------------------

    def body(self, change: Change) -> str:
        if change.action == "create":
            return f" {change.field}: {show(change.after)}"
        return super().body(change)

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.before is None:
            return {"kind": "missing", "declared": change.after}
        return super().drift_item(change, ctx)

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        """Written by the add-ons kind into each add-on's table (`import_addon`)."""

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        read: Mapping[str, Mapping[str, Any]] = self.facts(live) or {}
        for addon in live.addons:
            if addon.id in read:
                for name in addon.attachments or (addon.name,):
                    parts.update(_parts_of(name, read[addon.id]))
        return parts

    def touched_parts(self, change: Change) -> list[str]:
        # A setting of an add-on this plan creates has no addon_id: the add-on part covers it.
        return [f"{self.resource}.{change.attachment}.{change.field}"] if change.addon_id else []

    def part_label(self, name: str) -> str:
        attachment, _, field = name.partition(".")
        return f"{field} of {attachment}"

    def fresh_parts(
        self, client: HerokuClient, app: str, base: LiveState, changes: Sequence[Change]
    ) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        done: set[tuple[str, bool]] = set()  # one read per add-on and aspect, however many keys
        for change in changes:
            window = change.field == WINDOW
            if not (change.addon_id and change.attachment) or (change.addon_id, window) in done:
                continue
            done.add((change.addon_id, window))
            service = "" if window else change.params["service"]  # only settings need it
            have = read_one(client, service, change.addon_id, window, not window)
            parts.update(_parts_of(change.attachment, have))
        return parts


def _declares(spec: AddonSpec) -> tuple[bool, bool]:
    return spec.maintenance_window is not None, spec.settings is not None


def _waits(ctx: PlanContext, local: str) -> bool:
    return any(c.resource == "addon" and c.name == local and c.action == "refused"
               for c in ctx.changes)  # fmt: skip


def _parts_of(attachment: str, have: Mapping[str, Any]) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    if WINDOW in have:
        parts[f"{KIND.resource}.{attachment}.{WINDOW}"] = have[WINDOW]
    for name, value in (have.get(SETTINGS) or {}).items():
        parts[f"{KIND.resource}.{attachment}.{SETTINGS}.{name}"] = value
    return parts


def import_addon(builder: Builder, addon: LiveAddon, spec: dict[str, Any]) -> None:
    """Add the window and settings Heroku has for `addon` to its imported table `spec`."""
    read: Mapping[str, Mapping[str, Any]] = builder.live.extra.get(KIND.name) or {}
    have = read.get(addon.id, {})
    if have.get(WINDOW):
        spec[WINDOW] = have[WINDOW]
    known = SERVICE_SETTINGS.get(addon.service, {})
    settings = {
        k: v
        for k, v in (have.get(SETTINGS) or {}).items()
        if k in known and v != known[k].default and known[k].problem(v) is None
    }
    if settings:  # those at Heroku's defaults are left out: the file says what was chosen
        spec[SETTINGS] = dict(sorted(settings.items()))


KIND = DataSettings()
