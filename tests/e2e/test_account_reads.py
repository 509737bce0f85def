"""Account-wide reads: a plan of many apps reads `GET /apps`, `GET /addons` and
`GET /addon-attachments` a page at a time instead of one request per app, and finds exactly
what the per-app reads find; a plan of one app asks for that app only."""

from __future__ import annotations

import uuid
from pathlib import Path

from e2e_helpers import RELEASED, Cli, Heroku, plan_requests, stack_doc, unique_name, write_stack

from herokustack.client import HerokuClient, _pages_left
from herokustack.emulator import EmulatorServer
from herokustack.resources import read_app, read_apps


def converged(cli: Cli, emu: EmulatorServer, tmp_path: Path, count: int) -> list[Path]:
    paths = [write_stack(tmp_path, stack_doc(unique_name("ac"))) for _ in range(count)]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    for path in paths:
        emu.deploy(path.stem, RELEASED)
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    return paths


def test_a_plan_of_many_apps_reads_the_account_lists_once(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    paths = converged(cli, emu, tmp_path, 5)
    seen = [s for s in plan_requests(cli, emu, *paths) if s != "GET /account/rate-limits"]
    databases = [s for s in seen if s.endswith("/transfer-schedules")]
    catalog = [s for s in seen if s.startswith("GET /addon-services/")]
    per_app = [s for s in seen if any(f"/{p.stem}/" in s or s.endswith(p.stem) for p in paths)]
    lists = sorted(set(seen) - set(per_app) - set(databases) - set(catalog))
    assert lists == ["GET /addon-attachments", "GET /addons", "GET /apps"]
    assert len(seen) == len(per_app) + len(databases) + len(catalog) + 3  # each list once
    for path in paths:  # config vars, formation and the one Postgres database: per app
        mine = sorted(s.replace(path.stem, "APP") for s in per_app if path.stem in s)
        assert mine == ["GET /apps/APP/config-vars", "GET /apps/APP/formation"]
    assert len(databases) == 5
    assert len(seen) <= 5 * 3 + 3 + 3  # 3 per app, 3 pages, 3 catalog services


def test_a_plan_of_one_app_asks_for_that_app_only(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    paths = converged(cli, emu, tmp_path, 1)
    seen = plan_requests(cli, emu, *paths)
    assert "GET /apps" not in seen and "GET /addons" not in seen
    assert f"GET /apps/{paths[0].stem}" in seen


def test_account_wide_reads_find_what_per_app_reads_find(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    paths = converged(cli, emu, tmp_path, 3)
    names = [p.stem for p in paths]
    redis = heroku.addons(names[0])["heroku-redis"]
    # An add-on attached to a second app, under another name: listed with both apps.
    heroku.post("/addon-attachments", {"addon": redis["id"], "app": names[1], "name": "CACHE"})
    client = HerokuClient(emu.url, emu.api_key)
    emu.reset_counts()
    together = read_apps(client, [*names, unique_name("missing")])
    wide = emu.request_count()
    emu.reset_counts()
    alone = {n: read_app(client, n) for n in names}
    assert wide < emu.request_count()
    assert {n: together[n] for n in names} == alone
    assert any(a.id == redis["id"] for a in together[names[1]].addons)


def test_pages_left_are_told_by_the_last_id() -> None:
    half = str(uuid.UUID(int=2**127))
    assert 0.9 < _pages_left([{"id": half}], 1) < 1.1  # half the ids in one page: one more
    assert _pages_left([{"id": "not-a-uuid"}], 3) == 1.0


def test_the_guard_before_a_formation_batch_costs_one_request(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    path = converged(cli, emu, tmp_path, 1)[0]
    app = path.stem
    doc = stack_doc(app)
    doc["formation"]["web"]["quantity"] = 3
    write_stack(tmp_path, doc)
    seen: list[str] = []
    with emu.observing(lambda method, path, body: seen.append(f"{method} {path}")):
        assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert seen.count(f"GET /apps/{app}") == 1  # the plan's: the guard does not read it again
    assert seen.count(f"GET /apps/{app}/formation") == 2  # the plan's, and the guard's
    assert seen[-2:] == [f"GET /apps/{app}/formation", f"PATCH /apps/{app}/formation"]
