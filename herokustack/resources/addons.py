"""Add-ons: the `[addons.NAME]` tables (plan, attachment name, protection, provisioning config).

Reading them is one request (GET /apps/{app}/addons), plus GET /apps/{app}/addon-attachments
when a service's config-var suffixes are unknown (the attachment names are derived from the
config vars otherwise). They are read for every app, declared or not: an add-on the file does
not declare is destroyed (or, holding data, refused). Postgres and Redis hold data: replacing or
removing one is refused unless the file says `protect = false` and --allow-destroy names it.
Apply creates and upgrades them in parallel, destroys last, then waits until they are
provisioned.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from herokustack.facts import POSTGRES, LiveAddon
from herokustack.resources import backups as backup_kind
from herokustack.resources import data_services, data_settings
from herokustack.resources.backups import Backups
from herokustack.resources.base import (
    Change,
    DriftContext,
    Kind,
    Loc,
    PlanContext,
    Step,
    Strict,
    model_keys,
    rules,
    toml_comments,
    toml_table,
)

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

# Postgres and Redis hold data: their add-ons are protected from destruction by default.
DATA_SERVICES = frozenset({"heroku-postgresql", "heroku-redis"})

# Config vars an add-on sets on its app, as suffixes of the attachment name: Heroku prefixes
# every add-on config var with the attachment name (DATABASE -> DATABASE_URL; a papertrail
# attached as LOGS sets LOGS_API_TOKEN). Users cannot set these themselves. Keep in step with
# the emulator's catalog (herokustack/emulator/catalog.py).
ADDON_CONFIG_VARS: dict[str, tuple[str, ...]] = {
    "heroku-postgresql": ("URL",),
    "heroku-redis": ("URL",),
    "papertrail": ("API_TOKEN",),
    "sentry": ("DSN",),
    "scout": ("KEY", "MONITOR"),
}

# The attachment name Heroku picks when `as` is omitted; other services use their name
# upper-cased with dashes as underscores (papertrail -> PAPERTRAIL).
DEFAULT_ATTACHMENTS = {"heroku-postgresql": "DATABASE", "heroku-redis": "REDIS"}

PLAN_PATTERN = r"^[a-z0-9][a-z0-9-]*:[a-z0-9][a-z0-9.-]*$"
ATTACHMENT_PATTERN = r"^[A-Z][A-Z0-9_]*$"
LOCAL_NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"
LocalName = Annotated[str, StringConstraints(pattern=LOCAL_NAME_PATTERN)]


class AddonSpec(Strict):
    """An add-on attached to the app. The key of its table is a local name used by herokustack."""

    plan: str = Field(
        pattern=PLAN_PATTERN, description='Add-on plan "service:plan", e.g. "heroku-redis:mini".'
    )
    as_: str | None = Field(
        default=None,
        alias="as",
        pattern=ATTACHMENT_PATTERN,
        description="Attachment name; its config vars are prefixed with it (DATABASE -> "
        "DATABASE_URL). Default: DATABASE for heroku-postgresql, REDIS for heroku-redis, "
        "else the service name upper-cased.",
    )
    backups: Backups | None = backup_kind.FIELD
    maintenance_window: data_settings.Window | None = data_settings.WINDOW_FIELD
    settings: dict[str, data_settings.SettingValue] | None = data_settings.SETTINGS_FIELD
    protect: bool | None = Field(
        default=None,
        description="Never destroy this add-on. Default: true for Postgres and Redis.",
    )
    config: dict[str, str] = Field(
        default_factory=dict, description="Provisioning options passed to the add-on provider."
    )

    @property
    def service(self) -> str:
        return self.plan.split(":", 1)[0]

    @property
    def is_data(self) -> bool:
        return self.service in DATA_SERVICES

    @property
    def protected(self) -> bool:
        return self.is_data if self.protect is None else self.protect

    @property
    def attachment(self) -> str:
        """The attachment name: `as`, else Heroku's default for the service."""
        return self.as_ or default_attachment(self.service)

    @model_validator(mode="after")
    def _data_keys(self) -> AddonSpec:
        problems = data_settings.addon_problems(self)
        if self.backups is not None and self.service != POSTGRES:
            msg = f"backups are only for heroku-postgresql add-ons, not {self.service}"
            problems.insert(0, (("backups",), msg))
        if problems:
            raise rules(problems)
        return self


