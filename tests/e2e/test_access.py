"""Access (`[access]`, email = permissions; `[app] prune_access`): plan in every format, apply,
plan again empty, on team apps (permissions) and personal apps (collaborators); prune; the
owner and team admins never removed; the last manager kept; permissions on a personal app as
a plan error; reads only when declared; drift; import; a saved plan gone stale."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import tomli
from e2e_helpers import (
    Cli,
    Heroku,
    assert_costs_nothing_undeclared,
    assert_plan_empty,
    plan_requests,
    unique_name,
    write_stack,
)

from herokustack.client import InvalidIdError
from herokustack.emulator import EmulatorServer
from herokustack.resources import access

OWNER = "you@herokustack.local"  # the emulated account
TEAM = "acme"


def person(name: str) -> str:
    """A fresh email: team admins are the team's, shared by every test of the module."""
    return f"{name}-{uuid.uuid4().hex[:6]}@acme.com"


def doc(name: str, people: dict[str, list[str]] | None = None, **app: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"app": {"name": name, "environment": "staging", **app}}
    if people is not None:
        out["access"] = people
    return out


def team_app(heroku: Heroku, prefix: str) -> str:
    name = unique_name(prefix)
    heroku.post("/teams/apps", {"name": name, "team": TEAM})
    return name


def personal_app(heroku: Heroku, prefix: str) -> str:
    name = unique_name(prefix)
    heroku.post("/apps", {"name": name})
    return name


def people(heroku: Heroku, app: str) -> dict[str, Any]:
    """email -> role and permissions, as Heroku lists them (the owner too)."""
    return {
        c["user"]["email"]: (c["role"], [p["name"] for p in c.get("permissions", [])])
        for c in heroku.get(f"/apps/{app}/collaborators")
    }


def add_by_hand(heroku: Heroku, app: str, email: str, *permissions: str) -> None:
    heroku.post(f"/teams/apps/{app}/collaborators", {"user": email, "permissions": [*permissions]})


def make_admin(heroku: Heroku, email: str) -> None:
    heroku.request("PUT", f"/teams/{TEAM}/members", {"email": email, "role": "admin"})


def applied(cli: Cli, path: Path) -> Any:
    result = cli("apply", str(path), "--auto-approve")
    assert result.exit_code == 0, result.output
    return result


