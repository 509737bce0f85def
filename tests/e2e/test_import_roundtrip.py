"""Round trip: stack file → apply → import → a file that describes the same app."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import SECRET, Cli, converge, unique_name, write_stack
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from herokustack.emulator import EmulatorServer
from herokustack.stackfile import Stack, attachment_name, load_stack, resolve_config

LITERAL_NAMES = ("LOG_LEVEL", "FEATURE_FLAGS", "WEB_CONCURRENCY", "TZ", "PYTHONUNBUFFERED")
# Short, low-entropy values: nothing `check` would take for a secret, so import may inline them.
VALUES = st.text(alphabet="abcdefgh0123456789-.", min_size=1, max_size=12)
ENVIRON = {"APP_SECRET": SECRET, "SECRET_KEY": SECRET}


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(provision_delay=0) as server:
        yield server


# Every kind of thing at once, so that each run covers all of them.
FULL: dict[str, Any] = {
    "app": {"name": "rt-full", "environment": "staging", "region": "eu", "stack": "heroku-22",
            "maintenance": True},
    "formation": {"web": {"quantity": 2, "size": "standard-2x"},
                  "worker": {"quantity": 1, "size": "standard-2x"}},
    "addons": {
        "db": {"plan": "heroku-postgresql:essential-1", "as": "MAIN_DB",
               "backups": {"at": "05:00", "timezone": "Europe/Paris"}},
        "cache": {"plan": "heroku-redis:mini"},
        "logging": {"plan": "papertrail:fixa", "as": "LOGS"},
    },
    "config": {"LOG_LEVEL": "info", "TZ": "UTC", "SECRET_KEY": {"from_env": "APP_SECRET"}},
}  # fmt: skip


@st.composite
def stack_docs(draw: st.DrawFn) -> dict[str, Any]:
    size = draw(st.sampled_from(["basic", "standard-1x", "standard-2x", "performance-m"]))
    most = 1 if size == "basic" else 4
    formation = {
        ptype: {"quantity": draw(st.integers(0, most)), "size": size} for ptype in ("web", "worker")
    }
    addons: dict[str, Any] = {}
    if draw(st.booleans()):
        db: dict[str, Any] = {
            "plan": draw(
                st.sampled_from(["heroku-postgresql:essential-0", "heroku-postgresql:essential-1"])
            )
        }
        if draw(st.booleans()):
            db["as"] = "MAIN_DB"
        if draw(st.booleans()):
            hour = draw(st.integers(0, 23))
            zone = draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]))
            db["backups"] = {"at": f"{hour:02d}:00", "timezone": zone}
        addons["db"] = db
    if draw(st.booleans()):
        addons["cache"] = {"plan": "heroku-redis:mini"}
    if draw(st.booleans()):
        logs: dict[str, Any] = {
            "plan": draw(st.sampled_from(["papertrail:choklad", "papertrail:fixa"]))
        }
        if draw(st.booleans()):
            logs["as"] = "LOGS"
        addons["logging"] = logs
    config: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(LITERAL_NAMES), VALUES, max_size=4)
    )
    if draw(st.booleans()):
        config["SECRET_KEY"] = {"from_env": "APP_SECRET"}
    app = {
        "name": unique_name("rt"),
        "environment": draw(st.sampled_from(["production", "staging", "review", "development"])),
        "region": draw(st.sampled_from(["us", "eu"])),
        "stack": draw(st.sampled_from(["heroku-22", "heroku-24"])),
        "maintenance": draw(st.booleans()),
    }
    return {"app": app, "formation": formation, "addons": addons, "config": config}


def described(stack: Stack) -> dict[str, Any]:
    """What a stack file says about the app, whatever its local names and secret sources."""
    spec = stack.spec
    return {
        "app": spec.app.model_dump(),
        "formation": {k: v.model_dump() for k, v in spec.formation.items()},
        "addons": {
            attachment_name(local, addon): (addon.plan, addon.backups)
            for local, addon in spec.addons.items()
        },
        "config": {k: e.value for k, e in resolve_config(stack, ENVIRON).items()},
    }


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=stack_docs())
@example(doc=FULL)
def test_apply_then_import_describes_the_same_app(
    cli: Cli, emu: EmulatorServer, doc: dict[str, Any]
):
    with tempfile.TemporaryDirectory() as tmp:
        original = write_stack(Path(tmp), doc)
        converge(cli, emu, original)
        # Beside the original, import would refuse: the app is declared there already.
        imported = Path(tmp) / "imported" / "imported.toml"
        literals = ",".join(k for k, v in doc["config"].items() if isinstance(v, str))
        args = ["--inline-config", literals] if literals else []
        environment = doc["app"]["environment"]
        result = cli("import", doc["app"]["name"], "--out", str(imported),
                     "--environment", environment, *args)  # fmt: skip
        assert result.exit_code == 0, result.output
        assert SECRET not in imported.read_text()
        assert described(load_stack(imported)) == described(load_stack(original))
        plan = cli("plan", str(imported), "--detailed-exitcode", env={"SECRET_KEY": SECRET})
        assert plan.exit_code == 0, plan.output
