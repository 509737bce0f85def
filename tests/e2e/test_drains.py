"""Log drains (`[[drains]]`, url a string or `{ from_env = "VAR" }`): plan and apply adding,
changing (remove + add) and removing drains, an add-on's drain never touched, the URL (and the
token it carries) never in any output or file, read only for apps that declare drains, drift,
import with from_env placeholders, `check` HS007/HS011; and the official CLI sees what
herokustack applied, and its changes show as drift."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomli
from e2e_helpers import (
    Cli,
    Heroku,
    assert_costs_nothing_undeclared,
    assert_plan_empty,
    unique_name,
    write_stack,
)
from official_heroku import installed, run_heroku_batch

from herokustack.client import HerokuClient
from herokustack.emulator import EmulatorServer
from herokustack.resources import drains, read_app

TOKEN = "tok-Zq8xW3vN7rT2mK5pL9sD"  # the credential a drain URL carries
URL = f"https://logs.example.com/ingest?token={TOKEN}"
OTHER_TOKEN = "Hq4Jk7Lm2Np9Rs6Tv3Wx8Yz"
OTHER = f"syslog+tls://logs.other.example:6514/{OTHER_TOKEN}"
HAND_TOKEN = "Bc5Df8Gh1Jk4Lm7Np0Qr3St"
HAND = f"https://hand.example.com/{HAND_TOKEN}"
SECRETS = (TOKEN, OTHER_TOKEN, HAND_TOKEN, URL, OTHER, HAND)
FROM_ENV = {"from_env": "LOG_DRAIN_URL"}


def doc(name: str, urls: list[Any] | None = None, papertrail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"app": {"name": name, "environment": "staging"}}
    if papertrail:
        out["addons"] = {"logs": {"plan": "papertrail:choklad"}}
    if urls is not None:
        out["drains"] = [{"url": url} for url in urls]
    return out


def live_drains(heroku: Heroku, app: str) -> list[dict[str, Any]]:
    return list(heroku.get(f"/apps/{app}/log-drains"))


def urls(heroku: Heroku, app: str, addon: bool = False) -> set[str]:
    return {d["url"] for d in live_drains(heroku, app) if bool(d["addon"]) == addon}


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def env(url: str) -> dict[str, str | None]:
    return {"LOG_DRAIN_URL": url}


def test_add_change_and_remove_drains_leaving_the_add_on_drain(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dr")
    path = write_stack(tmp_path, doc(name, [FROM_ENV], papertrail=True))
    plan = cli("plan", str(path), env=env(URL))
    assert plan.exit_code == 0, plan.output
    assert "  + drain LOG_DRAIN_URL\n" in plan.output
    assert cli("apply", str(path), "--auto-approve", env=env(URL)).exit_code == 0
    assert urls(heroku, name) == {URL}
    [made] = urls(heroku, name, addon=True)  # papertrail's own drain
    assert made.startswith("syslog+tls://logs.papertrailapp.com:")
    assert cli("plan", str(path), "--detailed-exitcode", env=env(URL)).exit_code == 0

    # A changed URL: Heroku has no drain update, so the old drain goes and a new one comes.
    [old] = [d for d in live_drains(heroku, name) if not d["addon"]]
    plan = cli("plan", str(path), env=env(OTHER))
    assert (
        f"  - drain https://logs.example.com ({old['token']})\n"
        "      # URL changed: removed once drain LOG_DRAIN_URL is added (Heroku has no drain "
        "update)\n"
        "  + drain LOG_DRAIN_URL  # replaces drain https://logs.example.com (Heroku has no "
        "drain update)\n"
    ) in plan.output
    assert "1 to add, 0 to change, 1 to destroy" in plan.output
    assert cli("apply", str(path), "--auto-approve", env=env(OTHER)).exit_code == 0
    assert urls(heroku, name) == {OTHER} and urls(heroku, name, addon=True) == {made}
    assert cli("plan", str(path), "--detailed-exitcode", env=env(OTHER)).exit_code == 0

    # A literal URL besides; then `drains = []`: every drain herokustack manages goes.
    path = write_stack(tmp_path, doc(name, [FROM_ENV, "syslog://plain.example.com:514"], True))
    plan = cli("plan", str(path), env=env(OTHER))
    assert "  + drain syslog://plain.example.com\n" in plan.output
    assert cli("apply", str(path), "--auto-approve", env=env(OTHER)).exit_code == 0
    assert urls(heroku, name) == {OTHER, "syslog://plain.example.com:514"}
    path = write_stack(tmp_path, doc(name, [], papertrail=True))
    plan = cli("plan", str(path))
    assert plan.output.count("  - drain ") == 2 and "# not declared" in plan.output
    assert "papertrailapp" not in plan.output  # the add-on's drain is never planned
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert urls(heroku, name) == set() and urls(heroku, name, addon=True) == {made}
    assert_plan_empty(cli, path)
    assert_no_secret(*cli.outputs)


def test_the_url_is_in_no_plan_format_saved_plan_or_drift(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("ds")
    path = write_stack(tmp_path, doc(name, [FROM_ENV]))
    json_plan = cli("plan", str(path), "--format", "json", env=env(URL)).stdout
    [change] = json.loads(json_plan)["apps"][0]["changes"][1:]  # after the app's creation
    assert (change["resource"], change["action"], change["name"]) == ("drain", "create",
                                                                      "LOG_DRAIN_URL")  # fmt: skip
    assert change["sensitive"] and change["before"] is None and change["after"] is None
    assert re.fullmatch(r"[0-9a-f]{64}", change["params"]["url_hash"])
    markdown = cli("plan", str(path), "--format", "markdown", env=env(URL)).stdout
    assert "drain LOG_DRAIN_URL" in markdown
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved), env=env(URL)).exit_code == 0
    # The variable changed since: apply refuses, naming the change, not the URL.
    refused = cli("apply", str(saved), env=env(OTHER))
    assert refused.exit_code == 1 and "drain LOG_DRAIN_URL" in refused.output
    assert cli("apply", str(saved), env=env(URL)).exit_code == 0
    assert urls(heroku, name) == {URL}
    state = read_app(HerokuClient(heroku.emu.url, heroku.emu.api_key), name)
    assert len(state.extra["drains"]) == 1  # read, yet in no repr or dump of live state
    assert_no_secret(repr(state), state.model_dump_json(), str(state.model_dump()))

    # By hand: the declared drain removed, another added. Drift tells both, without URLs.
    [ours] = live_drains(heroku, name)
    heroku.request("DELETE", f"/apps/{name}/log-drains/{ours['id']}")
    hand = heroku.post(f"/apps/{name}/log-drains", {"url": HAND})
    drift = cli("drift", str(path), env=env(URL))
    assert drift.exit_code == 2, drift.output
    assert "  - drain LOG_DRAIN_URL: declared, missing on Heroku\n" in drift.output
    assert (
        f"  + drain https://hand.example.com ({hand['token']}): on Heroku, not declared"
        "  # apply removes it"
    ) in drift.output
    drift_json = cli("drift", str(path), "--format", "json", env=env(URL)).stdout
    drift_md = cli("drift", str(path), "--format", "markdown", env=env(URL)).stdout
    # Its variable unset, a declared drain is only checked for presence: one is there.
    unset = cli("drift", str(path), env={"LOG_DRAIN_URL": None})
    assert unset.exit_code == 0, unset.output
    assert "not compared (environment variables not set): drains[0].url" in unset.output
    texts = [json_plan, markdown, saved.read_text(), drift_json, drift_md, *cli.outputs]
    assert_no_secret(*texts)


def test_a_declared_drain_is_read_only_for_apps_that_declare_drains(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    plain, drained = unique_name("dn"), unique_name("dd")
    paths = [
        write_stack(tmp_path, doc(plain, papertrail=True)),
        write_stack(tmp_path, doc(drained, [FROM_ENV])),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve", env=env(URL)).exit_code == 0
    seen: list[str] = []
    with emu.observing(lambda method, p, body: seen.append(f"{method} {p}")):
        assert cli("plan", *map(str, paths), "--detailed-exitcode", env=env(URL)).exit_code == 0
    assert [s for s in seen if "log-drains" in s] == [f"GET /apps/{drained}/log-drains"]
    assert_costs_nothing_undeclared(cli, emu, paths[0], drains.KIND)


def test_import_writes_from_env_placeholders_and_plans_empty_once_they_are_set(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("di")
    heroku.post("/apps", {"name": name})
    heroku.post(f"/apps/{name}/addons", {"plan": "papertrail:choklad"})
    heroku.patch(f"/apps/{name}/config-vars", {"LOG_DRAIN_URL": "a config var of that name"})
    first = heroku.post(f"/apps/{name}/log-drains", {"url": URL})
    second = heroku.post(f"/apps/{name}/log-drains", {"url": OTHER})
    out = tmp_path / f"{name}.toml"
    result = cli("import", name, "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    written = tomli.loads(text)
    # LOG_DRAIN_URL is a config var's variable already: the drains take the next names.
    assert written["drains"] == [
        {"url": {"from_env": "LOG_DRAIN_URL_2"}},
        {"url": {"from_env": "LOG_DRAIN_URL_3"}},
    ]
    # Each drain's table says which drain's URL its variable must hold (by host and token).
    told = dict(
        re.findall(r"# set (LOG_DRAIN_URL_\d) to the URL of drain \S+ \((d\.[\w-]+)\)", text)
    )
    by_token = {first["token"]: URL, second["token"]: OTHER}
    assert set(told.values()) == set(by_token)
    assert "the log drain of add-on papertrail-" in text and "(the add-on owns it)" in text
    assert "LOG_DRAIN_URL_2, LOG_DRAIN_URL_3" in result.output  # set before plan/apply
    assert_no_secret(text, result.output)
    values = {env_name: by_token[token] for env_name, token in told.items()}
    values["LOG_DRAIN_URL"] = "a config var of that name"
    assert_plan_empty_with(cli, out, values)


def assert_plan_empty_with(cli: Cli, path: Path, values: dict[str, str]) -> None:
    result = cli("plan", str(path), "--detailed-exitcode", env=dict(values))
    assert result.exit_code == 0, result.output
    assert "No changes" in result.stdout


def test_check_counts_declared_drains_and_flags_literal_credentials(
    cli: Cli, tmp_path: Path
) -> None:
    bare = write_stack(tmp_path, doc("hs-bare"))
    drained = write_stack(tmp_path, doc("hs-drained", [FROM_ENV]))
    literal = write_stack(tmp_path, doc("hs-literal", [URL, "syslog+tls://logs.example.com:1"]))
    ids = {}
    for path in (bare, drained, literal):
        result = cli("check", str(path), "--format", "json", api=False)
        found = json.loads(result.stdout)["findings"]
        ids[path.stem] = {(f["rule_id"], f["key_path"]): f["message"] for f in found}
        assert_no_secret(result.stdout)
    assert ("HS007", "addons") in ids["hs-bare"]
    assert ("HS007", "addons") not in ids["hs-drained"]
    assert ids["hs-literal"][("HS011", "drains[0].url")] == (
        "drain URL drains[0] is a literal URL with a token in its path or query; use from_env"
    )
    assert ("HS011", "drains[1].url") not in ids["hs-literal"]
    assert not any(rule == "HS011" for rule, _ in ids["hs-drained"])


def test_bad_urls_and_unset_variables_are_one_line_errors_without_the_url(
    cli: Cli, tmp_path: Path
) -> None:
    path = write_stack(tmp_path, doc("dr-bad", [f"ftp://logs.example.com/{TOKEN}", FROM_ENV]))
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert "drains[0].url: must be a log drain URL: https://, http://, syslog+tls:// or " in (
        result.output
    )
    path = write_stack(tmp_path, doc(unique_name("du"), [FROM_ENV]))
    unset = cli("plan", str(path), env={"LOG_DRAIN_URL": None})
    assert unset.exit_code == 1
    assert f"{path}: drains[0].url: environment variable LOG_DRAIN_URL is not set" in unset.output
    wrong = cli("plan", str(path), env=env(f"logs.example.com/{TOKEN}"))
    assert wrong.exit_code == 1
    assert "drains[0].url: environment variable LOG_DRAIN_URL does not hold a log drain URL" in (
        wrong.output.replace("\n", " ")
    )
    assert "Traceback" not in wrong.output + unset.output
    assert_no_secret(*cli.outputs)


def test_a_saved_plan_is_stale_once_drains_change_by_hand(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dt")
    heroku.post("/apps", {"name": name})
    path = write_stack(tmp_path, doc(name, [FROM_ENV]))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved), env=env(URL)).exit_code == 0
    heroku.post(f"/apps/{name}/log-drains", {"url": URL})
    result = cli("apply", str(saved), env=env(URL))
    assert result.exit_code == 1
    assert f"{name}: log drains changed since the plan was made" in result.stderr
    assert_no_secret(*cli.outputs)


@pytest.mark.skipif(not installed(), reason="the official heroku CLI is not installed")
def test_the_official_cli_sees_and_changes_what_herokustack_applied(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dc")
    path = write_stack(tmp_path, doc(name, [FROM_ENV], papertrail=True))
    assert cli("apply", str(path), "--auto-approve", env=env(URL)).exit_code == 0
    [ours] = [d for d in live_drains(heroku, name) if not d["addon"]]
    home = tmp_path / "home"
    home.mkdir()
    shown, added, removed, listed = run_heroku_batch(
        emu,
        [
            ["drains", "-a", name],
            ["drains:add", HAND, "-a", name],
            ["drains:remove", ours["token"], "-a", name],
            ["drains", "-a", name, "--json"],
        ],
        home,
    )
    assert all(done.returncode == 0 for done in (shown, added, removed, listed)), removed.stderr
    assert "=== Drains" in shown.stdout and f"{URL} ({ours['token']})" in shown.stdout
    assert "=== Add-on Drains" in shown.stdout and "papertrail:choklad" in shown.stdout
    assert f"Successfully added drain {HAND}" in added.stdout
    assert f"Successfully removed drain {URL}" in removed.stdout
    assert {d["url"] for d in json.loads(listed.stdout) if not d["addon"]} == {HAND}

    drift = cli("drift", str(path), env=env(URL))
    assert "  - drain LOG_DRAIN_URL: declared, missing on Heroku" in drift.output
    assert "+ drain https://hand.example.com (" in drift.output
    assert cli("apply", str(path), "--auto-approve", env=env(URL)).exit_code == 0
    assert urls(heroku, name) == {URL}
    assert_no_secret(*cli.outputs)
