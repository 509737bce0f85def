"""The Heroku client against the emulator: pagination, request budget, URLs, keys, redaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import RELEASED, SECRET, Cli, stack_doc, unique_name, write_stack

from herokustack.client import (
    DEFAULT_API_URL,
    DEFAULT_DATA_URL,
    ApiError,
    AuthError,
    HerokuClient,
    api_key,
    api_url,
    data_url,
)
from herokustack.emulator import EmulatorServer
from herokustack.resources import read_app


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


def test_lists_follow_next_range_silently(emu: EmulatorServer, capsys: pytest.CaptureFixture[str]):
    client = HerokuClient(emu.url, emu.api_key)
    names = {unique_name("pg") for _ in range(205)}  # more than one page of 200
    for name in names:  # straight into the emulator's store: this test is about reading
        emu.backend.create_app({"name": name})
    listed = {app["name"] for app in client.get_list("apps")}
    assert names <= listed
    assert capsys.readouterr().out == ""  # heroku3 would have printed a warning


def test_reading_an_app_stays_within_the_request_budget(emu: EmulatorServer, tmp_path: Path):
    cli = Cli(emu)
    name = unique_name()
    doc = stack_doc(name)
    doc["app"]["team"] = "acme"  # a team app: its lock costs one more request
    path = write_stack(tmp_path, doc)
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    emu.deploy(name, RELEASED)
    client = HerokuClient(emu.url, emu.api_key)
    emu.reset_counts()
    state = read_app(client, name)
    # app, formation, config, add-ons, buildpacks, features, team app (locked), log drains,
    # domains, SNI endpoints, webhooks, collaborators, the team's admins (a team app) + 1
    # Postgres (drift and import read all kinds; ACM comes with the app; the domains again only
    # when an SNI endpoint serves some) + the settings of the mini Redis (its maintenance
    # window: none on mini; the essential-0 Postgres has neither)
    assert emu.request_count() <= 13 + 1 + 1
    assert state.app is not None and state.app.team == "acme"
    assert state.exists and set(state.formation) == {"web", "worker"}
    assert {a.attachments for a in state.addons} == {("DATABASE",), ("REDIS",), ("PAPERTRAIL",)}
    assert SECRET not in repr(state) and SECRET not in state.model_dump_json()
    emu.reset_counts()
    assert not read_app(client, unique_name()).exists
    assert emu.request_count() == 1


def test_errors_never_carry_secrets(emu: EmulatorServer):
    client = HerokuClient(emu.url, "not-the-key-0123456789")
    with pytest.raises(ApiError) as caught:
        read_app(client, "whatever")
    assert caught.value.status == 401
    assert "not-the-key-0123456789" not in str(caught.value)


def test_api_url_precedence():
    assert api_url(None, {}) == DEFAULT_API_URL
    assert api_url(None, {"HEROKU_HOST": "heroku.example"}) == "https://api.heroku.example"
    assert api_url(None, {"HEROKU_HOST": "http://127.0.0.1:9"}) == "http://127.0.0.1:9"
    env = {"HEROKU_API_URL": "http://a:1/", "HEROKU_HOST": "http://b:2"}
    assert api_url(None, env) == "http://a:1"
    assert api_url("http://c:3", env) == "http://c:3"
    with pytest.raises(Exception, match="not an http"):
        api_url("ftp://x", {})


def test_data_url_follows_the_official_cli():
    assert data_url(DEFAULT_API_URL, {}) == DEFAULT_DATA_URL
    assert data_url("http://127.0.0.1:5000", {}) == "http://127.0.0.1:5000"
    env = {"HEROKU_DATA_HOST": "127.0.0.1"}
    assert data_url("http://localhost:5000", env) == "http://127.0.0.1:5000"


def test_api_key_from_env_then_netrc(tmp_path: Path):
    assert api_key({"HEROKU_API_KEY": " k1 "}) == "k1"
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.heroku.com\n  login a@b.c\n  password k2\n")
    netrc.chmod(0o600)
    assert api_key({"NETRC": str(netrc)}) == "k2"
    with pytest.raises(AuthError, match="no Heroku API key"):
        api_key({"NETRC": str(tmp_path / "missing")})
