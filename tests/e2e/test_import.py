"""`herokustack import` through the CLI against the emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import tomli
from e2e_helpers import SECRET, Cli, Heroku, official_cli, unique_name

from herokustack.client import HerokuClient
from herokustack.cost import DYNO_CENTS, format_monthly
from herokustack.emulator import EmulatorServer
from herokustack.importer import list_app_names

DJANGO_SECRET = "dJ4ngo-Secret-Key-Value-9f8e7d6c5b4a"
STRIPE = "sk_live_51HxYzAbCdEfGhIjKlMn"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(provision_delay=0) as server:
        yield server


def create_app(heroku: Heroku, name: str, config: dict[str, str], region: str = "us") -> None:
    """An app made by hand (straight through the API), with code deployed."""
    url = f"{heroku.emu.url}/apps"
    resp = heroku.session.post(url, json={"name": name, "region": region}, timeout=10)
    resp.raise_for_status()
    heroku.emu.deploy(name, {"web": "gunicorn app:wsgi", "worker": "celery worker"})
    if config:
        heroku.patch(f"/apps/{name}/config-vars", dict(config))


def add_addon(heroku: Heroku, app: str, plan: str, attachment: str | None = None) -> None:
    body: dict[str, Any] = {"plan": plan}
    if attachment:
        body["attachment"] = {"name": attachment}
    url = f"{heroku.emu.url}/apps/{app}/addons"
    heroku.session.post(url, json=body, timeout=10).raise_for_status()


def secrets_env() -> dict[str, str | None]:
    return {"SECRET_KEY": DJANGO_SECRET, "STRIPE_API_KEY": STRIPE}


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (DJANGO_SECRET, STRIPE, SECRET):
            assert secret not in text


@pytest.mark.cli
def test_app_built_with_official_cli_imports_to_an_empty_plan(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
):
    name = unique_name("imp")
    official_cli(emu, "apps:create", name, "--region", "eu")
    emu.deploy(name, {"web": "gunicorn app:wsgi", "worker": "celery worker"})
    official_cli(emu, "addons:create", "heroku-postgresql:essential-0", "-a", name)
    official_cli(emu, "ps:scale", "web=1", "worker=1", "-a", name)
    add_addon(Heroku(emu), name, "papertrail:choklad")  # the API, to spare a CLI start-up
    official_cli(
        emu, "config:set", f"SECRET_KEY={DJANGO_SECRET}", f"STRIPE_API_KEY={STRIPE}",
        "LOG_LEVEL=info", "-a", name,
    )  # fmt: skip
    official_cli(emu, "maintenance:on", "-a", name)
    official_cli(
        emu, "pg:backups:schedule", "DATABASE_URL", "--at", "03:00 Europe/Paris", "-a", name
    )
    out = tmp_path / f"{name}.toml"

    result = cli("import", name, "--out", str(out), "--environment", "staging",
                 "--inline-config", "LOG_LEVEL")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"✓ {name} → {out}" in result.stderr
    assert "set before plan/apply: SECRET_KEY, STRIPE_API_KEY" in result.stderr
    text = out.read_text()
    assert_no_secret(text, result.output)
    doc = tomli.loads(text)
    assert doc["app"] == {"name": name, "environment": "staging", "region": "eu",
                          "maintenance": True}  # fmt: skip
    assert doc["formation"] == {
        "web": {"quantity": 1, "size": "basic"},
        "worker": {"quantity": 1, "size": "basic"},
    }
    assert doc["addons"] == {
        "database": {
            "plan": "heroku-postgresql:essential-0",
            "backups": {"at": "03:00", "timezone": "Europe/Paris"},
        },
        "papertrail": {"plan": "papertrail:choklad"},
    }
    assert doc["config"] == {
        "LOG_LEVEL": "info",
        "SECRET_KEY": {"from_env": "SECRET_KEY"},
        "STRIPE_API_KEY": {"from_env": "STRIPE_API_KEY"},
    }
    assert "# DATABASE_URL is owned by add-on database" in text
    assert "# PAPERTRAIL_API_TOKEN is owned by add-on papertrail" in text

    assert cli("validate", str(out), api=False).exit_code == 0
    plan = cli("plan", str(out), "--detailed-exitcode", env=secrets_env())
    assert plan.exit_code == 0, plan.output
    assert "No changes" in plan.stdout
    assert_no_secret(plan.output)


def test_secret_names_are_never_inlined_without_force(cli: Cli, heroku: Heroku, tmp_path: Path):
    name = unique_name("imp")
    create_app(heroku, name, {"SECRET_KEY": DJANGO_SECRET, "STRIPE_API_KEY": STRIPE, "TZ": "UTC"})
    out = tmp_path / "app.toml"

    refused = cli("import", name, "--out", str(out), "--inline-config", "TZ,SECRET_KEY")
    assert refused.exit_code == 1
    assert "--inline-config SECRET_KEY: refusing to write SECRET_KEY" in refused.stderr
    assert "--force" in refused.stderr
    assert not out.exists()
    # The value's look counts too: a Stripe key under an innocent name.
    heroku.patch(f"/apps/{name}/config-vars", {"BILLING": STRIPE})
    refused = cli("import", name, "--out", str(out), "--inline-config", "BILLING")
    assert refused.exit_code == 1 and "Stripe" in refused.stderr
    assert_no_secret(*cli.outputs)

    forced = cli("import", name, "--out", str(out), "--inline-config", "SECRET_KEY", "--force")
    assert forced.exit_code == 0, forced.output
    config = tomli.loads(out.read_text())["config"]
    assert config["SECRET_KEY"] == DJANGO_SECRET
    assert config["STRIPE_API_KEY"] == {"from_env": "STRIPE_API_KEY"}
    assert config["TZ"] == {"from_env": "TZ"}


def test_unknown_inline_name_and_missing_app_are_one_line_errors(
    cli: Cli, heroku: Heroku, tmp_path: Path
):
    name = unique_name("imp")
    create_app(heroku, name, {"TZ": "UTC"})
    result = cli("import", name, "--out", str(tmp_path / "a.toml"), "--inline-config", "NOPE")
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == f"error: --inline-config NOPE: app {name} has no such config var"
    )
    missing = cli("import", "no-such-app-here", "--out", str(tmp_path / "b.toml"))
    assert missing.exit_code == 1
    assert "app no-such-app-here: not found" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_existing_file_is_kept_unless_overwrite(cli: Cli, heroku: Heroku, tmp_path: Path):
    name = unique_name("imp")
    create_app(heroku, name, {})
    out = tmp_path / "app.toml"
    out.write_text("# mine\n")
    kept = cli("import", name, "--out", str(out))
    assert kept.exit_code == 1 and "already exists" in kept.stderr
    assert out.read_text() == "# mine\n"
    replaced = cli("import", name, "--out", str(out), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert tomli.loads(out.read_text())["app"]["name"] == name


def test_stdout_and_attachment_names(cli: Cli, heroku: Heroku):
    name = unique_name("imp")
    create_app(heroku, name, {"LOG_LEVEL": "debug"})
    add_addon(heroku, name, "heroku-postgresql:essential-0")
    add_addon(heroku, name, "heroku-postgresql:essential-1", "ANALYTICS")
    add_addon(heroku, name, "heroku-redis:mini")

    result = cli("import", name, "--out", "-")

    assert result.exit_code == 0, result.output
    doc = tomli.loads(result.stdout)
    assert doc["addons"] == {
        "analytics": {"plan": "heroku-postgresql:essential-1", "as": "ANALYTICS"},
        "database": {"plan": "heroku-postgresql:essential-0"},
        "redis": {"plan": "heroku-redis:mini"},
    }
    assert doc["config"] == {"LOG_LEVEL": {"from_env": "LOG_LEVEL"}}
    for var in ("ANALYTICS_URL", "DATABASE_URL", "REDIS_URL"):
        assert f"# {var} is owned by add-on" in result.stdout
    # Stable: the same app imports to the same text.
    assert cli("import", name, "--out", "-").stdout == result.stdout


def test_extends_writes_only_what_differs_from_the_partial(
    cli: Cli, heroku: Heroku, tmp_path: Path
):
    name = unique_name("imp")
    create_app(heroku, name, {"LOG_LEVEL": "info", "SECRET_KEY": DJANGO_SECRET, "TZ": "UTC"},
               region="eu")  # fmt: skip
    add_addon(heroku, name, "heroku-postgresql:essential-0")
    add_addon(heroku, name, "papertrail:choklad", "LOGS")
    heroku.patch(f"/apps/{name}/formation", {"updates": [
        {"type": "web", "quantity": 1, "size": "standard-1x"},
        {"type": "worker", "quantity": 1, "size": "standard-1x"},
    ]})  # fmt: skip
    (tmp_path / "_base.toml").write_text(
        '[app]\nenvironment = "staging"\nregion = "eu"\n'
        "[formation]\n"
        'web = { quantity = 1, size = "standard-1x" }\n'
        'worker = { quantity = 2, size = "standard-1x" }\n'
        '[addons.db]\nplan = "heroku-postgresql:essential-0"\n'
        '[config]\nLOG_LEVEL = "info"\nSECRET_KEY = { from_env = "DJANGO_SECRET_KEY" }\n'
    )
    out = tmp_path / f"{name}.toml"

    result = cli("import", name, "--out", str(out), "--extends", "_base.toml")

    assert result.exit_code == 0, result.output
    doc = tomli.loads(out.read_text())
    assert doc == {
        "extends": "_base.toml",
        "app": {"name": name},
        "formation": {"worker": {"quantity": 1}},
        "addons": {"logs": {"plan": "papertrail:choklad", "as": "LOGS"}},
        "config": {"TZ": {"from_env": "TZ"}},
    }
    env = {"DJANGO_SECRET_KEY": DJANGO_SECRET, "TZ": "UTC"}
    plan = cli("plan", str(out), "--detailed-exitcode", env=env)
    assert plan.exit_code == 0, plan.output
    assert_no_secret(*cli.outputs)


def test_extends_warns_about_what_the_partial_adds(cli: Cli, heroku: Heroku, tmp_path: Path):
    name = unique_name("imp")
    create_app(heroku, name, {})
    (tmp_path / "_base.toml").write_text('[addons.redis]\nplan = "heroku-redis:mini"\n')
    out = tmp_path / "app.toml"
    result = cli("import", name, "--out", str(out), "--extends", str(tmp_path / "_base.toml"))
    assert result.exit_code == 0, result.output
    warning = f"_base.toml declares addons.redis, which app {name} does not have"
    assert warning in result.stderr
    assert f"# warning: {warning}" in out.read_text()
    assert tomli.loads(out.read_text())["extends"] == "_base.toml"


def test_all_imports_every_visible_app(cli: Cli, heroku: Heroku, tmp_path: Path):
    names = [unique_name("all") for _ in range(3)]
    for name in names:
        create_app(heroku, name, {"TZ": "UTC"})
    (tmp_path / f"{names[0]}.toml").write_text("# already here\n")

    result = cli("import", "--all", "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    visible = [a["name"] for a in heroku.get("/apps")]
    for app in visible:
        assert (tmp_path / f"{app}.toml").exists()
    assert (tmp_path / f"{names[0]}.toml").read_text() == "# already here\n"
    assert f"- {names[0]}: skipped" in result.stderr
    for name in names[1:]:
        assert tomli.loads((tmp_path / f"{name}.toml").read_text())["app"]["name"] == name
    assert f"{len(visible) - 1} of {len(visible)} apps imported" in result.stderr


def test_app_list_follows_pages():
    with EmulatorServer() as server:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {server.api_key}"
        names = sorted(f"page{i:03d}" for i in range(205))
        for name in names:  # straight into the emulator's state: 205 requests would be slow
            server.backend.create_app({"name": name})
        first = session.get(f"{server.url}/apps", timeout=10)
        assert first.status_code == 206  # more than one page
        assert list_app_names(HerokuClient(server.url, server.api_key)) == names


def test_local_import_reads_the_local_state(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    name = unique_name("loc")
    stack = tmp_path / "stacks" / f"{name}.toml"
    stack.parent.mkdir()
    stack.write_text(
        f'[app]\nname = "{name}"\nenvironment = "staging"\n'
        '[formation]\nweb = { quantity = 1, size = "basic" }\n'
        '[addons.database]\nplan = "heroku-postgresql:essential-0"\n'
        '[config]\nLOG_LEVEL = "info"\n'
    )
    applied = cli("apply", "--local", "--auto-approve", api=False)
    assert applied.exit_code == 0, applied.output

    result = cli("import", name, "--local", "--out", "-", "--inline-config", "LOG_LEVEL",
                 "--environment", "staging", api=False)  # fmt: skip

    assert result.exit_code == 0, result.output
    assert tomli.loads(result.stdout) == {
        "app": {"name": name, "environment": "staging"},
        "formation": {
            "web": {"quantity": 1, "size": "basic"},
            "worker": {"quantity": 0, "size": "basic"},
        },
        "addons": {"database": {"plan": "heroku-postgresql:essential-0"}},
        "config": {"LOG_LEVEL": "info"},
    }


def test_extends_needs_a_valid_partial(cli: Cli, heroku: Heroku, tmp_path: Path):
    name = unique_name("imp")
    create_app(heroku, name, {})
    (tmp_path / "_base.toml").write_text('[app]\nregion = "mars"\n')
    (tmp_path / "base.toml").write_text('[app]\nregion = "eu"\n')
    out = tmp_path / "app.toml"

    broken = cli("import", name, "--out", str(out), "--extends", "_base.toml")
    assert broken.exit_code == 1
    assert f'{tmp_path / "_base.toml"}: app.region: must be one of "us", "eu"' in broken.stderr
    not_partial = cli("import", name, "--out", str(out), "--extends", "base.toml")
    assert not_partial.exit_code == 1
    assert "not a partial (its name must start with _)" in not_partial.stderr
    assert not out.exists()


def test_import_tells_what_the_app_costs_priced_from_the_catalog_once(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    names = [unique_name("cost") for _ in range(2)]
    for name in names:
        create_app(heroku, name, {"TZ": "UTC"})
        add_addon(heroku, name, "heroku-redis:premium-0")
        heroku.patch(f"/apps/{name}/formation", {"updates": [
            {"type": "web", "quantity": 3, "size": "standard-2x"},
            {"type": "worker", "quantity": 0, "size": "standard-1x"},
        ]})  # fmt: skip
    plans = heroku.get("/addon-services/heroku-redis/plans")
    redis = next(p["price"]["cents"] for p in plans if p["name"] == "heroku-redis:premium-0")
    each = 3 * DYNO_CENTS["standard-2x"] + redis
    asked: list[str] = []
    with emu.observing(lambda method, path, body: asked.append(path)):
        result = cli("import", names[0], "--out", str(tmp_path / "one.toml"))
        assert result.exit_code == 0, result.output
        assert f"  monthly cost: {format_monthly(each)}\n" in result.stderr
        asked.clear()
        every = cli("import", "--all", "--out", str(tmp_path / "all"))
    assert every.exit_code == 0, every.output
    catalog = [p for p in asked if p.startswith("/addon-services/")]
    assert len(catalog) == len(set(catalog)) >= 1  # once per service, whatever the apps
    for name in names:
        assert f"✓ {name} → {tmp_path / 'all' / name}.toml\n  monthly cost: " in every.stderr


def test_an_app_a_stack_file_declares_is_not_imported_twice(
    cli: Cli, heroku: Heroku, tmp_path: Path
):
    name = unique_name("dup")
    create_app(heroku, name, {"TZ": "UTC"})
    stacks = tmp_path / "stacks"
    declared = stacks / "prod.toml"
    assert cli("import", name, "--out", str(declared)).exit_code == 0
    before = declared.read_text()

    for extra in ([], ["--overwrite"]):
        again = cli("import", name, "--out", str(stacks / f"{name}.toml"), *extra)
        assert again.exit_code == 1
        assert again.stderr.splitlines() == [
            f"error: {declared} already declares app {name} "
            f"(to refresh that file: --out {declared} --overwrite)"
        ]
    assert sorted(p.name for p in stacks.iterdir()) == ["prod.toml"]
    assert cli("validate", str(declared), api=False).exit_code == 0

    heroku.patch(f"/apps/{name}/config-vars", {"LOG_LEVEL": "info"})
    refreshed = cli("import", name, "--out", str(declared), "--overwrite")
    assert refreshed.exit_code == 0, refreshed.output
    assert declared.read_text() != before and "LOG_LEVEL" in declared.read_text()
    printed = cli("import", name, "--out", "-")  # stdout writes no second file
    assert printed.exit_code == 0 and f'name = "{name}"' in printed.stdout


def test_all_skips_the_apps_a_stack_file_declares(tmp_path: Path):
    with EmulatorServer(provision_delay=0) as server:
        cli, heroku = Cli(server), Heroku(server)
        for name in ("acme-one", "acme-two"):
            create_app(heroku, name, {})
        stacks = tmp_path / "stacks"
        stacks.mkdir()
        (stacks / "_base.toml").write_text('[app]\nenvironment = "staging"\n')
        (stacks / "one.toml").write_text('extends = "_base.toml"\n[app]\nname = "acme-one"\n')

        result = cli("import", "--all", "--out", str(stacks), "--overwrite")

        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines()[0] == (
            f"- acme-one: skipped: {stacks / 'one.toml'} already declares app acme-one"
        )
        assert "1 of 2 apps imported" in result.stderr
        files = sorted(p.name for p in stacks.iterdir())
        assert files == ["_base.toml", "acme-two.toml", "one.toml"]
        validated = cli("validate", *(str(stacks / f) for f in files[1:]), api=False)
        assert validated.exit_code == 0, validated.output


def test_extends_outside_the_written_files_directory_is_refused(
    cli: Cli, heroku: Heroku, tmp_path: Path
):
    name = unique_name("imp")
    create_app(heroku, name, {})
    (tmp_path / "_base.toml").write_text('[app]\nenvironment = "staging"\n')
    out = tmp_path / "stacks" / "app.toml"
    result = cli("import", name, "--out", str(out), "--extends", str(tmp_path / "_base.toml"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: --extends {tmp_path / '_base.toml'}: the partial must be in {out.parent}/ or "
        "below, where the file is written (a stack file cannot extend a file elsewhere)"
    ]
    assert not out.exists()
