"""Stack files: the examples, the corpus of broken files, extends, secrets and line numbers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import tomli

from herokustack.errors import StackFileError
from herokustack.stackfile import (
    AddonSpec,
    ConfigEntry,
    FromEnv,
    ProcessSpec,
    Stack,
    StackFile,
    attachment_name,
    declared_app,
    default_stack_paths,
    extends_chain,
    load_stack,
    load_stacks,
    owned_config_vars,
    resolve_config,
    schema_text,
)

ROOT = Path(__file__).resolve().parents[1]
STACKS = ROOT / "stacks"
INVALID = Path(__file__).resolve().parent / "fixtures" / "invalid"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


APP = '[app]\nname = "acme-test"\nenvironment = "staging"\n'


# --- the example stacks ----------------------------------------------------------------------


def test_every_example_stack_validates() -> None:
    stacks = load_stacks(default_stack_paths(STACKS))
    assert [s.path.name for s in stacks] == ["production.toml", "staging.toml"]
    assert [s.name for s in stacks] == ["acme-production", "acme-staging"]


def test_production_example_is_what_the_issue_describes() -> None:
    spec = load_stack(STACKS / "production.toml").spec
    assert spec.app.environment == "production" and not spec.app.maintenance
    assert spec.formation == {
        "web": ProcessSpec(quantity=2, size="standard-1x"),
        "worker": ProcessSpec(quantity=2, size="standard-1x"),
    }
    database = spec.addons["database"]
    assert database.plan == "heroku-postgresql:standard-0"
    assert database.backups is not None and database.backups.hour == 2
    assert database.backups.timezone == "UTC" and database.protected
    services = sorted(a.service for a in spec.addons.values())
    assert services == ["heroku-postgresql", "heroku-redis", "papertrail", "sentry"]
    assert spec.addons["redis"].plan == "heroku-redis:premium-0"
    assert spec.config["SECRET_KEY"] == FromEnv(from_env="DJANGO_SECRET_KEY")
    assert spec.config["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_staging_example_is_redundant_smaller_and_closed() -> None:
    spec = load_stack(STACKS / "staging.toml").spec
    assert spec.app.maintenance and spec.app.environment == "staging"
    assert spec.addons["database"].plan == "heroku-postgresql:essential-0"
    assert spec.addons["database"].backups is not None
    assert {(t, p.quantity, p.size) for t, p in spec.formation.items()} == {
        ("web", 2, "standard-1x"),
        ("worker", 2, "standard-1x"),
    }


def test_example_plans_exist_in_the_emulator_catalog() -> None:
    catalog = pytest.importorskip("herokustack.emulator.catalog")
    for stack in load_stacks(default_stack_paths(STACKS)):
        for addon in stack.spec.addons.values():
            assert catalog.find_plan(addon.plan) is not None, addon.plan


def test_default_stack_paths_skips_partials_and_sorts(tmp_path: Path) -> None:
    for name in ("b.toml", "_base.toml", "a.toml", "notes.txt"):
        write(tmp_path, name, "")
    assert [p.name for p in default_stack_paths(tmp_path)] == ["a.toml", "b.toml"]
    assert default_stack_paths(tmp_path / "missing") == []


# --- the corpus of broken files ----------------------------------------------------------------


@pytest.mark.parametrize("path", default_stack_paths(INVALID), ids=lambda p: p.stem)
def test_invalid_file_reports_exactly_its_expected_lines(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(INVALID)
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    with pytest.raises(StackFileError) as caught:
        resolve_config(load_stack(Path(path.name)), {})
    assert caught.value.problems == expected
    assert str(caught.value) == "\n".join(expected)


def test_every_broken_file_has_its_expected_message() -> None:
    tomls = {p.stem for p in default_stack_paths(INVALID)}
    expected = {p.stem for p in INVALID.glob("*.expected")}
    assert tomls == expected and len(tomls) >= 40


def test_problems_carry_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "s.toml", APP + '\n[formation.web]\nquantity = 2\nsize = "huge"\n')
    with pytest.raises(StackFileError) as caught:
        load_stack(path)
    (problem,) = caught.value.details  # type: ignore[attr-defined]
    assert (problem.key, problem.line) == ("formation.web.size", 7)


@pytest.mark.parametrize(
    ("web", "worker", "ok"),
    [
        (("basic", 1), ("standard-1x", 1), False),
        (("eco", 1), ("performance-m", 1), False),
        (("standard-2x", 1), ("performance-m", 2), True),  # one professional tier
        (("basic", 1), ("standard-1x", 0), True),  # a worker scaled to 0 runs no dyno
    ],
)
def test_one_dyno_tier_per_app_among_running_process_types(
    tmp_path: Path, web: tuple[str, int], worker: tuple[str, int], ok: bool
) -> None:
    """The same rule as the emulator's formation check (Dev Center, "Mixing dyno types")."""
    text = APP + "".join(
        f'\n[formation.{name}]\nquantity = {quantity}\nsize = "{size}"\n'
        for name, (size, quantity) in (("web", web), ("worker", worker))
    )
    path = write(tmp_path, "s.toml", text)
    if ok:
        assert load_stack(path).spec.formation["worker"].size == worker[0]
    else:
        with pytest.raises(StackFileError, match=r"formation\.worker\.size: cannot mix"):
            load_stack(path)


