"""Stack-file rules of data add-ons' `maintenance_window` and `settings` (validate, offline), and
the plan-change rules of Postgres and Redis (which Heroku makes in place, which it refuses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from herokustack.errors import StackFileError
from herokustack.resources.data_services import IN_PLACE_NOTE, plan_change
from herokustack.stackfile import load_stack

HEAD = '[app]\nname = "data-rules"\nenvironment = "production"\n\n'


def problems(tmp_path: Path, addons: str) -> list[str]:
    path = tmp_path / "data-rules.toml"
    path.write_text(HEAD + addons, encoding="utf-8")
    with pytest.raises(StackFileError) as caught:
        load_stack(path)
    return caught.value.problems


def test_valid_windows_and_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "data-rules.toml"
    path.write_text(
        HEAD
        + '[addons.db]\nplan = "heroku-postgresql:standard-0"\n'
        + 'maintenance_window = "Saturdays 23:30"\n'
        + 'settings = { log_min_duration_statement = -1, "auto_explain.log_format" = "json" }\n'
        + '[addons.kv]\nplan = "heroku-redis:mini"\n'
        + 'settings = { notify_keyspace_events = "Ex", timeout = 0 }\n',
        encoding="utf-8",
    )
    spec = load_stack(path).spec
    assert spec.addons["db"].maintenance_window == "Saturdays 23:30"
    assert spec.addons["kv"].settings == {"notify_keyspace_events": "Ex", "timeout": 0}


def test_an_unknown_setting_names_the_valid_ones(tmp_path: Path) -> None:
    [line] = problems(
        tmp_path,
        '[addons.db]\nplan = "heroku-postgresql:standard-0"\n'
        "settings = { log_min_duration = 10 }\n",
    )
    assert line.endswith(")") and "data-rules.toml: addons.db.settings.log_min_duration: " in line
    assert "heroku-postgresql has no setting 'log_min_duration'" in line
    assert "did you mean log_min_duration_statement?" in line
    assert "(its settings: auto_explain, auto_explain.log_analyze," in line


def test_a_setting_of_the_other_service_or_a_bad_value_is_refused(tmp_path: Path) -> None:
    lines = problems(
        tmp_path,
        '[addons.kv]\nplan = "heroku-redis:premium-0"\n'
        'settings = { log_statement = "all", maxmemory_policy = "lru", timeout = -5 }\n',
    )
    assert len(lines) == 3
    joined = "\n".join(lines)
    assert "addons.kv.settings.log_statement: heroku-redis has no setting 'log_statement'" in joined
    assert "addons.kv.settings.maxmemory_policy: must be one of noeviction, allkeys-lfu" in joined
    assert "addons.kv.settings.timeout: must be an integer between 0 and" in joined


def test_what_a_plan_does_not_support_is_a_validate_error(tmp_path: Path) -> None:
    lines = problems(
        tmp_path,
        '[addons.db]\nplan = "heroku-postgresql:essential-0"\n'
        'maintenance_window = "Mondays 01:00"\n'
        "settings = { log_lock_waits = true }\n"
        '[addons.kv]\nplan = "heroku-redis:mini"\nmaintenance_window = "Mondays 01:00"\n'
        '[addons.logs]\nplan = "papertrail:choklad"\nsettings = { x = 1 }\n',
    )
    joined = "\n".join(lines)
    assert "addons.db.maintenance_window: essential-0 has no maintenance window" in joined
    assert "addons.db.settings: Heroku has no settings on essential-0 (Essential-tier)" in joined
    assert "addons.kv.maintenance_window: mini has no maintenance window" in joined
    assert (
        "addons.logs.settings: settings are only for heroku-postgresql and heroku-redis" in joined
    )


@pytest.mark.parametrize("window", ["Tuesday 14:30", "tuesdays 14:30", "Tuesdays 24:00", "14:30"])
def test_a_window_must_be_herokus_format(tmp_path: Path, window: str) -> None:
    [line] = problems(
        tmp_path,
        f'[addons.db]\nplan = "heroku-postgresql:standard-0"\nmaintenance_window = "{window}"\n',
    )
    assert (
        'addons.db.maintenance_window: must be a day and a UTC time like "Tuesdays 14:30"' in line
    )


def test_plan_changes_heroku_makes_in_place_and_those_it_refuses() -> None:
    pg = "heroku-postgresql:"
    assert plan_change(f"{pg}standard-0", f"{pg}premium-2", "DATABASE").note == IN_PLACE_NOTE
    assert plan_change(f"{pg}essential-0", f"{pg}essential-2", "DATABASE").in_place
    up = plan_change(f"{pg}essential-1", f"{pg}standard-0", "DB")
    down = plan_change(f"{pg}premium-0", f"{pg}essential-0", "DB")
    assert up is not None and not up.in_place and "from the Essential tier" in up.note
    assert down is not None and not down.in_place and "into the Essential tier" in down.note
    assert "heroku pg:copy DB_URL DB_NEW_URL" in up.note
    assert plan_change("heroku-redis:mini", "heroku-redis:premium-0", "REDIS").in_place
    assert plan_change("papertrail:choklad", "papertrail:fixa", "LOGS") is None
