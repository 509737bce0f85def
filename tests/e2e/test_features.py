"""App features (`[features]`, name = true/false): validate, plan in every format, apply, plan
again empty, read only for apps that declare them, an unknown name as a plan error, drift and
import; and the official CLI (`heroku features`) sees what herokustack applied, and its changes
show as drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomli
from e2e_helpers import (
    Cli,
    Heroku,
    assert_costs_nothing_undeclared,
    assert_plan_empty,
    official_cli,
    plan_requests,
    unique_name,
    write_stack,
)

from herokustack.emulator import EmulatorServer
from herokustack.resources import features


def doc(name: str, wanted: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"app": {"name": name, "environment": "staging"}}
    if wanted is not None:
        out["features"] = wanted
    return out


def enabled(heroku: Heroku, app: str) -> set[str]:
    return {f["name"] for f in heroku.get(f"/apps/{app}/features") if f["enabled"]}


def switch(heroku: Heroku, app: str, name: str, on: bool) -> None:
    heroku.request("PATCH", f"/apps/{app}/features/{name}", {"enabled": on})


def test_plan_apply_and_plan_again_empty(cli: Cli, heroku: Heroku, tmp_path: Path) -> None:
    name = unique_name("ft")
    path = write_stack(tmp_path, doc(name, {"preboot": True, "runtime-dyno-metadata": False}))
    plan = cli("plan", str(path))
    assert plan.exit_code == 0, plan.output
    assert "  ~ feature preboot: off → on" in plan.output
    assert "runtime-dyno-metadata" not in plan.output  # off already, as on a new app
    applied = cli("apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert enabled(heroku, name) == {"preboot"}
    assert_plan_empty(cli, path)

    path = write_stack(tmp_path, doc(name, {"preboot": False, "runtime-dyno-metadata": True}))
    plan = cli("plan", str(path))
    assert "  ~ feature preboot: on → off" in plan.output
    assert "  ~ feature runtime-dyno-metadata: off → on" in plan.output
    assert "2 to change" in plan.output
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert enabled(heroku, name) == {"runtime-dyno-metadata"}
    assert_plan_empty(cli, path)


def test_plan_json_and_markdown(cli: Cli, heroku: Heroku, tmp_path: Path) -> None:
    name = unique_name("fj")
    path = write_stack(tmp_path, doc(name))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    path = write_stack(tmp_path, doc(name, {"http-session-affinity": True}))
    data = json.loads(cli("plan", str(path), "--format", "json").stdout)
    [change] = data["apps"][0]["changes"]
    assert (change["resource"], change["name"]) == ("feature", "http-session-affinity")
    assert (change["action"], change["before"], change["after"]) == ("update", False, True)
    markdown = cli("plan", str(path), "--format", "markdown").stdout
    assert "~ feature http-session-affinity: off → on" in markdown


def test_apply_sends_one_patch_per_changed_feature(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("fp")
    path = write_stack(tmp_path, doc(name))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    switch(heroku, name, "log-runtime-metrics", True)
    wanted = {"preboot": True, "log-runtime-metrics": True, "http-session-affinity": True}
    path = write_stack(tmp_path, doc(name, wanted))
    seen: list[str] = []
    with emu.observing(lambda method, p, body: seen.append(f"{method} {p} {json.dumps(body)}")):
        assert cli("apply", str(path), "--auto-approve").exit_code == 0
    patches = sorted(s for s in seen if s.startswith("PATCH") and "/features/" in s)
    assert patches == [
        f'PATCH /apps/{name}/features/http-session-affinity {{"enabled": true}}',
        f'PATCH /apps/{name}/features/preboot {{"enabled": true}}',
    ]


def test_plan_reads_features_only_for_apps_that_declare_them(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    plain, featured = unique_name("fn"), unique_name("fd")
    paths = [
        write_stack(tmp_path, doc(plain)),
        write_stack(tmp_path, doc(featured, {"preboot": True})),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0

    both = plan_requests(cli, emu, *paths)
    assert [s for s in both if "/features" in s] == [f"GET /apps/{featured}/features"]
    assert_costs_nothing_undeclared(cli, emu, paths[0], features.KIND)


def test_an_unknown_feature_is_a_plan_error_naming_file_key_and_choices(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("fu")
    heroku.post("/apps", {"name": name})
    path = write_stack(tmp_path, doc(name, {"prebot": True}))
    result = cli("plan", str(path))
    assert result.exit_code == 1
    assert (
        f"{path}: features.prebot: Heroku has no app feature 'prebot'; did you mean preboot? "
        "(its features: http-end-to-end-continue, http-session-affinity, "
    ) in result.output.replace("\n", " ").replace("  ", " ")
    assert "Traceback" not in result.output
    assert enabled(heroku, name) == set()


def test_drift_shows_hand_made_changes_and_undeclared_features(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    declared, bare = unique_name("fa"), unique_name("fb")
    paths = [
        write_stack(tmp_path, doc(declared, {"preboot": True})),
        write_stack(tmp_path, doc(bare)),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    drift = cli("drift", *map(str, paths))
    assert drift.exit_code == 0, drift.output
    switch(heroku, declared, "preboot", False)
    switch(heroku, declared, "http-session-affinity", True)
    switch(heroku, bare, "runtime-dyno-metadata", True)
    drift = cli("drift", *map(str, paths))
    assert drift.exit_code == 2, drift.output
    assert "  ~ feature preboot: live off → declared on\n" in drift.output
    assert "  + feature http-session-affinity: on Heroku (on), not declared" in drift.output
    assert "  + feature runtime-dyno-metadata: on Heroku (on), not declared" in drift.output
    assert_plan_empty(cli, paths[1])  # undeclared features are not managed


def test_import_writes_the_enabled_features_and_plans_empty(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    on, off = unique_name("fi"), unique_name("fo")
    for name in (on, off):
        heroku.post("/apps", {"name": name})
    switch(heroku, on, "preboot", True)
    switch(heroku, on, "spaces-dns-discovery", True)
    switch(heroku, on, "http-session-affinity", False)
    out = tmp_path / "imported"
    out.mkdir()
    for name in (on, off):
        result = cli("import", name, "--out", str(out / f"{name}.toml"))
        assert result.exit_code == 0, result.output
    written = tomli.loads((out / f"{on}.toml").read_text())
    assert written["features"] == {"preboot": True, "spaces-dns-discovery": True}
    assert "features" not in (out / f"{off}.toml").read_text()
    assert_plan_empty(cli, out / f"{on}.toml")


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ({"preboot": "yes"}, "features.preboot: must be true or false"),
        ({"Preboot": True}, "features.Preboot: must be an app feature name: lower-case letters"),
        ("preboot", "features: must be a table of feature = true/false"),
    ],
)
def test_validate_explains_bad_features(
    cli: Cli, tmp_path: Path, wanted: Any, message: str
) -> None:
    path = write_stack(tmp_path, doc("bad-features", wanted))
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_official_cli_sees_and_changes_what_herokustack_applied(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    name = unique_name("fc")
    path = write_stack(tmp_path, doc(name, {"preboot": True}))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    shown = official_cli(emu, "features", "-a", name)
    assert "[+] preboot" in shown and "Provide seamless web dyno deploys" in shown
    assert "[ ] http-session-affinity" in shown
    assert "runtime-dyno-metadata" not in shown  # a Labs (beta) feature: `heroku labs`
    info = official_cli(emu, "features:info", "preboot", "-a", name)
    assert "https://devcenter.heroku.com/articles/preboot" in info and "true" in info

    official_cli(emu, "features:disable", "preboot", "-a", name)
    official_cli(emu, "features:enable", "http-session-affinity", "-a", name)
    drift = cli("drift", str(path)).output
    assert "feature preboot: live off → declared on" in drift
    assert "feature http-session-affinity: on Heroku (on), not declared" in drift
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert "[+] preboot" in official_cli(emu, "features", "-a", name)


def test_a_saved_plan_is_stale_once_a_feature_changes_by_hand(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("fs")
    path = write_stack(tmp_path, doc(name))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    path = write_stack(tmp_path, doc(name, {"preboot": True}))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0
    switch(heroku, name, "preboot", True)
    result = cli("apply", str(saved))
    assert result.exit_code == 1
    assert f"{name}: feature preboot changed since the plan was made" in result.stderr


def test_the_emulator_answers_heroku_404_for_an_unknown_feature(heroku: Heroku) -> None:
    name = unique_name("fe")
    heroku.post("/apps", {"name": name})
    url = f"{heroku.emu.url}/apps/{name}/features/prebot"
    for response in (
        heroku.session.get(url, timeout=10),
        heroku.session.patch(url, json={"enabled": True}, timeout=10),
    ):
        assert response.status_code == 404
        assert response.json()["id"] == "not_found"
    bad = heroku.session.patch(url.replace("prebot", "preboot"), json={"enabled": 1}, timeout=10)
    assert bad.status_code == 422