# --- extends -----------------------------------------------------------------------------------


def test_extends_chain_merges_tables_and_the_child_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        "_root.toml",
        '[app]\nregion = "eu"\n[formation.web]\nquantity = 1\nsize = "standard-2x"\n'
        '[config]\nA = "root"\nB = "root"\n',
    )
    write(tmp_path, "_mid.toml", 'extends = "_root.toml"\n[config]\nB = "mid"\nC = "mid"\n')
    path = write(
        tmp_path,
        "app.toml",
        'extends = "_mid.toml"\n' + APP + '[formation.web]\nquantity = 3\n[config]\nC = "app"\n',
    )
    stack = load_stack(path)
    assert stack.spec.app.region == "eu"
    assert stack.spec.formation["web"] == ProcessSpec(quantity=3, size="standard-2x")
    assert stack.spec.config == {"A": "root", "B": "mid", "C": "app"}
    assert stack.locate("config.B") == (tmp_path / "_mid.toml", 3)
    assert stack.locate("config.C") == (path, 8)


def test_extends_resolves_relative_to_the_extending_file(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    write(tmp_path / "shared", "_base.toml", '[app]\nregion = "eu"\n')
    path = write(tmp_path, "app.toml", 'extends = "shared/_base.toml"\n' + APP)
    assert load_stack(path).spec.app.region == "eu"


def test_a_partial_is_not_an_app(tmp_path: Path) -> None:
    path = write(tmp_path, "_base.toml", '[app]\nregion = "eu"\n')
    with pytest.raises(StackFileError, match="is a partial"):
        load_stack(path)


def test_extends_chain_for_changed_since_never_leaves_the_tree_nor_blocks(tmp_path: Path) -> None:
    write(tmp_path, "_outside.toml", '[app]\nregion = "eu"\n')
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    broken = write(stacks, "_broken.toml", "[app\n")
    mid = write(stacks, "_mid.toml", 'extends = "_broken.toml"\n')
    app = write(stacks, "app.toml", 'extends = "_mid.toml"\n' + APP)
    assert extends_chain(app) == [app.resolve(), mid.resolve(), broken.resolve()]
    out = write(stacks, "out.toml", 'extends = "../_outside.toml"\n' + APP)
    assert extends_chain(out) == [out.resolve()]
    if hasattr(os, "mkfifo"):
        os.mkfifo(stacks / "_fifo.toml")
        fifo = write(stacks, "fifo.toml", 'extends = "_fifo.toml"\n' + APP)
        assert extends_chain(fifo) == [fifo.resolve()]


def test_declared_app_reads_the_name_even_of_a_broken_file(tmp_path: Path) -> None:
    write(tmp_path, "_base.toml", '[app]\nname = "acme-base"\n')
    assert declared_app(write(tmp_path, "a.toml", APP + 'region = "mars"\n')) == "acme-test"
    assert declared_app(write(tmp_path, "b.toml", 'extends = "_base.toml"\n')) == "acme-base"
    assert declared_app(tmp_path / "_base.toml") is None
    assert declared_app(write(tmp_path, "c.toml", "[app\n")) is None


# --- many files --------------------------------------------------------------------------------


def test_load_stacks_reports_the_problems_of_every_file(tmp_path: Path) -> None:
    bad1 = write(tmp_path, "one.toml", APP.replace("staging", "prod"))
    bad2 = write(tmp_path, "two.toml", APP + 'region = "mars"\n')
    good = write(tmp_path, "three.toml", APP.replace("acme-test", "acme-three"))
    with pytest.raises(StackFileError) as caught:
        load_stacks([bad1, bad2, good])
    assert [p.split(":")[0] for p in caught.value.problems] == [str(bad1), str(bad2)]


def test_two_files_cannot_declare_the_same_app(tmp_path: Path) -> None:
    first = write(tmp_path, "a.toml", APP)
    second = write(tmp_path, "b.toml", APP)
    with pytest.raises(StackFileError) as caught:
        load_stacks([first, second])
    assert caught.value.problems == [f'{second}: app.name: "acme-test" is also declared by {first}']


def test_a_problem_in_a_shared_partial_is_reported_once(tmp_path: Path) -> None:
    write(tmp_path, "_base.toml", '[app]\nregion = "mars"\n')
    paths = [write(tmp_path, f"{n}.toml", f'extends = "_base.toml"\n{APP}') for n in "ab"]
    with pytest.raises(StackFileError) as caught:
        load_stacks(paths)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{tmp_path / '_base.toml'}: app.region:")


# --- rules in Python, attachments, owned config vars ------------------------------------------


def test_dyno_sizes_are_case_insensitive_and_stored_lower_case() -> None:
    assert ProcessSpec(quantity=1, size="Performance-L").size == "performance-l"


def test_attachment_names_follow_herokus_defaults() -> None:
    def addon(plan: str, as_: str | None = None) -> AddonSpec:
        return AddonSpec(plan=plan, as_=as_)

    assert attachment_name("db", addon("heroku-postgresql:essential-0")) == "DATABASE"
    assert attachment_name("cache", addon("heroku-redis:mini")) == "REDIS"
    assert attachment_name("logs", addon("papertrail:choklad")) == "PAPERTRAIL"
    assert attachment_name("x", addon("memcachier-ng:dev")) == "MEMCACHIER_NG"
    assert attachment_name("db", addon("heroku-postgresql:standard-0", "ANALYTICS")) == "ANALYTICS"


def test_owned_config_vars_of_the_production_example() -> None:
    spec = load_stack(STACKS / "production.toml").spec
    owned = owned_config_vars(spec)
    assert owned == {"DATABASE_URL", "REDIS_URL", "PAPERTRAIL_API_TOKEN", "SENTRY_DSN"}


def test_owned_config_vars_follow_the_attachment_name() -> None:
    spec = StackFile.model_validate(
        {
            "app": {"name": "acme-x", "environment": "review"},
            "addons": {"logs": {"plan": "papertrail:choklad", "as": "LOGS"}},
        }
    )
    assert owned_config_vars(spec) == {"LOGS_API_TOKEN"}


def test_owned_config_vars_match_the_emulator_catalog() -> None:
    catalog = pytest.importorskip("herokustack.emulator.catalog")
    from herokustack.stackfile import ADDON_CONFIG_VARS, DEFAULT_ATTACHMENTS

    for service in catalog.SERVICES:
        assert ADDON_CONFIG_VARS.get(service.name, ()) == service.config_suffixes
        default = DEFAULT_ATTACHMENTS.get(service.name, service.name.upper().replace("-", "_"))
        assert default == service.attachment_name


# --- secrets -----------------------------------------------------------------------------------


def test_from_env_values_are_read_and_marked_sensitive() -> None:
    stack = load_stack(STACKS / "production.toml")
    config = resolve_config(stack, {"DJANGO_SECRET_KEY": "s3cr3t-value"})
    assert config["SECRET_KEY"] == ConfigEntry("s3cr3t-value", sensitive=True)
    assert config["SENTRY_ENVIRONMENT"] == ConfigEntry("production", sensitive=False)
    assert "s3cr3t-value" not in repr(config)


def test_missing_secret_names_file_key_and_variable_never_a_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.toml",
        APP + '[config]\nA = { from_env = "HS_A" }\nB = { from_env = "HS_B", optional = true }\n',
    )
    stack = load_stack(path)
    with pytest.raises(StackFileError) as caught:
        resolve_config(stack, {"HS_B": "other-secret"})
    assert caught.value.problems == [f"{path}: config.A: environment variable HS_A is not set"]
    assert resolve_config(stack, {"HS_A": "a"}) == {"A": ConfigEntry("a", sensitive=True)}


