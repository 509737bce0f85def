"""Backup schedules of Postgres add-ons: `backups = { at = "02:00", timezone = "UTC" }` in an
`[addons.NAME]` table of a heroku-postgresql add-on.

Reading them is one request per provisioned Postgres the app owns (GET
/client/v11/databases/{id}/transfer-schedules on the data API), after the add-ons are read. The
schedule a stack file manages is the one named after the add-on's config var (DATABASE_URL), else
the first one. Apply schedules them once the add-ons are provisioned.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, field_validator

from herokustack.facts import POSTGRES, LiveAddon, LiveSchedule
from herokustack.resources.base import (
    Change,
    DriftContext,
    Kind,
    PlanContext,
    Step,
    Strict,
    field_diff,
    invalid,
)

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

BACKUP_AT_PATTERN = r"^([01][0-9]|2[0-3]):00$"


class Backups(Strict):
    """A daily scheduled Postgres backup at `at` ("HH:00", hour 0-23) in `timezone` (IANA)."""

    at: str = Field(
        description='Hour of the daily backup, "HH:00" (Heroku schedules whole hours).',
        json_schema_extra={"pattern": BACKUP_AT_PATTERN},
    )
    timezone: str = Field(default="UTC", description='IANA time zone, e.g. "Europe/Paris".')

    @property
    def hour(self) -> int:
        return int(self.at.split(":", 1)[0])

    @field_validator("at")
    @classmethod
    def _check_at(cls, value: str) -> str:
        match = re.fullmatch(r"([0-9]{2}):([0-9]{2})", value)
        if not match or int(match[1]) > 23:
            raise invalid('must be an hour "HH:00" between "00:00" and "23:00"')
        if match[2] != "00":
            raise invalid("must be on the hour (Heroku schedules backups at whole hours, HH:00)")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        if value != "UTC" and value not in _time_zones():  # the scan of tzdata takes ~20 ms
            raise invalid('must be an IANA time zone like "UTC" or "Europe/Paris"')
        return value


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


# The field of [addons.NAME] this kind owns (`AddonSpec` composes it).
FIELD: Any = Field(default=None, description="Daily backup schedule (heroku-postgresql only).")


def managed_schedules(schedules: Iterable[LiveSchedule], attachment: str) -> list[LiveSchedule]:
    """The backup schedules of a Postgres attached as `attachment` that its stack file manages:
    those named after its config var (DATABASE_URL), else the first one."""
    schedules = list(schedules)
    return [s for s in schedules if s.name == f"{attachment}_URL"] or schedules[:1]


def _at(hour: int, timezone: str) -> str:
    return f"{hour:02d}:00 {timezone}"


def read_schedules(
    client: HerokuClient, dbs: list[LiveAddon]
) -> dict[str, tuple[LiveSchedule, ...]]:
    """The schedules of the provisioned databases of `dbs`, in parallel (one request each)."""
    ready = [db.id for db in dbs if db.state == "provisioned"]
    if len(ready) <= 1:
        return {db: client.read_schedules(db) for db in ready}
    with ThreadPoolExecutor(max_workers=min(4, len(ready))) as pool:
        return dict(zip(ready, pool.map(client.read_schedules, ready), strict=True))


# --- apply -------------------------------------------------------------------------------------


def _apply(run: AppRun, changes: list[Change]) -> None:
    from herokustack.resources.addons import addon_id_of, wait_provisioned

    if not run.shared.get("waited"):  # a database may still be provisioning from an earlier run
        wait_provisioned(run)
    for change in changes:
        addon_id = addon_id_of(run, change)
        params: dict[str, Any] = change.params
        if change.action == "destroy":
            run.client.unschedule_backups(addon_id, params["uuid"])
        else:
            run.client.schedule_backups(
                addon_id, params["schedule_name"], params["hour"], params["timezone"]
            )
        run.outcome.done.append(change)


# --- import ------------------------------------------------------------------------------------


def import_backups(
    builder: Builder, addon: LiveAddon, attachment: str, local: str
) -> dict[str, str] | None:
    """The `backups` table of an imported Postgres add-on, or None (noting what is left out)."""
    schedules = list(builder.live.schedules.get(addon.id, ()))
    mine = managed_schedules(schedules, attachment)
    if not mine:
        return None
    schedule = mine[0]
    for other in schedules:
        if other is not schedule:
            builder.note("addons", f"addons.{local}: backup schedule {other.name} not managed")
    backups = {"at": f"{schedule.hour:02d}:00", "timezone": schedule.timezone}
    try:
        Backups.model_validate(backups)
    except ValidationError:
        builder.note("addons", f"addons.{local}: backups at {backups['at']} "
                     f"{schedule.timezone!r} cannot be declared")  # fmt: skip
        return None
    return backups


class BackupSchedules(Kind):
    name = "backups"
    resource = "backup"
    label = "backup"
    read_cost = (
        "1 request per provisioned Postgres the app owns: "
        "GET /client/v11/databases/{id}/transfer-schedules (data API)"
    )
    always_read = True
    after = ("addons",)
    expected = {
        "addons.*.backups": 'a table like { at = "02:00", timezone = "UTC" }',
        "addons.*.backups.at": 'an hour "HH:00" between "00:00" and "23:00"',
        "addons.*.backups.timezone": 'an IANA time zone like "UTC" or "Europe/Paris"',
    }
    models_at = {"addons.*.backups": Backups}

    def estimate(self, spec: StackFile) -> int:
        return sum(1 for a in spec.addons.values() if a.service == POSTGRES)

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        dbs = [a for a in facts.get("addons", ()) if a.service == POSTGRES and a.owner == app]
        return {"schedules": read_schedules(client, dbs)}

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        kept: Mapping[str, LiveAddon] = ctx.shared.get("live_addons", {})
        for local, spec in ctx.spec.addons.items():
            if spec.service != POSTGRES:
                continue
            attachment = spec.attachment
            live = kept.get(attachment)
            if live is None and ctx.live.addon_by_attachment(attachment) is not None:
                creating = any(
                    c.resource == "addon" and c.action == "create" and c.name == local
                    for c in ctx.changes
                )
                if not creating:
                    continue  # refused add-on: its backups wait with it
            self._plan_one(ctx, local, spec.backups, attachment, live)

    def _plan_one(
        self,
        ctx: PlanContext,
        local: str,
        want: Backups | None,
        attachment: str,
        live: LiveAddon | None,
    ) -> None:
        schedule_name = f"{attachment}_URL"
        current = ctx.live.schedules.get(live.id, ()) if live else ()
        common: dict[str, Any] = {"attachment": attachment, "addon_id": live.id if live else None}
        mine = managed_schedules(current, attachment)
        if want is None:
            for sched in mine:
                ctx.add("destroy", self.resource, local, field="schedule",
                        before=_at(sched.hour, sched.timezone),
                        params={"uuid": sched.uuid}, **common)  # fmt: skip
            return
        after = _at(want.hour, want.timezone)
        params = {"hour": want.hour, "timezone": want.timezone, "schedule_name": schedule_name}
        if not mine:
            ctx.add("create", self.resource, local, field="schedule", after=after, params=params,
                    **common)  # fmt: skip
            return
        sched = mine[0]
        before_fields = {"hour": sched.hour, "timezone": sched.timezone}
        diffs = field_diff(before_fields, {"hour": want.hour, "timezone": want.timezone})
        if diffs:
            ctx.add("update", self.resource, local, field="schedule",
                    before=_at(sched.hour, sched.timezone), after=after,
                    params={**params, "uuid": sched.uuid}, **common)  # fmt: skip

    def steps(self) -> list[Step]:
        return [Step(70, "backup schedules", _apply)]

    # -- text ---------------------------------------------------------------------------------

    def body(self, change: Change) -> str:
        if change.action == "create":
            return f": daily at {change.after}"
        if change.action == "destroy":
            return f": daily at {change.before}"
        return super().body(change)

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.action == "destroy":
            return {"kind": "undeclared", "live": f"daily at {change.before}"}
        if change.action == "create":
            return {"kind": "missing", "declared": f"daily at {change.after}"}
        return super().drift_item(change, ctx)

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for addon in live.addons:
            if addon.service == POSTGRES:
                for name in addon.attachments or (addon.name,):
                    parts[f"backup.{name}"] = schedule_part(live.schedules.get(addon.id, ()))
        return parts

    def touched_parts(self, change: Change) -> list[str]:
        # A schedule of an add-on this plan creates has no addon_id: the add-on part covers it.
        return [f"backup.{change.attachment}"] if change.addon_id and change.attachment else []

    def part_label(self, name: str) -> str:
        return f"backup schedules of {name}"

    def fresh_parts(
        self, client: HerokuClient, app: str, base: LiveState, changes: Sequence[Change]
    ) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for change in changes:
            if change.addon_id:
                schedules = client.read_schedules(change.addon_id)
                parts[f"backup.{change.attachment}"] = schedule_part(schedules)
        return parts


def schedule_part(schedules: Iterable[LiveSchedule]) -> list[list[Any]]:
    return sorted([s.name, s.hour, s.timezone] for s in schedules)


KIND = BackupSchedules()