def attachment_name(local_name: str, addon: AddonSpec) -> str:
    """The attachment name: `as`, else Heroku's default for the service.

    Heroku attaches the first Postgres as DATABASE and Redis as REDIS; any other service is
    attached under its name upper-cased, dashes as underscores. `local_name` does not change
    the default (it is the caller's key, useful in messages).
    """
    return addon.attachment


def default_attachment(service: str) -> str:
    """Heroku's attachment name for an add-on of `service` attached without a name."""
    return DEFAULT_ATTACHMENTS.get(service, service.upper().replace("-", "_"))


def addon_vars(attachment: str, addon: AddonSpec) -> set[str]:
    return {f"{attachment}_{suffix}" for suffix in ADDON_CONFIG_VARS.get(addon.service, ())}


def owned_config_vars(spec: StackFile) -> set[str]:
    """Config vars the declared add-ons set on the app (users may not set them)."""
    owned: set[str] = set()
    for addon in spec.addons.values():
        owned |= addon_vars(addon.attachment, addon)
    return owned


def attachment_problems(spec: StackFile) -> list[tuple[Loc, str]]:
    """Two add-ons under one attachment name; a config var that an add-on sets."""
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, str] = {}
    owners: dict[str, str] = {}
    for local, addon in spec.addons.items():
        name = addon.attachment
        loc: Loc = ("addons", local, "as") if addon.as_ else ("addons", local)
        if name in seen:
            how = "" if addon.as_ else f" (Heroku's default for {addon.service})"
            msg = f"attachment name {name}{how} is already used by addons.{seen[name]}"
            msg += "" if addon.as_ else "; set `as` to another name"
            problems.append((loc, msg))
        seen.setdefault(name, local)
        for var in addon_vars(name, addon):
            owners.setdefault(var, local)
    for var in spec.config:
        if var in owners:
            msg = f"{var} is set by the add-on addons.{owners[var]}; remove it from [config]"
            problems.append((("config", var), msg))
    return problems


# --- plan --------------------------------------------------------------------------------------


def _plan_one(ctx: PlanContext, local: str, spec: AddonSpec, live: LiveAddon | None) -> None:
    attachment = spec.attachment
    common: dict[str, Any] = {"field": "plan", "attachment": attachment}
    if live is None:
        params = {"config": dict(spec.config)}
        ctx.add("create", "addon", local, after=spec.plan, params=params, **common)
        return
    if live.owner != ctx.name:
        note = f"{attachment} is attached from add-on {live.name} of app {live.owner}"
        ctx.add("refused", "addon", local, before=live.plan, after=spec.plan,
                addon_id=live.id, note=note, **common)  # fmt: skip
        return
    if live.service == spec.service:
        ctx.shared.setdefault("live_addons", {})[attachment] = live  # for backups
        if live.plan != spec.plan:
            _plan_upgrade(ctx, local, spec, live, common)
        return
    _plan_replacement(ctx, local, spec, live)


def _plan_upgrade(
    ctx: PlanContext, local: str, spec: AddonSpec, live: LiveAddon, common: dict[str, Any]
) -> None:
    """A plan change in place, as `addons:upgrade`; of a data add-on, only one Heroku makes."""
    rule = data_services.plan_change(live.plan, spec.plan, spec.attachment)
    action: Any = "update" if rule is None or rule.in_place else "refused"
    ctx.add(action, "addon", local, before=live.plan, after=spec.plan, addon_id=live.id,
            note=rule.note if rule else None, **common)  # fmt: skip


