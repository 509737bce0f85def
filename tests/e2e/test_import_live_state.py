"""`import_live` on live states the emulator cannot easily produce (Private Spaces, add-ons
attached from other apps, legacy sizes): what is left out is said, what cannot be is refused."""

from __future__ import annotations

from typing import Any

import pytest
import tomli
from hypothesis import given, settings
from hypothesis import strategies as st

from herokustack.facts import LiveAddon, LiveAppInfo, LiveProcess, LiveSchedule, LiveState
from herokustack.importer import ImportOptions, ImportProblem, import_live
from herokustack.resources.app import guess_environment
from herokustack.stackfile import StackFile, resolve_config

SECRET = "pa55-Word-Value-that-must-stay-out-1234567"


def live_state(name: str = "acme-web", region: str = "us", **kwargs: Any) -> LiveState:
    build_stack = kwargs.pop("build_stack", "heroku-24")
    info = LiveAppInfo(name=name, id="app-1", region=region, stack="heroku-24",
                       build_stack=build_stack, maintenance=False)  # fmt: skip
    return LiveState(name=name, app=info, **kwargs)


def addon(name: str, plan: str, attachments: tuple[str, ...], owner: str = "acme-web",
          config_vars: tuple[str, ...] = ()) -> LiveAddon:  # fmt: skip
    return LiveAddon(id=f"id-{name}", name=name, service=plan.split(":")[0], plan=plan,
                     state="provisioned", owner=owner, attachments=attachments,
                     config_vars=config_vars)  # fmt: skip


def test_addon_attached_from_another_app_is_left_out_with_a_comment():
    shared = addon("shared-db", "heroku-postgresql:standard-0", ("SHARED",), owner="acme-core",
                   config_vars=("SHARED_URL",))  # fmt: skip
    live = live_state(addons=(shared,), config={"SHARED_URL": SECRET, "TZ": "UTC"})

    imported = import_live(live, ImportOptions(environment="production"))

    doc = tomli.loads(imported.text)
    assert doc.get("addons", {}) == {}
    assert doc["config"] == {"TZ": {"from_env": "TZ"}}
    assert "# SHARED: add-on shared-db (heroku-postgresql:standard-0) of app acme-core" in (
        imported.text
    )
    assert "# SHARED_URL is owned by add-on shared-db of app acme-core" in imported.text
    assert SECRET not in imported.text


def test_second_attachment_and_extra_schedules_are_noted():
    db = addon("db-1", "heroku-postgresql:essential-0", ("DATABASE", "REPORTING"),
               config_vars=("DATABASE_URL", "REPORTING_URL"))  # fmt: skip
    schedules = (
        LiveSchedule(uuid="s1", name="REPORTING_URL", hour=1, timezone="UTC"),
        LiveSchedule(uuid="s2", name="DATABASE_URL", hour=4, timezone="Europe/Paris"),
    )
    live = live_state(addons=(db,), schedules={"id-db-1": schedules},
                      config={"DATABASE_URL": "x", "REPORTING_URL": "x"})  # fmt: skip

    imported = import_live(live, ImportOptions(environment="staging"))

    assert tomli.loads(imported.text)["addons"] == {
        "database": {
            "plan": "heroku-postgresql:essential-0",
            "backups": {"at": "04:00", "timezone": "Europe/Paris"},
        }
    }
    assert "add-on database is also attached as REPORTING (not managed)" in imported.notes
    assert "addons.database: backup schedule REPORTING_URL not managed" in imported.notes


@pytest.mark.parametrize(
    ("live", "message"),
    [
        (live_state(region="tokyo"), "region 'tokyo' (a Private Space?) cannot be declared"),
        (live_state(build_stack="container"), "stack 'container' cannot be declared"),
        (
            live_state(formation={"web": LiveProcess(type="web", quantity=1, size="hobby")}),
            "formation.web: dyno size 'hobby' cannot be declared",
        ),
    ],
    ids=["private-space", "container-stack", "legacy-size"],
)
def test_what_a_stack_file_cannot_declare_is_one_clear_error(live: LiveState, message: str):
    with pytest.raises(ImportProblem) as caught:
        import_live(live, ImportOptions(environment="production"))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_invalid_config_var_names_are_left_out_with_a_comment():
    live = live_state(config={"my.setting": SECRET, "OK": "1"})
    imported = import_live(live, ImportOptions(environment="production"))
    assert tomli.loads(imported.text)["config"] == {"OK": {"from_env": "OK"}}
    assert "# config var 'my.setting' cannot be declared (not a valid name)" in imported.text
    assert SECRET not in imported.text


@pytest.mark.parametrize(
    ("name", "expected"),
    [("acme-staging", "staging"), ("acme-pr-42", "review"), ("acme_dev", "development"),
     ("acme-web", "production"), ("devious-app", "production")],
)  # fmt: skip
def test_environment_is_guessed_from_words_of_the_name(name: str, expected: str):
    assert guess_environment(name) == expected


CONFIG_NAMES = st.from_regex(r"\A[A-Z][A-Z0-9_]{0,10}\Z")
VALUES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(config=st.dictionaries(CONFIG_NAMES, VALUES, max_size=6), data=st.data())
def test_imported_file_never_holds_a_value_that_was_not_inlined(
    config: dict[str, str], data: st.DataObject
):
    inline = data.draw(st.sets(st.sampled_from(sorted(config)))) if config else set()
    live = live_state(config=config)

    try:
        imported = import_live(live, ImportOptions("production", frozenset(inline), force=True))
    except ImportProblem as exc:
        pytest.fail(f"unexpected: {exc}")

    spec = StackFile.model_validate(tomli.loads(imported.text))
    assert spec == imported.spec
    resolved = {k: e.value for k, e in resolve_config_of(spec, config).items()}
    assert resolved == config  # with the variables set, the file gives back the live values
    for key, value in spec.config.items():
        assert isinstance(value, str) == (key in inline)


def resolve_config_of(spec: StackFile, environ: dict[str, str]) -> dict[str, Any]:
    from pathlib import Path

    from herokustack.stackfile import Stack

    return resolve_config(Stack(path=Path("imported.toml"), spec=spec), environ)