def test_team_app_plan_apply_change_and_plan_again_empty(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = team_app(heroku, "ac")
    alice, bob = person("alice"), person("bob")
    path = write_stack(tmp_path, doc(name, {alice: ["deploy", "operate"], bob: ["view"]}))
    plan = cli("plan", str(path))
    assert plan.exit_code == 0, plan.output
    assert f"  + access {alice}: deploy, operate, view\n" in plan.output
    assert f"  + access {bob}: view\n" in plan.output
    applied(cli, path)
    found = people(heroku, name)
    assert found[alice] == ("collaborator", ["deploy", "operate", "view"])
    assert found[bob] == ("collaborator", ["view"])
    assert found[f"{TEAM}@herokumanager.com"][0] == "owner"
    assert_plan_empty(cli, path)

    # `view` is always given: a set without it is the same set; case does not matter.
    path = write_stack(tmp_path, doc(name, {alice.upper(): ["operate", "deploy"], bob: []}))
    assert_plan_empty(cli, path)
    path = write_stack(tmp_path, doc(name, {alice: ["operate"], bob: ["deploy", "manage"]}))
    plan = cli("plan", str(path))
    assert f"  ~ access {alice}: deploy, operate, view → operate, view\n" in plan.output
    assert f"  ~ access {bob}: view → deploy, manage, view\n" in plan.output
    assert "2 to change" in plan.output
    applied(cli, path)
    assert people(heroku, name)[bob] == ("collaborator", ["deploy", "manage", "view"])
    assert_plan_empty(cli, path)


def test_a_new_app_of_a_team_gets_its_people_with_permissions(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name, alice = unique_name("an"), person("alice")
    path = write_stack(tmp_path, doc(name, {alice: ["deploy"]}, team=TEAM))
    plan = cli("plan", str(path))
    assert f"  + access {alice}: deploy, view\n" in plan.output, plan.output
    seen: list[str] = []
    with emu.observing(lambda method, p, body: seen.append(f"{method} {p}")):
        applied(cli, path)
    writes = [s for s in seen if not s.startswith("GET")]
    assert writes.index("POST /teams/apps") < writes.index(f"POST /teams/apps/{name}/collaborators")
    assert people(heroku, name)[alice] == ("collaborator", ["deploy", "view"])
    assert_plan_empty(cli, path)


def test_personal_app_collaborators_and_prune(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = personal_app(heroku, "ap")
    bob, carol = person("bob"), person("carol")
    heroku.post(f"/apps/{name}/collaborators", {"user": carol})
    path = write_stack(tmp_path, doc(name, {bob: [], OWNER: []}))
    plan = cli("plan", str(path))
    assert f"  + access {bob}\n" in plan.output and OWNER not in plan.output
    assert carol not in plan.output  # not declared, not pruned: left as it is
    seen: list[str] = []
    with emu.observing(lambda method, p, body: seen.append(f"{method} {p} {json.dumps(body)}")):
        applied(cli, path)
    writes = [s for s in seen if "/collaborators" in s and not s.startswith("GET")]
    assert writes == [
        f'POST /apps/{name}/collaborators {{"user": "{bob}", "silent": true}}',
    ]
    assert people(heroku, name) == {
        OWNER: ("owner", []),
        bob: ("collaborator", []),
        carol: ("collaborator", []),
    }
    assert_plan_empty(cli, path)

    path = write_stack(tmp_path, doc(name, {bob: []}, prune_access=True))
    plan = cli("plan", str(path))
    assert f"  - access {carol}\n" in plan.output and OWNER not in plan.output
    seen.clear()
    with emu.observing(lambda method, p, body: seen.append(f"{method} {p}")):
        applied(cli, path)
    assert [s for s in seen if s.startswith("DELETE")] == [
        f"DELETE /apps/{name}/collaborators/{carol}"
    ]
    assert set(people(heroku, name)) == {OWNER, bob}  # the owner is never removed
    assert_plan_empty(cli, path)


def test_team_apply_sends_what_the_official_cli_sends(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = team_app(heroku, "aw")
    alice, bob, carol = person("alice"), person("bob"), person("carol")
    add_by_hand(heroku, name, bob)
    add_by_hand(heroku, name, carol, "deploy")
    path = write_stack(
        tmp_path, doc(name, {alice: ["operate", "deploy"], bob: ["deploy"]}, prune_access=True)
    )
    seen: list[str] = []
    with emu.observing(lambda method, p, body: seen.append(f"{method} {p} {json.dumps(body)}")):
        applied(cli, path)
    writes = [s for s in seen if "/collaborators" in s and not s.startswith("GET")]
    assert writes == [  # adds, then changes, then removals
        f"POST /teams/apps/{name}/collaborators "
        f'{{"user": "{alice}", "silent": true, "permissions": ["deploy", "operate", "view"]}}',
        f'PATCH /teams/apps/{name}/collaborators/{bob} {{"permissions": ["deploy", "view"]}}',
        f"DELETE /apps/{name}/collaborators/{carol} {{}}",
    ]
    assert_plan_empty(cli, path)


def test_owner_and_team_admins_are_never_removed_nor_changed(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = team_app(heroku, "ao")
    listed, unlisted, bob = person("admin"), person("boss"), person("bob")
    for email in (listed, unlisted):
        make_admin(heroku, email)
    add_by_hand(heroku, name, listed)  # an admin who is also a collaborator (role admin)
    add_by_hand(heroku, name, bob)
    path = write_stack(tmp_path, doc(name, {}, prune_access=True))
    plan = cli("plan", str(path))
    assert f"  - access {bob}\n" in plan.output
    assert listed not in plan.output and "herokumanager" not in plan.output
    applied(cli, path)
    assert people(heroku, name)[listed] == ("admin", ["view"])
    assert bob not in people(heroku, name)
    assert_plan_empty(cli, path)

    # Declared: accepted, and nothing changes; less than what they have is told.
    path = write_stack(
        tmp_path,
        doc(name, {listed: ["view"], unlisted: ["deploy", "manage", "operate"]}, prune_access=True),
    )
    assert_plan_empty(cli, path)
    path = write_stack(tmp_path, doc(name, {listed: ["deploy"], unlisted: ["deploy"]}))
    plan = cli("plan", str(path))
    # Without prune_access the team's members are not read: an admin who is not a collaborator
    # is added as one (their access does not change); one who is listed is left as is.
    assert f"  + access {unlisted}: deploy, view\n" in plan.output
    assert f"  ! access {listed}: view → deploy, view\n" in plan.output
    assert "# a team admin: has every permission through the team, and herokustack never " in (
        plan.output
    )
    path = write_stack(tmp_path, doc(name, {unlisted: ["deploy"]}, prune_access=True))
    plan = cli("plan", str(path))
    assert f"  ! access {unlisted}: deploy, manage, operate, view → deploy, view" in plan.output
    assert "1 refused" in plan.output and listed not in plan.output


def test_the_last_manager_is_kept(cli: Cli, heroku: Heroku, tmp_path: Path) -> None:
    name = team_app(heroku, "am")
    carol, dave = person("carol"), person("dave")
    path = write_stack(tmp_path, doc(name, {carol: ["manage"], dave: ["deploy"]}))
    applied(cli, path)
    note = (
        f"{carol} is the last collaborator with manage (team admins aside): without one, only "
        "team admins could manage this app's access; give someone else manage first"
    )
    for people_now in ({dave: ["deploy"]}, {carol: ["deploy"], dave: ["deploy"]}):
        path = write_stack(tmp_path, doc(name, people_now, prune_access=True))
        plan = cli("plan", str(path))
        assert plan.exit_code == 0, plan.output
        assert f"  ! access {carol}" in plan.output, plan.output
        assert note in " ".join(plan.output.replace("#", " ").split())
        applied(cli, path)
        assert people(heroku, name)[carol] == ("collaborator", ["manage", "view"])
    # Someone else given manage in the same plan: carol goes (dave is added manage first).
    path = write_stack(tmp_path, doc(name, {dave: ["manage"]}, prune_access=True))
    plan = cli("plan", str(path))
    assert f"  - access {carol}\n" in plan.output
    assert f"  ~ access {dave}: deploy, view → manage, view\n" in plan.output
    applied(cli, path)
    assert carol not in people(heroku, name)
    assert_plan_empty(cli, path)


def test_an_email_no_url_takes_is_never_sent(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = personal_app(heroku, "au")
    odd = "x/../y@acme.com"  # Heroku's answers are not trusted to be plain emails
    heroku.post(f"/apps/{name}/collaborators", {"user": odd})
    path = write_stack(tmp_path, doc(name, {}, prune_access=True))
    plan = cli("plan", str(path))
    assert f"  ! access {odd}  # not an email address herokustack sends to Heroku" in plan.output
    seen: list[str] = []
    with emu.observing(lambda method, p, body: seen.append(method)):
        applied(cli, path)
    assert set(seen) == {"GET"}
    with pytest.raises(InvalidIdError, match="is not an email address: it is not sent"):
        access._path(name, odd)


def test_permissions_on_a_personal_app_are_a_plan_error(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = personal_app(heroku, "ae")
    bob = person("bob")
    path = write_stack(tmp_path, doc(name, {bob: ["deploy"]}))
    result = cli("plan", str(path))
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f'{path}: access."{bob}": app {name} is a personal app (no [app] team)' in text
    assert 'declare [] here, or put the app in a team ([app] team = "...")' in text
    assert "Traceback" not in result.output
    new = write_stack(tmp_path, doc(unique_name("an"), {bob: ["view"]}))  # a new personal app
    assert "is a personal app" in cli("plan", str(new)).output
    assert set(people(heroku, name)) == {OWNER}


def test_plan_json_and_markdown(cli: Cli, heroku: Heroku, tmp_path: Path) -> None:
    name = team_app(heroku, "aj")
    alice, bob = person("alice"), person("bob")
    add_by_hand(heroku, name, bob)
    path = write_stack(tmp_path, doc(name, {alice: ["deploy"]}, prune_access=True))
    data = json.loads(cli("plan", str(path), "--format", "json").stdout)
    changes = {c["name"]: c for c in data["apps"][0]["changes"]}
    assert changes[alice]["resource"] == "access"
    assert (changes[alice]["action"], changes[alice]["after"]) == ("create", ["deploy", "view"])
    assert (changes[bob]["action"], changes[bob]["before"]) == ("destroy", ["view"])
    markdown = cli("plan", str(path), "--format", "markdown").stdout
    assert f"+ access {alice}: deploy, view" in markdown and f"- access {bob}" in markdown


def test_plan_reads_access_only_for_apps_that_declare_it(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    plain, declared, pruned = (team_app(heroku, p) for p in ("rn", "rd", "rp"))
    alice = person("alice")
    paths = [
        write_stack(tmp_path, doc(plain)),
        write_stack(tmp_path, doc(declared, {alice: ["deploy"]})),
        write_stack(tmp_path, doc(pruned, {}, prune_access=True)),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    seen = plan_requests(cli, emu, *paths)
    assert sorted(s for s in seen if "/collaborators" in s or "/members" in s) == [
        f"GET /apps/{declared}/collaborators",
        f"GET /apps/{pruned}/collaborators",
        f"GET /teams/{TEAM}/members",  # to know the admins: only with prune_access
    ]
    assert_costs_nothing_undeclared(cli, emu, paths[0], access.ADMINS, access.KIND)


def test_drift_shows_hand_made_changes_and_undeclared_people(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name, bare = team_app(heroku, "ad"), personal_app(heroku, "ab")
    alice, bob, carol, admin = person("alice"), person("bob"), person("carol"), person("adm")
    paths = [
        write_stack(tmp_path, doc(name, {alice: ["deploy"], bob: ["view"]}, team=TEAM)),
        write_stack(tmp_path, doc(bare)),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    assert cli("drift", *map(str, paths)).exit_code == 0
    heroku.patch(f"/teams/apps/{name}/collaborators/{alice}", {"permissions": ["operate"]})
    heroku.request("DELETE", f"/apps/{name}/collaborators/{bob}")
    add_by_hand(heroku, name, carol, "deploy")
    make_admin(heroku, admin)
    add_by_hand(heroku, name, admin)
    heroku.post(f"/apps/{bare}/collaborators", {"user": carol})
    drift = cli("drift", *map(str, paths))
    assert drift.exit_code == 2, drift.output
    assert f"  ~ access {alice}: live operate, view → declared deploy, view\n" in drift.output
    assert f"  - access {bob}: declared view, missing on Heroku\n" in drift.output
    assert f"  + access {carol}: on Heroku (deploy, view), not declared" in drift.output
    assert f"  + access {admin}: on Heroku (view), not declared  # a team admin" in drift.output
    assert f"  + access {carol}: on Heroku, not declared  # apply leaves" in drift.output
    assert OWNER not in drift.output and "herokumanager" not in drift.output
    assert_plan_empty(cli, paths[1])  # undeclared people are not managed


def test_import_writes_access_and_plans_empty(cli: Cli, heroku: Heroku, tmp_path: Path) -> None:
    team, solo = team_app(heroku, "it"), personal_app(heroku, "is")
    alice, bob, admin = person("alice"), person("bob"), person("adm")
    add_by_hand(heroku, team, alice, "operate", "deploy")
    add_by_hand(heroku, team, bob)
    make_admin(heroku, admin)
    add_by_hand(heroku, team, admin)
    heroku.post(f"/apps/{solo}/collaborators", {"user": bob})
    out = tmp_path / "imported"
    out.mkdir()
    for name in (team, solo):
        result = cli("import", name, "--out", str(out / f"{name}.toml"))
        assert result.exit_code == 0, result.output
    text = (out / f"{team}.toml").read_text()
    assert tomli.loads(text)["access"] == {
        alice: ["deploy", "operate", "view"],
        bob: ["view"],
    }
    assert f"# {admin}: a team admin (access through the team)" in text
    assert tomli.loads((out / f"{solo}.toml").read_text())["access"] == {bob: []}
    for name in (team, solo):
        assert_plan_empty(cli, out / f"{name}.toml")


def test_a_saved_plan_is_stale_once_access_changes_by_hand(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = team_app(heroku, "as")
    alice = person("alice")
    add_by_hand(heroku, name, alice)
    path = write_stack(tmp_path, doc(name, {alice: ["deploy"]}))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0
    assert alice in saved.read_text()  # people are emails, never ids
    heroku.patch(f"/teams/apps/{name}/collaborators/{alice}", {"permissions": ["operate"]})
    result = cli("apply", str(saved))
    assert result.exit_code == 1
    assert f"{name}: access {alice} changed since the plan was made" in result.stderr


@pytest.mark.parametrize(
    ("people_", "message"),
    [
        ({"bob@example.com": ["deploi"]}, 'access."bob@example.com"[0]: must be one of view, '),
        ({"bob": []}, "access.bob: must be an email address like alice@acme.com"),
        ({"b@x.com": [], "B@X.com": []}, 'access."B@X.com": the same person as access."b@x.com"'),
        ({"b@x.com": ["view", "view"]}, 'access."b@x.com"[1]: view is already'),
        ({"b@x.com": "deploy"}, 'access."b@x.com": must be an array of permissions'),
    ],
)
def test_validate_explains_bad_access(cli: Cli, tmp_path: Path, people_: Any, message: str) -> None:
    path = write_stack(tmp_path, doc("bad-access", people_))
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_emulator_keeps_heroku_rules(heroku: Heroku) -> None:
    name, solo = team_app(heroku, "ar"), personal_app(heroku, "aq")
    alice = person("alice")

    def status(method: str, path: str, body: Any = None) -> tuple[int, str]:
        answer = heroku.session.request(method, f"{heroku.emu.url}{path}", json=body, timeout=10)
        return answer.status_code, answer.json().get("message", "")

    team_path = f"/teams/apps/{name}/collaborators"
    assert status("POST", team_path, {"user": alice, "permissions": ["deply"]}) == (
        422,
        "Invalid permissions: deply. Permissions must be one of: deploy, manage, operate, view.",
    )
    assert status("POST", team_path, {"user": alice})[0] == 201
    assert status("POST", team_path, {"user": alice.upper()}) == (
        422,
        "User is already a collaborator on app.",
    )
    assert status("DELETE", f"/apps/{name}/collaborators/{TEAM}@herokumanager.com")[0] == 422
    assert status("DELETE", f"/apps/{solo}/collaborators/{OWNER}")[0] == 422
    assert status("POST", f"/teams/apps/{solo}/collaborators", {"user": alice})[0] == 422
    assert status("GET", f"/apps/{name}/collaborators/nobody@acme.com")[0] == 404
    heroku.request("DELETE", f"/apps/{name}")
    with heroku.emu.backend.read() as c:  # the app's rows went with it
        rows = c.execute("SELECT COUNT(*) FROM collaborators WHERE email = ?", (alice,))
        assert rows.fetchone()[0] == 0