def _plan_replacement(ctx: PlanContext, local: str, spec: AddonSpec, live: LiveAddon) -> None:
    """Another service under the same attachment: destroy the old one, create the new one."""
    # Data always needs both `protect = false` and --allow-destroy; others only when
    # the file protects them.
    protected = live.service in DATA_SERVICES or spec.protect is True
    allowed = spec.protect is False and bool({local, live.name} & ctx.allow_destroy)
    common: dict[str, Any] = {"field": "plan", "attachment": spec.attachment}
    if protected and not allowed:
        # Only the steps still missing, so the line says exactly what is left to do.
        steps = [] if spec.protect is False else [f"set addons.{local}.protect = false"]
        if not {local, live.name} & ctx.allow_destroy:
            steps.append(f"pass --allow-destroy {local}")
        note = "destroys its data: " + ", ".join(steps)
        ctx.add("refused", "addon", local, before=live.plan, after=spec.plan,
                addon_id=live.id, note=note, **common)  # fmt: skip
        return
    ctx.add("destroy", "addon", local, before=live.plan, addon_id=live.id,
            note=f"replaced by {spec.plan}", **common)  # fmt: skip
    ctx.add("create", "addon", local, after=spec.plan, params={"config": dict(spec.config)},
            **common)  # fmt: skip


def _plan_removed(ctx: PlanContext, live: LiveAddon) -> None:
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
        ctx.add("refused", "addon", live.name, note=note, **common)
    else:
        ctx.add("destroy", "addon", live.name, note="not in the stack file", **common)


# --- apply -------------------------------------------------------------------------------------


def _apply(run: AppRun, changes: list[Change]) -> None:
    from herokustack.applier import ApplyError

    # Creates and upgrades first, destroys last, so that a create Heroku refuses never
    # follows a destroy. A replacement cannot wait: its new add-on takes the attachment
    # name of the old one (unique per app), so it is created right after that destroy.
    destroys = [c for c in changes if c.action == "destroy"]
    freed = {c.attachment for c in destroys}
    replacing = [c for c in changes if c.action == "create" and c.attachment in freed]
    first = [c for c in changes if c.action != "destroy" and c not in replacing]
    batches = [first, destroys, replacing]
    for index, batch in enumerate(batches):
        try:
            run.parallel(batch, lambda change: _apply_one(run, change))
        except ApplyError:
            run.untried = [c for later in batches[index + 1 :] for c in later]
            raise


def _apply_one(run: AppRun, change: Change) -> None:
    attachment = change.attachment or change.name
    if change.action == "create":
        config = change.params.get("config", {})
        created = run.client.create_addon(run.app, change.after, attachment, config)
        run.shared.setdefault("addon_ids", {})[attachment] = created.id
    elif change.action == "update":
        assert change.addon_id
        run.client.upgrade_addon(run.app, change.addon_id, change.after)
    else:
        assert change.addon_id
        run.client.destroy_addon(run.app, change.addon_id)


def wait_provisioned(run: AppRun, _changes: Sequence[Change] = ()) -> None:
    """Poll the add-ons with backoff until none is provisioning, or the timeout."""
    from herokustack.applier import ApplyError

    run.shared["waited"] = True
    start = time.monotonic()
    delay = run.opts.poll_first
    while True:
        pending = [a for a in run.client.list_addons(run.app) if a.state == "provisioning"]
        if not pending:
            return
        if run.opts.stop.is_set():
            raise ApplyError("interrupted (Ctrl-C) while add-ons were provisioning")
        waited = time.monotonic() - start
        names = ", ".join(a.name for a in pending)
        if waited + delay > run.opts.timeout:
            raise ApplyError(
                f"add-ons still provisioning after {waited:.0f}s: {names} "
                "(raise --timeout, or run apply again later)"
            )
        run.step(f"waiting for add-ons to be provisioned ({names}, {waited:.0f}s)")
        time.sleep(delay)
        delay = min(delay * 1.6, run.opts.poll_max)


