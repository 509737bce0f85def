"""The planner on hand-built live states: ordering, protection, secrets, pruning, deferral."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from herokustack import resources
from herokustack.facts import LiveAddon, LiveAppInfo, LiveProcess, LiveSchedule, LiveState
from herokustack.planner import (
    AppPlan,
    hash_key,
    make_plan,
    plan_app,
    secret_hash,
)
from herokustack.render import plan_json, plan_text
from herokustack.stackfile import ConfigEntry, Stack, load_stack, resolve_config

SECRET = "hunter2-but-longer-0042"
NAME = "acme-unit"
KEY = hash_key("s", b"unit-test pepper")


def stack(tmp_path: Path, **sections: Any) -> Stack:
    doc: dict[str, Any] = {"app": {"name": NAME, "environment": "production"}}
    for key, value in sections.items():
        if key == "app":
            doc["app"].update(value)
        else:
            doc[key] = value
    path = tmp_path / "unit.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return load_stack(path)


def live(**fields: Any) -> LiveState:
    app = LiveAppInfo(
        name=NAME,
        id="app-1",
        region=fields.pop("region", "us"),
        stack=fields.pop("stack", "heroku-24"),
        build_stack=fields.pop("build_stack", "heroku-24"),
        maintenance=fields.pop("maintenance", False),
    )
    return LiveState(name=NAME, app=app, **fields)


def addon(service: str, plan: str, attachment: str, owner: str = NAME, **kw: Any) -> LiveAddon:
    suffix = "URL" if service.startswith("heroku-") else "API_TOKEN"
    return LiveAddon(
        id=kw.pop("id", f"id-{attachment.lower()}"),
        name=kw.pop("name", f"{service}-1234"),
        service=service,
        plan=plan,
        state="provisioned",
        owner=owner,
        attachments=(attachment,),
        config_vars=(f"{attachment}_{suffix}",),
    )


def changes(plan: AppPlan) -> list[tuple[str, str, str, str | None]]:
    return [(c.action, c.resource, c.name, c.field) for c in plan.changes]


def test_new_app_changes_come_in_the_documented_order(tmp_path: Path):
    s = stack(
        tmp_path,
        app={"maintenance": True},
        formation={"web": {"quantity": 1}},
        addons={"db": {"plan": "heroku-postgresql:essential-0", "backups": {"at": "03:00"}}},
        config={"A": "1"},
    )
    plan = plan_app(s, resolve_config(s, {}), LiveState(name=NAME), key=KEY)
    order = [resources.order_of(c.resource) for c in plan.changes]
    assert order == sorted(order)
    assert changes(plan)[0] == ("create", "app", NAME, None)
    assert ("deferred", "formation", "web", None) in changes(plan)


def test_assumed_release_plans_formation_of_a_new_app(tmp_path: Path):
    s = stack(tmp_path, formation={"web": {"quantity": 2}})
    plan = plan_app(s, {}, LiveState(name=NAME), key=KEY, assume_released=["web", "worker"])
    [formation] = [c for c in plan.changes if c.resource == "formation"]
    assert (formation.action, formation.after) == ("create", {"quantity": 2, "size": "standard-1x"})


def test_region_is_refused_and_stack_is_a_build_stack_update(tmp_path: Path):
    s = stack(tmp_path, app={"region": "eu", "stack": "heroku-24"})
    plan = plan_app(s, {}, live(region="us", stack="heroku-22", build_stack="heroku-22"), key=KEY)
    region, build = plan.changes
    assert (region.action, region.field, region.before, region.after) == (
        "refused",
        "region",
        "us",
        "eu",
    )
    assert "cannot move region" in (region.note or "")
    assert (build.action, build.field, build.after) == ("update", "build_stack", "heroku-24")
    assert build.note == "takes effect at next deploy"
    # Once build_stack is set, the running stack changes only at the next deploy: no change.
    pending = live(region="eu", stack="heroku-22", build_stack="heroku-24")
    assert plan_app(s, {}, pending, key=KEY).changes == []


def test_secrets_never_enter_the_plan(tmp_path: Path):
    s = stack(tmp_path, config={"KEY": {"from_env": "K"}, "PLAIN": "p"})
    config = resolve_config(s, {"K": SECRET})
    state = live(config={"KEY": "old-secret-value-99", "PLAIN": "p"})
    plan = make_plan([s], {NAME: config}, {NAME: state}, salt="salt", pepper=b"pepper")
    [change] = plan.apps[0].changes
    assert change.sensitive and change.before is None and change.after is None
    assert change.value_hash == secret_hash(hash_key("salt", b"pepper"), "KEY", SECRET)
    # Keyed: the salt in the file is not enough to test a guess.
    assert change.value_hash != secret_hash(hash_key("salt", b""), "KEY", SECRET)
    assert change.note == "(sensitive value changed)"
    for text in (plan.model_dump_json(), plan_json(plan), plan_text(plan), repr(plan)):
        assert SECRET not in text and "old-secret-value-99" not in text
    assert "~ config KEY (sensitive value changed)" in plan_text(plan)


def test_prune_keeps_addon_vars_and_hides_values(tmp_path: Path):
    s = stack(
        tmp_path,
        app={"prune_config": True},
        addons={"logs": {"plan": "papertrail:choklad", "as": "LOGS"}},
        config={"KEEP": "1"},
    )
    state = live(
        addons=(
            addon("heroku-postgresql", "heroku-postgresql:essential-0", "DATABASE"),
            addon("papertrail", "papertrail:choklad", "LOGS"),
        ),
        config={"KEEP": "1", "DATABASE_URL": "postgres://x", "LOGS_API_TOKEN": "t", "OLD": "v1"},
    )
    plan = plan_app(s, resolve_config(s, {}), state, key=KEY)
    removed = [c for c in plan.changes if c.resource == "config"]
    assert [(c.action, c.name, c.before) for c in removed] == [("destroy", "OLD", None)]


def test_prune_keeps_an_optional_secret_that_is_not_set(tmp_path: Path):
    optional = {"from_env": "MAYBE", "optional": True}
    s = stack(tmp_path, app={"prune_config": True}, config={"RELEASE": optional})
    state = live(config={"RELEASE": "v41", "STRAY": "x"})
    plan = plan_app(s, resolve_config(s, {}), state, key=KEY)
    assert [(c.action, c.name) for c in plan.changes] == [("destroy", "STRAY")]


def test_removed_data_addons_are_refused_others_destroyed_foreign_ignored(tmp_path: Path):
    s = stack(tmp_path)
    state = live(
        addons=(
            addon("heroku-postgresql", "heroku-postgresql:standard-0", "DATABASE"),
            addon("heroku-redis", "heroku-redis:mini", "REDIS"),
            addon("papertrail", "papertrail:choklad", "PAPERTRAIL"),
            addon("sentry", "sentry:f1", "SENTRY", owner="another-app"),
        )
    )
    plan = plan_app(s, {}, state, key=KEY)
    assert [(c.action, c.attachment) for c in plan.changes] == [
        ("refused", "DATABASE"),
        ("refused", "REDIS"),
        ("destroy", "PAPERTRAIL"),
    ]
    assert plan.summary.refused == 2 and plan.summary.destroy == 1


def test_replacing_a_data_addon_needs_protect_false_and_allow_destroy(tmp_path: Path):
    spec = {"plan": "heroku-redis:mini", "as": "CACHE"}
    state = live(addons=(addon("heroku-postgresql", "heroku-postgresql:mini", "CACHE"),))
    s = stack(tmp_path, addons={"cache": spec})
    start = "destroys its data: "
    both = plan_app(s, {}, state, key=KEY)
    assert [c.action for c in both.changes] == ["refused"]
    assert both.changes[0].note == (
        start + "set addons.cache.protect = false, pass --allow-destroy cache"
    )
    refused = plan_app(s, {}, state, key=KEY, allow_destroy=["cache"])
    assert [c.action for c in refused.changes] == ["refused"]
    assert refused.changes[0].note == start + "set addons.cache.protect = false"

    s = stack(tmp_path, addons={"cache": {**spec, "protect": False}})
    unprotected = plan_app(s, {}, state, key=KEY)
    assert [c.action for c in unprotected.changes] == ["refused"]
    assert unprotected.changes[0].note == start + "pass --allow-destroy cache"
    allowed = plan_app(s, {}, state, key=KEY, allow_destroy=["cache"])
    assert [(c.action, c.resource) for c in allowed.changes] == [
        ("destroy", "addon"),
        ("create", "addon"),
    ]


def test_formation_of_an_unreleased_type_is_deferred_alone(tmp_path: Path):
    s = stack(tmp_path, formation={"web": {"quantity": 2}, "clock": {"quantity": 1}})
    state = live(formation={"web": LiveProcess(type="web", quantity=1, size="basic")})
    plan = plan_app(s, {}, state, key=KEY)
    assert changes(plan) == [
        ("update", "formation", "web", "quantity"),
        ("update", "formation", "web", "size"),
        ("deferred", "formation", "clock", None),
    ]
    assert "not released yet" in (plan.changes[-1].note or "")


def test_backup_schedule_changes(tmp_path: Path):
    db = addon("heroku-postgresql", "heroku-postgresql:essential-0", "DATABASE")
    sched = LiveSchedule(uuid="u1", name="DATABASE_URL", hour=2, timezone="UTC")
    spec = {"plan": db.plan, "backups": {"at": "02:00", "timezone": "Europe/Paris"}}
    state = live(addons=(db,), schedules={db.id: (sched,)})
    plan = plan_app(stack(tmp_path, addons={"database": spec}), {}, state, key=KEY)
    [change] = plan.changes
    assert (change.action, change.before, change.after) == (
        "update",
        "02:00 UTC",
        "02:00 Europe/Paris",
    )
    removed = plan_app(stack(tmp_path, addons={"database": {"plan": db.plan}}), {}, state, key=KEY)
    assert [(c.action, c.params.get("uuid")) for c in removed.changes] == [("destroy", "u1")]


def test_summary_line_and_empty_plan_text(tmp_path: Path):
    s = stack(tmp_path, config={"A": "1", "B": "2"}, app={"maintenance": True})
    plan = make_plan([s], {NAME: resolve_config(s, {})}, {NAME: live(config={"A": "0"})})
    assert f"{NAME}: 1 to add, 2 to change, 0 to destroy" in plan_text(plan)
    same = live(config={"A": "1", "B": "2"}, maintenance=True)
    empty = make_plan([s], {NAME: resolve_config(s, {})}, {NAME: same})
    assert not empty.has_changes
    assert "No changes: live state matches the stack files." in plan_text(empty)


def test_config_entry_repr_hides_secret():
    assert SECRET not in repr(ConfigEntry(SECRET, sensitive=True))
