"""Custom domains (`domains = [...]`, top-level) and ACM (`[app] acm`): validate, plan and apply
with their DNS targets in every format, plan again empty, add and remove, remove all, ACM on
and off, a host name another app has (apply) or another stack file declares (plan), reads only
when declared, drift, import, `check --live`; and the official CLI (`heroku domains`,
`certs:auto`) sees what herokustack applied, and its changes show as drift."""

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
    plan_requests,
    unique_name,
    write_stack,
)
from official_heroku import installed, run_heroku_batch

from herokustack.emulator import EmulatorServer
from herokustack.resources import domains

TARGET = r"[a-z]+-[a-z]+-[0-9a-f]{14}\.herokudns\.com"


def doc(name: str, hosts: list[str] | None = None, acm: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"app": {"name": name, "environment": "staging"}}
    if acm is not None:
        out["app"]["acm"] = acm
    if hosts is not None:
        out["domains"] = hosts
    return out


def custom(heroku: Heroku, app: str) -> dict[str, str]:
    """The app's custom domains on Heroku: host name -> DNS target."""
    return {d["hostname"]: d["cname"] for d in heroku.get(f"/apps/{app}/domains")
            if d["kind"] == "custom"}  # fmt: skip


def add(heroku: Heroku, app: str, hostname: str) -> Any:
    return heroku.post(f"/apps/{app}/domains", {"hostname": hostname, "sni_endpoint": None})