def addon_id_of(run: AppRun, change: Change) -> str:
    """The live add-on of a change: planned, created in this run, or looked up now."""
    from herokustack.applier import ApplyError

    attachment = change.attachment or ""
    addon_id = change.addon_id or run.shared.get("addon_ids", {}).get(attachment)
    if addon_id:
        return str(addon_id)
    addon = run.client.find_addon(run.app, attachment)
    if addon is None:
        raise ApplyError(f"no add-on is attached as {attachment}")
    return addon.id


# --- import ------------------------------------------------------------------------------------


def _addon_order(addon: LiveAddon) -> tuple[str, str]:
    return (addon.attachments[0] if addon.attachments else "~", addon.name)


def _base_attachments(base: Mapping[str, Any]) -> dict[str, str]:
    """Attachment name -> local name of the add-ons a partial declares."""
    found: dict[str, str] = {}
    for local, table in (base.get("addons") or {}).items():
        if not isinstance(table, dict):
            continue
        name = table.get("as")
        if not name and isinstance(table.get("plan"), str):
            name = default_attachment(table["plan"].split(":", 1)[0])
        if name:
            found.setdefault(name, local)
    return found


class Addons(Kind):
    name = "addons"
    resource = "addon"
    label = "add-on"
    read_cost = (
        "1 request: GET /apps/{app}/addons, + GET /apps/{app}/addon-attachments when the "
        "config-var suffixes of a service are unknown"
    )
    always_read = True  # an add-on the file does not declare is destroyed (or refused)
    section = "addons"
    expected = {
        "addons": "a table of add-ons",
        "addons.*": 'a table like { plan = "heroku-redis:mini" }',
        "addons.*.[key]": "an add-on name: lower-case letters, digits, - and _, "
        "starting with a letter",
        "addons.*.plan": 'an add-on plan "service:plan" like "heroku-postgresql:standard-0"',
        "addons.*.as": 'an attachment name like "DATABASE": upper-case letters, digits and _, '
        "starting with a letter",
        "addons.*.config": "a table of strings",
    }
    models_at = {"addons.*": AddonSpec}
    named = frozenset({("addons",), ("addons", "*", "config")})

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {"addons": tuple(client.list_addons(app))}

    def read_many(
        self, client: HerokuClient, apps: Sequence[str], hints: Mapping[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """`GET /addon-attachments` and `GET /addons` of the whole account, when their pages
        cost fewer requests than one add-on list per app (three apps at least)."""
        found = client.account_addons(apps) if len(apps) > 2 else None
        return {app: {"addons": tuple(addons)} for app, addons in (found or {}).items()}

    def estimate_many(self, specs: Sequence[StackFile]) -> int | None:
        if len(specs) < 3:
            return None
        return 2 * max(1, -(-sum(len(s.addons) for s in specs) // 1000))

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        return attachment_problems(spec)

    def plan(self, ctx: PlanContext) -> None:
        claimed: set[str] = set()
        for local, spec in ctx.spec.addons.items():
            live = ctx.live.addon_by_attachment(spec.attachment)
            if live is not None:
                claimed.add(live.id)
            _plan_one(ctx, local, spec, live)
        for live in ctx.live.addons:
            if live.owner == ctx.name and live.id not in claimed:
                _plan_removed(ctx, live)

    def steps(self) -> list[Step]:
        return [
            Step(40, "add-ons", _apply),
            Step(60, "wait for add-ons", wait_provisioned, _not_destroy, writes=False),
        ]

    # -- text ---------------------------------------------------------------------------------

    def body(self, change: Change) -> str:
        return super().body(change.model_copy(update={"field": None}))

    def drift_what(self, resource_name: str, field: str | None) -> str:
        return f"{self.label} {resource_name}"

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        declared = ctx.stack.spec.addons
        replaced = _replaced(ctx)
        if change.action == "destroy" and change.name in replaced:
            return None  # told with the create that replaces it
        if change.name not in declared:
            return _undeclared(change, ctx)
        if change.action == "create" and change.name in replaced:
            return {
                "kind": "changed",
                "live": replaced[change.name].before,
                "declared": change.after,
                "note": change.note,
            }
        return super().drift_item(change, ctx)

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        live = builder.live
        owned: dict[str, str] = builder.shared.setdefault("owned", {})
        table: dict[str, Any] = {}
        base_names = _base_attachments(builder.base)
        for addon in sorted(live.addons, key=_addon_order):
            if addon.owner != live.name:
                _attached_from_elsewhere(builder, addon, owned)
                continue
            if not addon.attachments:
                builder.note("addons", f"add-on {addon.name} ({addon.plan}) has no attachment here")
                continue
            attachment = addon.attachments[0]
            local = base_names.get(attachment) or attachment.lower()
            table[local] = _import_one(builder, addon, attachment, local)
            for var in addon.config_vars:
                owned.setdefault(var, f"is owned by add-on {local}")
            for other in addon.attachments[1:]:
                builder.note("addons", f"add-on {local} is also attached as {other} (not managed)")
        if table:
            builder.note(
                "addons", "add-on provisioning options (`config`) cannot be read from Heroku"
            )
        doc["addons"] = table

    def write_section(self, doc: Any, values: Mapping[str, Any], notes: Sequence[str]) -> None:
        import tomlkit

        if values:
            # A super table ([addons.x] only) has no body of its own to hold comments.
            doc.add(tomlkit.nl())
            toml_comments(doc, notes)
        if values or notes:
            table = tomlkit.table(is_super_table=bool(values))
            for local in sorted(values):
                table[local] = toml_table(values[local], model_keys(AddonSpec))
            if not values:
                toml_comments(table, notes)
            doc["addons"] = table

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for addon in live.addons:
            for name in addon.attachments or (addon.name,):
                parts[f"addon.{name}"] = [addon.id, addon.plan, addon.owner]
        return parts

    def touched_parts(self, change: Change) -> list[str]:
        return [f"addon.{change.attachment or change.name}"]


def _not_destroy(change: Change) -> bool:
    return change.action != "destroy"


def _replaced(ctx: DriftContext) -> dict[str, Change]:
    """Declared add-ons the plan replaces (destroy, then create under the same name)."""
    return {
        c.name: c
        for c in ctx.changes
        if c.resource == "addon" and c.action == "destroy" and c.name in ctx.stack.spec.addons
    }


def _undeclared(change: Change, ctx: DriftContext) -> dict[str, Any]:
    addon = next((a for a in ctx.live.addons if a.id == (change.addon_id or "")), None)
    plan = addon.plan if addon else str(change.before)
    attachment = f"{change.attachment}: " if change.attachment else ""
    note = "holds data: apply never destroys it" if change.action == "refused" else None
    return {
        "kind": "undeclared",
        "live": f"{attachment}{plan}",
        "note": note or "apply would destroy it",
        "monthly_cents": ctx.prices.addon(plan),
    }


def _import_one(builder: Builder, addon: LiveAddon, attachment: str, local: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"plan": addon.plan}
    if attachment != default_attachment(addon.service):
        spec["as"] = attachment
    base = (builder.base.get("addons") or {}).get(local) or {}
    for key in ("protect", "config"):  # not readable from Heroku: the partial's stand
        if key in base:
            spec[key] = base[key]
    if addon.service == POSTGRES:
        schedule = backup_kind.import_backups(builder, addon, attachment, local)
        if schedule:
            spec["backups"] = schedule
    data_settings.import_addon(builder, addon, spec)
    return spec


def _attached_from_elsewhere(builder: Builder, addon: LiveAddon, owned: dict[str, str]) -> None:
    names = ", ".join(addon.attachments) or "no name"
    builder.note(
        "addons",
        f"{names}: add-on {addon.name} ({addon.plan}) of app {addon.owner} is attached "
        "here; declare it in that app's stack file",
    )
    for var in addon.config_vars:
        owned.setdefault(var, f"is owned by add-on {addon.name} of app {addon.owner}")


KIND = Addons()