def test_a_missing_secret_of_a_partial_names_the_partial(tmp_path: Path) -> None:
    base = write(tmp_path, "_base.toml", '[config]\nKEY = { from_env = "HS_UNSET" }\n')
    stack = load_stack(write(tmp_path, "app.toml", 'extends = "_base.toml"\n' + APP))
    with pytest.raises(StackFileError, match=f"^{base}: config.KEY: environment variable"):
        resolve_config(stack, {})


# --- line numbers and raw text -----------------------------------------------------------------


def test_line_of_finds_tables_keys_inline_tables_and_arrays_of_tables(tmp_path: Path) -> None:
    text = (
        "# herokustack:ignore HS006 -- a comment, not a key: quantity = 9\n"  # 1
        + APP  # 2-4
        + 'notes = """\n[formation.fake]\nquantity = 1\n"""\n'  # 5-8 (a multi-line string)
        + "\n[formation.web]\n"  # 10
        + 'quantity = 2   # two\nsize = "standard-1x"\n'  # 11-12
        + 'worker = { quantity = 1, size = "standard-1x" }\n'  # 13 (dotted in table)
        + '\n[addons.database]\nplan = "heroku-postgresql:standard-0"\n'  # 15-16
        + 'backups = { at = "02:00", timezone = "UTC" }\n\n'  # 17
        + '\n[[checks.ignore]]\nid = "HS006"\nreason = "x"\n'  # 20-22
        + '[[checks.ignore]]\nid = "HS007"\nreason = "y"\n'  # 23-25
        + '[config]\n"QUOTED.KEY" = "v"\nlist = [\n  1,\n  { a = 1 },\n]\n'  # 26-31
    )
    tomli.loads(text)  # the scanner reads valid TOML
    spec = load_stack(STACKS / "staging.toml").spec
    stack = Stack(path=write(tmp_path, "s.toml", text), spec=spec)
    expected = {
        "app.environment": 4,
        "formation.web": 10,
        "formation.web.quantity": 11,
        "formation.web.size": 12,
        "formation.fake": 10,  # only inside a string: the nearest written key is [formation]
        "formation.web.worker.size": 13,
        "addons.database.backups.at": 17,
        "addons.database.backups.timezone": 17,
        "addons.database.protect": 15,  # not written: its nearest enclosing table
        "checks.ignore[0].id": 21,
        "checks.ignore[1].reason": 25,
        'config."QUOTED.KEY"': 27,
        "config.list[1].a": 30,
        "nothing.here": None,
    }
    assert {key: stack.line_of(key) for key in expected} == expected
    assert stack.text == text


