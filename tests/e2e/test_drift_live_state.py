"""Drift on live states the emulator cannot easily produce: shared add-ons, another region,
another service behind an attachment, secret-looking live values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from herokustack.cost import FallbackPrices, PriceBook
from herokustack.drift import AppDrift, DriftReport, app_drift, drift_config, drift_text
from herokustack.facts import LiveAddon, LiveAppInfo, LiveSchedule, LiveState
from herokustack.planner import make_plan
from herokustack.stackfile import load_stack

STACK = """
[app]
name = "acme-web"
environment = "production"
region = "eu"

[addons.logs]
plan = "papertrail:choklad"
as = "LOGS"

[config]
API_BASE = "https://api.example.com"
"""


def live_state(region: str = "eu", addons: tuple[LiveAddon, ...] = (), **kwargs: Any) -> LiveState:
    info = LiveAppInfo(name="acme-web", id="app-1", region=region, stack="heroku-24",
                       build_stack="heroku-24", maintenance=False)  # fmt: skip
    config = kwargs.pop("config", {"API_BASE": "https://api.example.com", "LOGS_API_TOKEN": "t"})
    return LiveState(name="acme-web", app=info, addons=addons, config=config, **kwargs)


def addon(plan: str, owner: str = "acme-web", name: str = "logs-1") -> LiveAddon:
    return LiveAddon(id=f"id-{name}", name=name, service=plan.split(":")[0], plan=plan,
                     state="provisioned", owner=owner, attachments=("LOGS",),
                     config_vars=("LOGS_API_TOKEN",))  # fmt: skip


def drift_of(tmp_path: Path, live: LiveState, text: str = STACK) -> AppDrift:
    path = tmp_path / "acme-web.toml"
    path.write_text(text)
    stack = load_stack(path)
    config, _ = drift_config(stack, live, {})
    plan = make_plan([stack], {stack.name: config}, {stack.name: live})
    return app_drift(stack, plan.apps[0], live, FallbackPrices(PriceBook.builtin()))


def test_matching_app_has_no_drift(tmp_path: Path):
    drift = drift_of(tmp_path, live_state(addons=(addon("papertrail:choklad"),)))
    assert drift.items == [] and drift.notes == []


def test_shared_addon_with_the_declared_plan_is_a_note_not_drift(tmp_path: Path):
    shared = addon("papertrail:choklad", owner="acme-core", name="shared-logs")
    drift = drift_of(tmp_path, live_state(addons=(shared,)))
    assert drift.items == []
    assert drift.notes == ["add-on logs: LOGS is attached from add-on shared-logs of app acme-core"]


def test_other_region_is_drift_with_the_way_out(tmp_path: Path):
    drift = drift_of(tmp_path, live_state(region="us", addons=(addon("papertrail:choklad"),)))
    [item] = drift.items
    assert (item.kind, item.resource, item.field, item.live, item.declared) == (
        "changed", "app", "region", "us", "eu",
    )  # fmt: skip
    assert "create a new app in 'eu'" in (item.note or "")


def test_other_service_behind_the_attachment_is_one_change(tmp_path: Path):
    drift = drift_of(tmp_path, live_state(addons=(addon("sentry:f1"),)))
    [item] = drift.items
    assert item.text == "add-on logs: live sentry:f1 → declared papertrail:choklad"


def test_secret_looking_live_value_of_a_literal_is_hidden(tmp_path: Path):
    token = "sk_live_abcdefghijklmnopqrstuvwx"
    live = live_state(addons=(addon("papertrail:choklad"),), config={"API_BASE": token})
    drift = drift_of(tmp_path, live)
    [item] = drift.items
    assert item.live == "(sensitive)"
    assert token not in drift_text(DriftReport(apps=[drift]))


def test_undeclared_backup_schedule_is_drift(tmp_path: Path):
    db = LiveAddon(id="id-db", name="db-1", service="heroku-postgresql",
                   plan="heroku-postgresql:essential-0", state="provisioned", owner="acme-web",
                   attachments=("DATABASE",), config_vars=("DATABASE_URL",))  # fmt: skip
    schedule = LiveSchedule(uuid="u1", name="DATABASE_URL", hour=2, timezone="UTC")
    live = live_state(addons=(addon("papertrail:choklad"), db), schedules={"id-db": (schedule,)})
    text = STACK + '\n[addons.database]\nplan = "heroku-postgresql:essential-0"\n'
    drift = drift_of(tmp_path, live, text)
    [item] = drift.items
    assert item.text == "backup database schedule: on Heroku (daily at 02:00 UTC), not declared"