def test_apply_adds_the_domains_and_prints_their_dns_targets(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dm")
    www, apex = f"www.{name}.example.com", f"{name}.example"
    path = write_stack(tmp_path, doc(name, [www, apex], acm=True))
    plan = cli("plan", str(path))
    assert plan.exit_code == 0, plan.output
    assert f"  + domain {www}  # Heroku gives its DNS target at apply" in plan.output
    assert "  ~ acm: off → on" in plan.output
    applied = cli("apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    live = custom(heroku, name)
    assert set(live) == {www, apex}
    assert re.fullmatch(TARGET, live[www])
    assert f"  set {www} CNAME {live[www]} at your DNS provider\n" in applied.output
    # A zone's own name cannot be a CNAME: its record is an ALIAS or ANAME.
    assert f"  set {apex} ALIAS or ANAME {live[apex]} at your DNS provider\n" in applied.output
    assert heroku.get(f"/apps/{name}")["acm"] is True
    assert_plan_empty(cli, path)


def test_add_one_remove_one_then_remove_all_with_targets_in_json_and_markdown(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dc")
    a, b, wild = f"a.{name}.example.com", f"b.{name}.example.com", f"*.{name}.example.com"
    path = write_stack(tmp_path, doc(name, [a, b]))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    target_b = custom(heroku, name)[b]

    path = write_stack(tmp_path, doc(name, [a, wild]))
    plan = cli("plan", str(path))
    assert f"  + domain {wild}  # Heroku gives its DNS target at apply" in plan.output
    assert f"  - domain {b} → CNAME {target_b}" in plan.output
    assert "1 to add, 0 to change, 1 to destroy" in plan.output
    data = json.loads(cli("plan", str(path), "--format", "json").stdout)
    changes = {(c["action"], c["name"]): c for c in data["apps"][0]["changes"]}
    assert changes["destroy", b]["before"] == {"hostname": b, "record": "CNAME", "cname": target_b}
    assert changes["create", wild]["after"] == {"hostname": wild, "record": "CNAME"}
    markdown = cli("plan", str(path), "--format", "markdown").stdout
    assert f"- domain {b} → CNAME {target_b}" in markdown

    applied = cli("apply", str(path), "--auto-approve", "--format", "json")
    assert applied.exit_code == 0, applied.output
    [note] = json.loads(applied.stdout)["result"]["apps"][0]["notes"]
    assert set(custom(heroku, name)) == {a, wild}
    assert note == {
        "resource": "domain",
        "name": wild,
        "record": "CNAME",
        "cname": custom(heroku, name)[wild],
        "text": f"set {wild} CNAME {custom(heroku, name)[wild]} at your DNS provider",
    }
    assert_plan_empty(cli, path)

    # `domains = []` declares none: every custom domain goes, the Heroku domain stays.
    path = write_stack(tmp_path, doc(name, []))
    plan = cli("plan", str(path))
    assert "0 to add, 0 to change, 2 to destroy" in plan.output
    assert "herokuapp.com" not in plan.output
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert custom(heroku, name) == {}
    kinds = [d["kind"] for d in heroku.get(f"/apps/{name}/domains")]
    assert kinds == ["heroku"]
    assert_plan_empty(cli, path)


def test_acm_on_and_off_and_left_alone_when_not_written(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("da")
    path = write_stack(tmp_path, doc(name, acm=True))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert heroku.get(f"/apps/{name}")["acm"] is True
    assert_plan_empty(cli, path)
    path = write_stack(tmp_path, doc(name, acm=False))
    plan = cli("plan", str(path))
    assert "  ~ acm: on → off" in plan.output
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert heroku.get(f"/apps/{name}")["acm"] is False
    heroku.post(f"/apps/{name}/acm", {})
    assert_plan_empty(cli, write_stack(tmp_path, doc(name)))  # not written: not managed


def test_a_domain_another_app_has_fails_apply_naming_host_and_app(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    owner, other = unique_name("do"), unique_name("dt")
    host = f"shop.{owner}.example.com"
    heroku.post("/apps", {"name": owner})
    add(heroku, owner, host)
    mine = f"mine.{other}.example.com"
    path = write_stack(tmp_path, doc(other, [mine, host, f"later.{other}.example.com"]))
    result = cli("apply", str(path), "--auto-approve")
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert (
        f"{other}: FAILED at add domains: cannot add domain {host} to app {other}: another "
        f"Heroku app has it (Heroku: {host} is currently in use by another app.); remove it "
        f"there first (heroku domains:remove {host} -a OTHER-APP), then apply again"
    ) in text
    assert "Traceback" not in result.output
    assert set(custom(heroku, other)) == {mine}  # the one before it was added
    assert "not done: + domain later." in text.replace(f"{other}.example.com", "")
    assert set(custom(heroku, owner)) == {host}


def test_two_stack_files_declaring_one_host_name_is_a_plan_error_naming_both(
    cli: Cli, tmp_path: Path
) -> None:
    first, second = unique_name("d1"), unique_name("d2")
    host = f"www.{first}.example.com"
    one = write_stack(tmp_path, doc(first, [host]))
    two = write_stack(tmp_path, doc(second, [f"api.{second}.example.com", host]))
    for command in (["plan", str(one), str(two)], ["validate", str(one), str(two)]):
        result = cli(*command, api=command[0] == "plan")
        assert result.exit_code == 1, result.output
        text = " ".join(result.output.split())
        problem = f"domains[1]: {host} is also declared by {one} (domains[0])"
        assert f"{two}: {problem}" in text or f"{two}:3: {problem}" in text, text
        assert "Traceback" not in result.output


def test_plan_reads_domains_only_for_apps_that_declare_them(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    plain, named = unique_name("dp"), unique_name("dn")
    paths = [
        write_stack(tmp_path, doc(plain, acm=True)),  # ACM is part of the app: no request
        write_stack(tmp_path, doc(named, [f"www.{named}.example.com"])),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    both = plan_requests(cli, emu, *paths)
    assert [s for s in both if "/domains" in s or "/acm" in s] == [f"GET /apps/{named}/domains"]
    with_kind = assert_costs_nothing_undeclared(cli, emu, paths[0], domains.KIND)
    assert not [s for s in with_kind if "/domains" in s]


def test_drift_tells_missing_extra_and_undeclared_domains_and_acm(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    declared, bare = unique_name("dd"), unique_name("du")
    keep, gone = f"keep.{declared}.example.com", f"gone.{declared}.example.com"
    paths = [
        write_stack(tmp_path, doc(declared, [keep, gone], acm=True)),
        write_stack(tmp_path, doc(bare)),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    assert cli("drift", *map(str, paths)).exit_code == 0
    heroku.request("DELETE", f"/apps/{declared}/domains/{gone}")
    extra = add(heroku, declared, f"extra.{declared}.example.com")
    heroku.request("DELETE", f"/apps/{declared}/acm")
    loose = add(heroku, bare, f"www.{bare}.example.com")
    heroku.post(f"/apps/{bare}/acm", {})
    drift = cli("drift", *map(str, paths))
    assert drift.exit_code == 2, drift.output
    lines = drift.output
    assert f"  - domain {gone}: declared, missing on Heroku\n" in lines
    assert (
        f"  + domain {extra['hostname']}: on Heroku (CNAME {extra['cname']}), not declared"
        "  # apply removes it\n"
    ) in lines
    assert "  ~ acm: live off → declared on\n" in lines
    assert (
        f"  + domain {loose['hostname']}: on Heroku (CNAME {loose['cname']}), not declared"
        "  # apply leaves it (domains not declared)\n"
    ) in lines
    assert "  + acm: on Heroku (on), not declared  # apply leaves it\n" in lines
    assert_plan_empty(cli, paths[1])  # undeclared domains and ACM are not managed


def test_import_writes_domains_and_acm_and_plans_empty(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    with_domains, without = unique_name("di"), unique_name("dj")
    for name in (with_domains, without):
        heroku.post("/apps", {"name": name})
    hosts = [f"www.{with_domains}.example.com", f"*.{with_domains}.example.com"]
    for host in hosts:
        add(heroku, with_domains, host)
    heroku.post(f"/apps/{with_domains}/acm", {})
    out = tmp_path / "imported"
    out.mkdir()
    for name in (with_domains, without):
        result = cli("import", name, "--out", str(out / f"{name}.toml"))
        assert result.exit_code == 0, result.output
    text = (out / f"{with_domains}.toml").read_text()
    written = tomli.loads(text)
    assert written["domains"] == sorted(hosts)
    assert written["app"]["acm"] is True
    assert text.index("domains = ") < text.index("[app]")  # top-level: above the first table
    plain = tomli.loads((out / f"{without}.toml").read_text())
    assert "domains" not in plain and "acm" not in plain["app"]  # off: nothing to write
    for name in (with_domains, without):
        assert_plan_empty(cli, out / f"{name}.toml")


def test_check_live_wants_tls_on_production_domains(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dk")
    host = f"www.{name}.example.com"
    stack = {"app": {"name": name, "environment": "production"},
             "formation": {"web": {"quantity": 2, "size": "standard-1x"}}}  # fmt: skip
    path = write_stack(tmp_path, stack)
    heroku.post("/apps", {"name": name})
    live = cli("check", str(path), "--live")
    assert "HS017" in live.output and "HS016" not in live.output  # none live: told
    add(heroku, name, host)
    live = cli("check", str(path), "--live")
    assert live.exit_code == 1, live.output
    assert f"custom domains {host} have no certificate: ACM is off" in live.output
    assert "HS017" not in live.output
    heroku.post(f"/apps/{name}/acm", {})
    assert "HS016" not in cli("check", str(path), "--live").output


def test_a_saved_plan_is_stale_once_a_domain_is_added_by_hand(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("ds")
    host = f"www.{name}.example.com"
    path = write_stack(tmp_path, doc(name, []))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    path = write_stack(tmp_path, doc(name, [host]))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0
    add(heroku, name, host)
    result = cli("apply", str(saved))
    assert result.exit_code == 1
    assert f"{name}: domain {host} changed since the plan was made" in result.stderr


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (["WWW.Example.com"],
         'domains[0]: must be lower-case (www.example.com), got "WWW.Example.com"'),
        (["https://www.example.com"], "domains[0]: must be a host name, not a URL"),
        (["www.example.com."], "domains[0]: must not end with a dot"),
        (["www.*.example.com"], "domains[0]: may only start with `*.` (a wildcard domain"),
        (["shop.herokuapp.com"], "domains[0]: is under herokuapp.com"),
        (["localhost"], "domains[0]: must be a lower-case host name like www.example.com"),
        (["a..example.com"], "domains[0]: must be a lower-case host name"),
        (["-a.example.com"], "domains[0]: must be a lower-case host name"),
        (["10.0.0.1"], "domains[0]: must be a lower-case host name"),
        (["a.example.com", "b.example.com", "a.example.com"],
         "domains[2]: a.example.com is already domains[0]"),
        ("www.example.com", "domains: must be an array of host names"),
    ],
)  # fmt: skip
def test_validate_explains_bad_domains(cli: Cli, tmp_path: Path, hosts: Any, message: str) -> None:
    path = write_stack(tmp_path, doc("bad-domains", hosts))
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_validate_takes_acm_as_a_boolean(cli: Cli, tmp_path: Path) -> None:
    path = write_stack(tmp_path, doc("bad-acm", acm="yes"))  # type: ignore[arg-type]
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert 'app.acm: must be true or false, got "yes"' in result.output


@pytest.mark.skipif(not installed(), reason="the official heroku CLI is not installed (make node)")
def test_the_official_cli_sees_and_changes_what_herokustack_applied(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dx")
    www, api = f"www.{name}.example.com", f"api.{name}.example.com"
    path = write_stack(tmp_path, doc(name, [www], acm=True))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    target = custom(heroku, name)[www]
    home = tmp_path / "home"
    home.mkdir()
    # One Node process for every command (the CLI's start is most of each command's time).
    shown, auto, added, removed, disabled, enabled = run_heroku_batch(
        emu,
        [
            ["domains", "-a", name],
            ["certs:auto", "-a", name],
            ["domains:add", api, "-a", name],
            ["domains:remove", www, "-a", name],
            ["certs:auto:disable", "-a", name, "--confirm", name],
            ["certs:auto:enable", "-a", name],
        ],
        home,
    )
    for done in (shown, auto, added, removed, disabled, enabled):
        assert done.returncode == 0, done.stderr
    assert f"{name} Heroku Domain" in shown.stdout and ".herokuapp.com" in shown.stdout
    assert re.search(rf"{re.escape(www)}\s+CNAME\s+{re.escape(target)}", shown.stdout)
    assert "Automatic Certificate Management is enabled" in auto.stdout
    assert re.search(rf"{re.escape(www)}\s+Cert issued", auto.stdout)
    new_target = custom(heroku, name)[api]
    assert f"DNS Target {new_target}" in added.stdout
    assert "Your certificate will now be managed by Heroku" in enabled.stdout
    assert heroku.get(f"/apps/{name}")["acm"] is True  # off, then on again

    drift = " ".join(cli("drift", str(path)).output.split())
    assert f"domain {www}: declared, missing on Heroku" in drift
    assert f"domain {api}: on Heroku (CNAME {new_target}), not declared" in drift
    assert "acm" not in drift
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert set(custom(heroku, name)) == {www}
    assert_plan_empty(cli, path)


def test_the_emulator_keeps_one_app_per_host_name_and_the_heroku_domain(heroku: Heroku) -> None:
    first, second = unique_name("e1"), unique_name("e2")
    for name in (first, second):
        heroku.post("/apps", {"name": name})
    host = f"www.{first}.example.com"
    add(heroku, first, host)
    url = f"{heroku.emu.url}/apps"
    body = {"hostname": host, "sni_endpoint": None}
    again = heroku.session.post(f"{url}/{first}/domains", json=body, timeout=10)
    taken = heroku.session.post(f"{url}/{second}/domains", json=body, timeout=10)
    assert (again.status_code, again.json()["message"]) == (
        422,
        "Domain already added to this app.",
    )
    assert (taken.status_code, taken.json()["message"]) == (
        422,
        f"{host} is currently in use by another app.",
    )
    [own] = [d for d in heroku.get(f"/apps/{first}/domains") if d["kind"] == "heroku"]
    web_url = heroku.get(f"/apps/{first}")["web_url"]
    assert web_url == f"https://{own['hostname']}/"
    refused = heroku.session.delete(f"{url}/{first}/domains/{own['hostname']}", timeout=10)
    assert refused.status_code == 422
    heroku.request("DELETE", f"/apps/{first}")
    add(heroku, second, host)  # a deleted app's domains are free again
