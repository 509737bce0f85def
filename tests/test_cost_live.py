"""`herokustack cost --live` against the emulator over real HTTP: catalog prices, one request
per service whatever the number of apps, and live prices over a stale built-in table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner, Result

from herokustack import cost
from herokustack.cli import app
from herokustack.client import HerokuClient
from herokustack.emulator import EmulatorServer
from herokustack.facts import LiveAddon, LiveProcess, LiveState

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [ROOT / "stacks" / "production.toml", ROOT / "stacks" / "staging.toml"]


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


def run(emu: EmulatorServer, *args: str, key: str | None = None) -> Result:
    env = {"HEROKU_API_URL": emu.url, "HEROKU_API_KEY": key or emu.api_key, "HEROKU_HOST": ""}
    return CliRunner().invoke(app, ["cost", *args], env=env)


def catalog_prices(emu: EmulatorServer, service: str) -> dict[str, int]:
    """What the emulator's catalog says, read over HTTP like any client would."""
    response = requests.get(
        f"{emu.url}/addon-services/{service}/plans",
        headers={
            "Authorization": f"Bearer {emu.api_key}",
            "Accept": "application/vnd.heroku+json; version=3",
        },
        timeout=10,
    )
    response.raise_for_status()
    return {p["name"]: p["price"]["cents"] for p in response.json()}


def app_file(directory: Path, name: str, addons: dict[str, str]) -> Path:
    lines = [f'[app]\nname = "{name}"\nenvironment = "staging"\n']
    lines += [
        f'[addons.{key}]\nplan = "{plan}"\nas = "{key.upper()}"\n' for key, plan in addons.items()
    ]
    path = directory / f"{name}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_live_prices_come_from_the_catalog_once_per_service(emu: EmulatorServer) -> None:
    emu.reset_counts()
    result = run(emu, *map(str, EXAMPLES), "--live", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    services = {
        i["plan"].split(":")[0] for a in report["apps"] for i in a["items"] if i["kind"] == "addon"
    }
    # Both apps use the same four services: four catalog requests, and nothing else asked.
    assert emu.request_count() == len(services) == 4
    for a in report["apps"]:
        for item in a["items"]:
            if item["kind"] == "addon":
                service = item["plan"].split(":")[0]
                assert item["source"] == "catalog"
                assert item["unit_cents"] == catalog_prices(emu, service)[item["plan"]]


def test_request_count_does_not_grow_with_the_number_of_apps(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    addons = {"db": "heroku-postgresql:essential-0", "cache": "heroku-redis:mini"}
    paths = [app_file(tmp_path, f"shop-{n}", addons) for n in range(12)]
    emu.reset_counts()
    result = run(emu, *map(str, paths), "--live", "--format", "json")
    assert result.exit_code == 0, result.output
    assert emu.request_count() == 2  # heroku-postgresql and heroku-redis, once each
    report = json.loads(result.stdout)
    per_app = catalog_prices(emu, "heroku-postgresql")["heroku-postgresql:essential-0"]
    per_app += catalog_prices(emu, "heroku-redis")["heroku-redis:mini"]
    assert report["total_cents"] == 12 * per_app


def test_live_price_wins_over_a_stale_built_in_table(
    emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = catalog_prices(emu, "heroku-postgresql")["heroku-postgresql:standard-0"]
    # The built-in table is out of date: the catalog must be believed, offline must not change.
    monkeypatch.setitem(cost.ADDON_CENTS, "heroku-postgresql:standard-0", live + 1234)
    args = (str(EXAMPLES[0]), "--format", "json")
    offline = json.loads(run(emu, *args).stdout)
    online = json.loads(run(emu, *args, "--live").stdout)
    assert online["total_cents"] == offline["total_cents"] - 1234

    def database(report: dict[str, Any]) -> tuple[int, str]:
        items = report["apps"][0]["items"]
        item = next(i for i in items if i["name"] == "database")
        return item["unit_cents"], item["source"]

    assert database(online) == (live, "catalog")
    assert database(offline) == (live + 1234, "built-in")


def test_plans_only_the_catalog_knows_are_priced_live(emu: EmulatorServer, tmp_path: Path) -> None:
    catalog = catalog_prices(emu, "sentry")
    priced = next(plan for plan, cents in catalog.items() if plan not in cost.ADDON_CENTS and cents)
    path = app_file(tmp_path, "errors-app", {"errors": priced})
    offline = run(emu, str(path))
    assert "No price known for " + priced in " ".join(offline.stdout.split())
    online = json.loads(run(emu, str(path), "--live", "--format", "json").stdout)
    assert online["total_cents"] == catalog[priced]
    assert online["apps"][0]["unpriced"] == []


def test_price_file_beats_the_live_catalog(emu: EmulatorServer, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"addons": {"heroku-redis:mini": 1}}')
    path = app_file(tmp_path, "cache-app", {"cache": "heroku-redis:mini"})
    report = json.loads(
        run(emu, str(path), "--live", "--prices", str(prices), "--format", "json").stdout
    )
    assert report["total_cents"] == 1


def test_refused_key_is_one_line_without_the_key(emu: EmulatorServer) -> None:
    result = run(emu, str(EXAMPLES[0]), "--live", key="wrong-key-123")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0], result.stderr
    assert "wrong-key-123" not in result.output


def test_live_app_cost_counts_only_owned_addons(emu: EmulatorServer) -> None:
    # The shape `plan` and `drift` read from Heroku: an add-on attached from another app is
    # billed to its owner, not here.
    state = LiveState(
        name="shop",
        formation={"web": LiveProcess(type="web", quantity=3, size="standard-2x")},
        addons=(
            LiveAddon(
                id="1",
                name="pg-1",
                service="heroku-postgresql",
                plan="heroku-postgresql:standard-0",
                state="provisioned",
                owner="shop",
                attachments=("DATABASE",),
            ),
            LiveAddon(
                id="2",
                name="redis-2",
                service="heroku-redis",
                plan="heroku-redis:premium-0",
                state="provisioned",
                owner="other-app",
                attachments=("REDIS",),
            ),
        ),
    )
    prices = cost.PriceBook.builtin().with_catalog(
        cost.catalog_fetch(HerokuClient(emu.url, emu.api_key, retries=0))
    )
    live = cost.cost_of_live(state, prices)
    postgres = catalog_prices(emu, "heroku-postgresql")["heroku-postgresql:standard-0"]
    assert live.cents == 3 * cost.DYNO_CENTS["standard-2x"] + postgres
    assert [i.name for i in live.items if i.kind == "addon"] == ["DATABASE"]


def test_live_without_a_key_suggests_local_which_cost_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    env = {"HEROKU_API_KEY": None, "HEROKU_API_URL": None, "HEROKU_HOST": None}
    files = [str(p) for p in EXAMPLES]
    refused = CliRunner().invoke(app, ["cost", "--live", *files], env=env)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: no Heroku API key") and "--local" in refused.stderr
    assert "--local" in CliRunner().invoke(app, ["cost", "--help"]).stdout
    local = CliRunner().invoke(app, ["cost", "--live", "--local", "--format", "json", *files])
    assert local.exit_code == 0, local.output
    sources = {i["source"] for a in json.loads(local.stdout)["apps"] for i in a["items"]}
    assert "catalog" in sources  # priced from the local emulator's catalog
