"""Buildpacks (`buildpacks = [...]`, the top-level array): validate, plan in every format, apply,
plan again empty, read only for apps that declare them, drift and import; and the official CLI
against the same emulator sees what herokustack applied, and its changes show as drift."""

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
from herokustack.resources import buildpacks

PY, NODE = "heroku/python", "heroku/nodejs"
URL = "https://github.com/heroku/heroku-buildpack-apt.tgz"


def doc(name: str, buildpacks: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"app": {"name": name, "environment": "staging"}}
    if buildpacks is not None:
        out["buildpacks"] = buildpacks
    return out


def installed(heroku: Heroku, app: str) -> list[str]:
    return [b["buildpack"]["name"] for b in heroku.get(f"/apps/{app}/buildpack-installations")]


def put(heroku: Heroku, app: str, names: list[str]) -> None:
    updates = [{"buildpack": n} for n in names]
    heroku.request("PUT", f"/apps/{app}/buildpack-installations", {"updates": updates})


def test_plan_apply_and_plan_again_empty(cli: Cli, heroku: Heroku, tmp_path: Path) -> None:
    name = unique_name("bp")
    path = write_stack(tmp_path, doc(name, [NODE, PY, URL]))
    plan = cli("plan", str(path))
    assert plan.exit_code == 0, plan.output
    assert f"  + buildpacks: [{NODE}, {PY}, {URL}]" in plan.output
    applied = cli("apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert installed(heroku, name) == [NODE, PY, URL]
    assert_plan_empty(cli, path)

    # A new order is one change of the whole list, applied as one PUT.
    path = write_stack(tmp_path, doc(name, [PY, NODE]))
    plan = cli("plan", str(path))
    assert f"  ~ buildpacks: [{NODE}, {PY}, {URL}] → [{PY}, {NODE}]" in plan.output
    assert "1 to change" in plan.output
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert installed(heroku, name) == [PY, NODE]
    assert_plan_empty(cli, path)


def test_plan_json_and_markdown_show_the_whole_list(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("bj")
    path = write_stack(tmp_path, doc(name, [PY]))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    path = write_stack(tmp_path, doc(name, [NODE, PY]))
    data = json.loads(cli("plan", str(path), "--format", "json").stdout)
    [change] = data["apps"][0]["changes"]
    assert change["resource"] == "buildpacks"
    assert (change["action"], change["before"], change["after"]) == ("update", [PY], [NODE, PY])
    markdown = cli("plan", str(path), "--format", "markdown").stdout
    assert f"~ buildpacks: [{PY}] → [{NODE}, {PY}]" in markdown


def test_plan_reads_buildpacks_only_for_apps_that_declare_them(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    plain, packed = unique_name("pl"), unique_name("pk")
    paths = [write_stack(tmp_path, doc(plain)), write_stack(tmp_path, doc(packed, [PY]))]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0

    both = plan_requests(cli, emu, *paths)
    assert [s for s in both if "buildpack" in s] == [f"GET /apps/{packed}/buildpack-installations"]
    # The app without buildpacks costs what it did before the kind existed (kind unregistered).
    with_kind = assert_costs_nothing_undeclared(cli, emu, paths[0], buildpacks.KIND)
    assert f"GET /apps/{plain}" in with_kind


def test_drift_shows_hand_made_changes_and_undeclared_buildpacks(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    declared, bare = unique_name("dd"), unique_name("du")
    paths = [write_stack(tmp_path, doc(declared, [PY])), write_stack(tmp_path, doc(bare))]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    put(heroku, declared, [NODE, PY])
    put(heroku, bare, [NODE])
    drift = cli("drift", *map(str, paths))
    assert drift.exit_code == 2, drift.output
    assert f"  ~ buildpacks: live [{NODE}, {PY}] → declared [{PY}]\n" in drift.output
    assert f"  + buildpacks: on Heroku ([{NODE}]), not declared" in drift.output
    # Undeclared buildpacks are not managed: plan leaves them.
    assert_plan_empty(cli, paths[1])


def test_import_writes_buildpacks_only_when_the_app_has_some(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    with_packs, without = unique_name("ia"), unique_name("ib")
    for name in (with_packs, without):
        heroku.post("/apps", {"name": name})
    put(heroku, with_packs, [NODE, URL])
    out = tmp_path / "imported"
    out.mkdir()
    for name in (with_packs, without):
        result = cli("import", name, "--out", str(out / f"{name}.toml"))
        assert result.exit_code == 0, result.output
    written = tomli.loads((out / f"{with_packs}.toml").read_text())
    assert written["buildpacks"] == [NODE, URL]
    assert "buildpacks" not in (out / f"{without}.toml").read_text()
    assert_plan_empty(cli, out / f"{with_packs}.toml")


@pytest.mark.parametrize(
    ("buildpacks", "message"),
    [
        (
            ["python"],
            "buildpacks[0]: must be a buildpack registry name like heroku/python or an "
            'https URL, got "python"',
        ),
        (["http://example.com/x.tgz"], "buildpacks[0]: must be a buildpack registry name"),
        ([PY, NODE, PY], f"buildpacks[2]: {PY} is already buildpacks[0]"),
        ([f"team/pack-{i}" for i in range(21)], "buildpacks: at most 20 buildpacks, got 21"),
        ("heroku/python", "buildpacks: must be an array of buildpacks"),
    ],
)
def test_validate_explains_bad_buildpacks(
    cli: Cli, tmp_path: Path, buildpacks: Any, message: str
) -> None:
    path = write_stack(tmp_path, doc("bad-packs", buildpacks))
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_official_cli_sees_and_changes_what_herokustack_applied(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    name = unique_name("oc")
    path = write_stack(tmp_path, doc(name, [NODE, PY]))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    shown = official_cli(emu, "buildpacks", "-a", name)
    assert f"1. {NODE}\n" in shown and f"2. {PY}\n" in shown

    official_cli(emu, "buildpacks:add", "heroku-community/apt", "--index", "1", "-a", name)
    drift = cli("drift", str(path)).output
    assert f"live [heroku-community/apt, {NODE}, {PY}] → declared [{NODE}, {PY}]" in drift
    official_cli(emu, "buildpacks:remove", "heroku-community/apt", "-a", name)
    official_cli(emu, "buildpacks:set", "heroku/ruby", "--index", "2", "-a", name)
    drift = cli("drift", str(path)).output
    assert f"live [{NODE}, heroku/ruby] → declared [{NODE}, {PY}]" in drift
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert f"1. {NODE}\n" in official_cli(emu, "buildpacks", "-a", name)


def test_a_saved_plan_is_stale_once_buildpacks_change_by_hand(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("sp")
    path = write_stack(tmp_path, doc(name, [PY]))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    path = write_stack(tmp_path, doc(name, [NODE, PY]))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0
    put(heroku, name, [PY, URL])
    result = cli("apply", str(saved))
    assert result.exit_code == 1
    assert f"{name}: buildpacks changed since the plan was made" in result.stderr
    assert installed(heroku, name) == [PY, URL]


def test_the_emulator_refuses_what_is_not_a_buildpack(heroku: Heroku) -> None:
    name = unique_name("er")
    heroku.post("/apps", {"name": name})
    put(heroku, name, [PY])
    body = {"updates": [{"buildpack": NODE}, {"buildpack": "not a buildpack"}]}
    url = f"{heroku.emu.url}/apps/{name}/buildpack-installations"
    response = heroku.session.put(url, json=body, timeout=10)
    assert response.status_code == 422
    assert response.json()["id"] == "invalid_params"
    assert installed(heroku, name) == [PY]  # nothing changed
    heroku.request("DELETE", f"/apps/{name}")
    assert heroku.session.get(url, timeout=10).status_code == 404
