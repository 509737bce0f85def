"""State: it survives a restart on the same file and loses nothing under parallel writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from emu_helpers import client_for, new_app

from herokustack.emulator import EmulatorServer


def test_restart_with_the_same_file_keeps_everything(tmp_path: Path) -> None:
    data = str(tmp_path / "state.sqlite")
    with EmulatorServer(data_path=data) as emu, client_for(emu) as http:
        new_app(http, "keep-me", region="eu")
        emu.deploy("keep-me", {"web": "gunicorn", "worker": "celery"})
        body = {"updates": [{"type": "web", "quantity": 3, "size": "standard-2x"}]}
        http.patch("/apps/keep-me/formation", json=body)
        http.patch("/apps/keep-me/config-vars", json={"FOO": "bar"})
        db = http.post("/apps/keep-me/addons", json={"plan": "heroku-postgresql:standard-0"}).json()
        schedule = {"hour": 3, "timezone": "Europe/Paris"}
        http.post(f"/client/v11/databases/{db['id']}/transfer-schedules", json=schedule)
        before = {
            path: http.get(path).json()
            for path in (
                "/apps/keep-me",
                "/apps/keep-me/formation",
                "/apps/keep-me/config-vars",
                "/apps/keep-me/addons",
                "/apps/keep-me/releases",
                "/apps/keep-me/addon-attachments",
                f"/client/v11/databases/{db['id']}/transfer-schedules",
            )
        }
    with EmulatorServer(data_path=data) as emu, client_for(emu) as http:
        after = {path: http.get(path).json() for path in before}
        assert after == before
        new_app(http, "after-restart")  # new ids do not collide with the stored ones
        assert http.get("/apps/keep-me/releases").json()[-1]["version"] == len(
            before["/apps/keep-me/releases"]
        )


def test_twenty_parallel_config_writers_lose_nothing(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    new_app(http, "par-config")

    def write(i: int) -> int:
        with client_for(emu) as own:
            return own.patch("/apps/par-config/config-vars", json={f"VAR_{i}": str(i)}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert set(pool.map(write, range(20))) == {200}
    config = http.get("/apps/par-config/config-vars").json()
    assert config == {f"VAR_{i}": str(i) for i in range(20)}
    versions = [r["version"] for r in http.get("/apps/par-config/releases").json()]
    assert versions == list(range(1, 22))


def test_twenty_parallel_scalers_stay_consistent(emu: EmulatorServer, http: httpx.Client) -> None:
    new_app(http, "par-scale")
    types = {f"proc{i}": f"run {i}" for i in range(20)}
    emu.deploy("par-scale", types)

    def scale(i: int) -> int:
        with client_for(emu) as own:
            body = {"updates": [{"type": f"proc{i}", "quantity": i + 1, "size": "standard-1x"}]}
            return own.patch("/apps/par-scale/formation", json=body).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert set(pool.map(scale, range(20))) == {200}
    formation = {f["type"]: f["quantity"] for f in http.get("/apps/par-scale/formation").json()}
    assert formation == {f"proc{i}": i + 1 for i in range(20)}
    dynos = http.get("/apps/par-scale/dynos", headers={"Range": "id ..; max=1000"}).json()
    assert len(dynos) == sum(range(1, 21))


def test_one_name_claimed_by_twenty_creators_once(emu: EmulatorServer) -> None:
    def create(_: int) -> int:
        with client_for(emu) as own:
            return own.post("/apps", json={"name": "race-name"}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = sorted(pool.map(create, range(20)))
    assert codes == [201] + [422] * 19


def test_a_stopped_emulator_says_to_make_a_new_one() -> None:
    emu = EmulatorServer().start()
    emu.stop()
    emu.stop()  # twice is harmless
    with pytest.raises(RuntimeError, match="create a new EmulatorServer"):
        emu.start()