def test_line_of_the_production_example_points_at_the_written_value() -> None:
    stack = load_stack(STACKS / "production.toml")
    lines = stack.text.splitlines()
    line = stack.line_of("formation.web.quantity")
    assert line is not None and lines[line - 1].startswith("quantity = 2")
    assert lines[line - 2] == "[formation.web]"
    backup_line = stack.line_of("addons.database.backups.at")
    assert backup_line is not None and '"02:00"' in lines[backup_line - 1]
    path, base_line = stack.locate("addons.logging.plan")
    assert path.name == "_base.toml" and base_line is not None
    assert "papertrail" in path.read_text().splitlines()[base_line - 1]


# --- the schema --------------------------------------------------------------------------------


def test_committed_schema_is_not_stale() -> None:
    committed = (ROOT / "herokustack" / "stack.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "run: herokustack schema > herokustack/stack.schema.json"


def test_schema_accepts_the_examples_and_rejects_typos() -> None:
    schema = json.loads(schema_text())
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(STACKS.glob("*.toml")):
        assert list(validator.iter_errors(tomli.loads(path.read_text()))) == [], path
    bad = {"formation": {"web": {"quanity": 2}}, "app": {"region": "mars"}}
    assert len(list(validator.iter_errors(bad))) == 2


def test_taplo_maps_the_stacks_to_the_schema() -> None:
    config = tomli.loads((ROOT / ".taplo.toml").read_text())
    (rule,) = config["rule"]
    assert rule["include"] == ["stacks/*.toml"]
    assert (ROOT / rule["schema"]["path"]).resolve() == ROOT / "herokustack" / "stack.schema.json"
