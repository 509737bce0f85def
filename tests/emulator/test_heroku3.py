"""heroku3 5.2.1, unchanged (base URL set, no patching), drives the emulator."""

from __future__ import annotations

import heroku3
import pytest
import requests

from herokustack.emulator import EmulatorServer


@pytest.fixture(scope="module")
def h3(emu: EmulatorServer) -> heroku3.api.Heroku:
    client = heroku3.api.Heroku(session=requests.Session())
    client._heroku_url = emu.url
    assert client.authenticate(emu.api_key)
    return client


def test_wrong_key_is_not_verified(emu: EmulatorServer) -> None:
    client = heroku3.api.Heroku(session=requests.Session())
    client._heroku_url = emu.url
    assert not client.authenticate("not-the-key")


def test_apps_config_formation_addons_releases(h3: heroku3.api.Heroku, emu: EmulatorServer) -> None:
    app = h3.create_app(name="h3-app", stack_id_or_name="heroku-24", region_id_or_name="eu")
    assert app.name == "h3-app" and h3.app("h3-app").region.name == "eu"
    app.update_config({"FOO": "bar", "BAZ": "1"})
    app.update_config({"BAZ": None})
    assert app.config().to_dict() == {"FOO": "bar"}

    emu.deploy("h3-app", {"web": "gunicorn app:app", "worker": "celery"})
    app.batch_resize_formation_processes({"web": "standard-1x"})
    app.batch_scale_formation_processes({"web": 2})
    app.scale_formation_process("worker", 0)
    sizes = {p.type: (p.quantity, p.size) for p in app.process_formation()}
    assert sizes == {"web": (2, "Standard-1X"), "worker": (0, "Basic")}
    assert sorted(d.name for d in app.dynos()) == ["web.1", "web.2"]

    addon = app.install_addon("heroku-postgresql:essential-0", attachment_name="MAIN_DB")
    assert "MAIN_DB_URL" in app.config().to_dict()
    upgraded = addon.upgrade("heroku-postgresql:essential-1")
    assert upgraded.plan.name == "heroku-postgresql:essential-1"
    assert [a.plan.name for a in app.addons()] == ["heroku-postgresql:essential-1"]

    versions = [r.version for r in app.releases()]
    assert versions == sorted(versions) and len(versions) >= 5

    app.enable_maintenance_mode()
    assert h3.app("h3-app").maintenance is True
    app.disable_maintenance_mode()
    assert h3.app("h3-app").maintenance is False
    addon.delete()
    assert len(app.addons()) == 0
    app.delete()
    assert "h3-app" not in [a.name for a in h3.apps()]


def test_heroku3_follows_next_range_over_many_apps(
    h3: heroku3.api.Heroku, emu: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {f"h3-page-{i:03d}" for i in range(450)}
    for name in names:
        emu.backend.create_app({"name": name})
    listed = [a.name for a in h3.apps()]
    assert names <= set(listed) and len(listed) == len(set(listed))
    # heroku3 prints a warning for each extra page it loads through Next-Range.
    assert capsys.readouterr().out.count("Response was chunked") >= 2


def test_heroku3_recovers_from_a_taken_name_as_with_heroku(
    h3: heroku3.api.Heroku, capsys: pytest.CaptureFixture[str]
) -> None:
    # heroku3 reads "Name is already taken" only from a 422 body (what api.heroku.com sends):
    # it then returns the existing app with a warning instead of raising.
    first = h3.create_app(name="h3-taken", stack_id_or_name="heroku-24")
    again = h3.create_app(name="h3-taken", stack_id_or_name="heroku-24")
    assert again.id == first.id
    assert "Name is already taken" in capsys.readouterr().out
