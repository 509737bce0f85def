"""Property: for any valid stack file and any starting live state, apply then plan is empty.

One emulator for the module, a fresh app name per example. Live states are made by applying
another random stack file (with its code "deployed") and then changing things by hand.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import RELEASED, SECRET, Heroku, unique_name, write_stack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herokustack import session
from herokustack.client import HerokuClient
from herokustack.emulator import EmulatorServer
from herokustack.resources.data_services import plan_change
from herokustack.stackfile import load_stack

ENV = {"APP_SECRET": SECRET}

sizes = st.sampled_from(["standard-1x", "standard-2x", "performance-m"])
process = st.fixed_dictionaries({"quantity": st.integers(0, 3), "size": sizes})
backups = st.builds(
    lambda hour, tz: {"at": f"{hour:02d}:00", "timezone": tz},
    st.integers(0, 23),
    st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]),
)


def plan_of(*plans: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"plan": st.sampled_from(plans)})


addons = st.fixed_dictionaries(
    {},
    optional={
        "database": st.fixed_dictionaries(
            {
                "plan": st.sampled_from(
                    ["heroku-postgresql:essential-0", "heroku-postgresql:standard-0"]
                )
            },
            optional={"backups": backups},
        ),
        "redis": plan_of("heroku-redis:mini", "heroku-redis:premium-0"),
        "logging": plan_of("papertrail:choklad", "papertrail:fixa"),
        "errors": plan_of("sentry:f1", "sentry:team"),
    },
)
values = st.text(alphabet="abcXYZ019 -_/:", min_size=1, max_size=8)
config = st.dictionaries(st.sampled_from(["A_VAR", "B_VAR", "FEATURE", "MODE"]), values, max_size=3)
# Any order of any few (empty: not declared, so not managed).
buildpacks = st.lists(
    st.sampled_from(["heroku/python", "heroku/nodejs", "https://example.com/pack.tgz"]),
    unique=True,
    max_size=3,
)
features = st.dictionaries(
    st.sampled_from(["preboot", "http-session-affinity", "runtime-dyno-metadata"]),
    st.booleans(),
    max_size=2,
)
# Personal (owner not managed), or the emulator's team, locked or not (or the lock unmanaged).
teams = st.sampled_from(
    [{}, {"team": "acme"}, {"team": "acme", "locked": True}, {"team": "acme", "locked": False}]
)

# Custom domains of the app (None: not declared, so not managed), from a few host names.
subdomains = st.none() | st.lists(st.sampled_from(["www", "api", "*"]), unique=True, max_size=2)

# Collaborators of a personal app (no permissions); a third one may be added by hand.
PEOPLE = ["ann@example.com", "ben@example.com", "cat@example.com"]
access = st.dictionaries(st.sampled_from(PEOPLE[:2]), st.just([]), max_size=2)


@st.composite
def stack_docs(draw: st.DrawFn, name: str) -> dict[str, Any]:
    cfg: dict[str, Any] = dict(draw(config))
    if draw(st.booleans()):
        cfg["SECRET_KEY"] = {"from_env": "APP_SECRET"}
    app: dict[str, Any] = {
        "name": name,
        "environment": "staging",
        "stack": draw(st.sampled_from(["heroku-22", "heroku-24"])),
        "maintenance": draw(st.booleans()),
        "prune_config": draw(st.booleans()),
        "prune_access": draw(st.booleans()),
        **draw(teams),
    }
    acm, subs = draw(st.none() | st.booleans()), draw(subdomains)
    if acm is not None:
        app["acm"] = acm
    domains = {} if subs is None else {"domains": [f"{s}.{name}.example.com" for s in subs]}
    return {
        **domains,
        "app": app,
        # A worker is declared with web only: the released web dyno runs, so a stack file that
        # left it out (on Basic) and put worker on Standard-1X asks Heroku to mix dyno tiers.
        "formation": draw(
            st.just({}) | st.fixed_dictionaries({"web": process}, optional={"worker": process})
        ),
        "addons": draw(addons),
        "config": cfg,
        "buildpacks": draw(buildpacks),
        "features": draw(features),
        "access": draw(access),
    }


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    name = unique_name("p")
    return {
        "name": name,
        "start": draw(st.none() | stack_docs(name)),
        "tweaks": draw(
            st.fixed_dictionaries(
                {
                    "config": st.dictionaries(
                        st.sampled_from(["A_VAR", "HANDMADE"]), values, max_size=2
                    ),
                    "web": st.none() | st.integers(0, 4),
                    "maintenance": st.none() | st.booleans(),
                    "buildpacks": st.none() | buildpacks,
                    "features": features,
                    "domain": st.booleans(),  # a custom domain added by hand
                    "acm": st.none() | st.booleans(),
                    "collaborator": st.none() | st.sampled_from(PEOPLE[1:]),
                }
            )
        ),
        "target": draw(stack_docs(name)),
    }


@pytest.fixture(scope="module")
def target() -> Any:
    with EmulatorServer(provision_delay=0.0) as emu:
        yield emu, session.Target(HerokuClient(emu.url, emu.api_key))


def apply_doc(tgt: session.Target, directory: Path, doc: dict[str, Any]) -> Any:
    stack = load_stack(write_stack(directory, doc))
    configs = session.resolve_configs([stack], ENV)
    plan = session.compute_plan(tgt, [stack], configs)
    result = session.run_apply(tgt, plan, configs, timeout=30)
    assert result.ok, [o.error for o in result.apps]
    return stack, configs


def tweak(heroku: Heroku, name: str, tweaks: dict[str, Any]) -> None:
    if tweaks["config"]:
        heroku.patch(f"/apps/{name}/config-vars", tweaks["config"])
    if tweaks["web"] is not None:
        heroku.patch(
            f"/apps/{name}/formation",
            {"updates": [{"type": "web", "quantity": tweaks["web"], "size": "standard-1x"}]},
        )
    if tweaks["maintenance"] is not None:
        heroku.patch(f"/apps/{name}", {"maintenance": tweaks["maintenance"]})
    if tweaks["buildpacks"] is not None:
        updates = [{"buildpack": b} for b in tweaks["buildpacks"]]
        heroku.request("PUT", f"/apps/{name}/buildpack-installations", {"updates": updates})
    for feature, enabled in tweaks["features"].items():
        heroku.request("PATCH", f"/apps/{name}/features/{feature}", {"enabled": enabled})
    if tweaks["domain"]:
        body = {"hostname": f"hand.{name}.example.com", "sni_endpoint": None}
        heroku.post(f"/apps/{name}/domains", body)
    if tweaks["acm"] is not None:
        heroku.request("POST" if tweaks["acm"] else "DELETE", f"/apps/{name}/acm", {})
    if tweaks["collaborator"] is not None:  # a 422 when already one: then nothing changes
        url = f"{heroku.emu.url}/apps/{name}/collaborators"
        heroku.session.post(url, json={"user": tweaks["collaborator"]}, timeout=10)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_apply_then_plan_is_empty(target: Any, scenario: dict[str, Any]) -> None:
    emu, tgt = target
    heroku = Heroku(emu)
    name = scenario["name"]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        if scenario["start"] is not None:
            apply_doc(tgt, directory, scenario["start"])
            emu.deploy(name, RELEASED)
            tweak(heroku, name, scenario["tweaks"])
        stack, configs = apply_doc(tgt, directory, scenario["target"])
        plan = session.compute_plan(tgt, [stack], configs)
    left = plan.apps[0].changes
    start_addons = (scenario["start"] or {}).get("addons", {})
    for change in left:
        if change.action == "deferred":
            assert scenario["start"] is None  # no code was ever deployed to this app
        elif change.after is not None:
            # A Postgres plan change Heroku cannot make in place (Essential <-> other tiers).
            assert change.action == "refused" and change.resource == "addon", change
            rule = plan_change(change.before, change.after, change.attachment or "")
            assert rule is not None and not rule.in_place, change
        else:
            # Only a data add-on removed from the file is left: refused, never destroyed.
            assert change.action == "refused" and change.resource == "addon", change
            assert change.before.split(":")[0] in ("heroku-postgresql", "heroku-redis")
            local = "database" if change.before.startswith("heroku-postgresql") else "redis"
            assert local in start_addons and local not in scenario["target"]["addons"]
