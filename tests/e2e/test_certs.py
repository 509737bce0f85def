"""Custom certificates (`[[certificates]]`, SNI endpoints): plan shows subject, names and expiry;
apply uploads and binds the domains; plan again empty; a new chain is a rotation in place; the
key never appears in any output or saved plan (byte search); validate and plan name the file
and key of a bad chain, key or domain; reads only when declared; prune; drift and import;
`check` on near expiry (files and live); and the official CLI (`certs`, `certs:add`, `certs:update`,
`certs:info`, `certs:remove`, `certs:auto`, `domains:info`) against the emulator.

Every certificate and key is made here, with `cryptography` (no private key is committed)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomli
from e2e_helpers import Cli, Heroku, assert_plan_empty, plan_requests, unique_name, write_stack
from official_heroku import installed, run_heroku_batch
from tls_certs import make_cert

from herokustack.emulator import EmulatorServer

KEY_VAR = "SHOP_TLS_KEY"


def key_body(key_pem: str) -> list[str]:
    """The base64 lines of a key: none may appear anywhere."""
    return [line for line in key_pem.splitlines() if line and not line.startswith("-----")]


def doc(name: str, hosts: list[str], certs: list[dict[str, Any]] | None, **app: Any) -> Any:
    out: dict[str, Any] = {"domains": hosts, "app": {"name": name, "environment": "staging", **app}}
    if certs is not None:
        out["certificates"] = certs
    return out


def cert_entry(chain_file: str, hosts: list[str], **more: Any) -> dict[str, Any]:
    return {"chain": {"file": chain_file}, "key": {"from_env": KEY_VAR}, "domains": hosts, **more}


def endpoints(heroku: Heroku, app: str) -> list[dict[str, Any]]:
    return list(heroku.get(f"/apps/{app}/sni-endpoints"))


def bound(heroku: Heroku, app: str) -> dict[str, str | None]:
    """The app's custom domains -> the name of the SNI endpoint serving each."""
    return {d["hostname"]: (d["sni_endpoint"] or {}).get("name")
            for d in heroku.get(f"/apps/{app}/domains") if d["kind"] == "custom"}  # fmt: skip


def test_plan_apply_rotate_and_the_key_is_never_shown_or_stored(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("ct")
    www, apex = f"www.{name}.example.com", f"{name}.example.com"
    chain, key = make_cert([www, apex], days=90)
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "shop.pem").write_text(chain)
    path = write_stack(tmp_path, doc(name, [www, apex], [cert_entry("certs/shop.pem", [www])]))
    env = {KEY_VAR: key}
    assert cli("validate", str(path), api=False).exit_code == 0

    plan = cli("plan", str(path), "--out", str(tmp_path / "plan.json"), env=env)
    assert plan.exit_code == 0, plan.output
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=90)).strftime("%Y-%m-%d")
    text = " ".join(plan.output.split())
    assert f"+ certificate {www}: /O=Acme/CN={www}, expires {expires}" in text
    assert f"; valid for {www}, {apex}; serves {www}" in text
    as_json = cli("plan", str(path), "--format", "json", env=env)
    [change] = [c for c in json.loads(as_json.stdout)["apps"][0]["changes"]
                if c["resource"] == "certificate"]  # fmt: skip
    assert change["after"]["subject"] == f"/O=Acme/CN={www}"
    assert change["after"]["expires"] == expires

    applied = cli("apply", str(tmp_path / "plan.json"), env=env)
    assert applied.exit_code == 0, applied.output
    [live] = endpoints(heroku, name)
    assert live["ssl_cert"]["cert_domains"] == [www, apex]
    assert bound(heroku, name) == {www: live["name"], apex: None}
    assert_plan_empty(cli, path)  # the key's variable is not even needed now
    assert_plan_empty_with(cli, path, env)

    # Rotation: a new chain and key for the same domains, and the apex bound too.
    chain2, key2 = make_cert([www, apex], days=365, org="Acme Renewed")
    (tmp_path / "certs" / "shop.pem").write_text(chain2)
    path = write_stack(
        tmp_path, doc(name, [www, apex], [cert_entry("certs/shop.pem", [www, apex])])
    )
    env2 = {KEY_VAR: key2}
    rotated = cli("plan", str(path), "--out", str(tmp_path / "plan2.json"), env=env2)
    assert rotated.exit_code == 0, rotated.output
    text = " ".join(rotated.output.split())
    assert f"~ certificate {www} ({live['name']}): /O=Acme/CN={www}, expires {expires} → " in text
    assert f"/O=Acme Renewed/CN={www}" in text and f"domains {www} → {www}, {apex}" in text
    assert "rotated in place" in text
    applied2 = cli("apply", str(tmp_path / "plan2.json"), env=env2)
    assert applied2.exit_code == 0, applied2.output
    [after] = endpoints(heroku, name)
    assert after["id"] == live["id"] and after["name"] == live["name"]  # updated, not replaced
    assert after["ssl_cert"]["subject"] == f"/O=Acme Renewed/CN={www}"
    assert bound(heroku, name) == {www: live["name"], apex: live["name"]}
    assert_plan_empty_with(cli, path, env2)

    # Neither key, nor any line of one, is in any output or saved plan.
    seen = "".join(cli.outputs).encode()
    saved = b"".join((tmp_path / p).read_bytes() for p in ("plan.json", "plan2.json"))
    for secret in (key, key2):
        for piece in [secret, *key_body(secret)]:
            assert piece.encode() not in seen and piece.encode() not in saved


def assert_plan_empty_with(cli: Cli, path: Path, env: dict[str, str | None]) -> None:
    result = cli("plan", str(path), "--detailed-exitcode", env=env)
    assert result.exit_code == 0, result.output
    assert "No changes" in result.stdout


@pytest.mark.parametrize(
    ("entry", "hosts", "acm", "message"),
    [
        (
            {"chain": "-----BEGIN CERTIFICATE-----", "key": {"from_env": KEY_VAR}},
            [],
            None,
            "certificates[0].chain: must be a table like",
        ),
        (
            {"chain": {"file": "c.pem"}, "key": "PRIVATE-KEY-IN-CLEAR"},
            [],
            None,
            "certificates[0].key: must be a table like",
        ),
        (
            {
                "chain": {"file": "c.pem"},
                "key": {"from_env": KEY_VAR},
                "domains": ["a.example.com"],
            },
            ["b.example.com"],
            None,
            "certificates[0].domains[0]: a.example.com is not in domains",
        ),
        (
            {"chain": {"file": "c.pem"}, "key": {"from_env": KEY_VAR}},
            [],
            True,
            "certificates: ACM is on (app.acm = true)",
        ),
        (
            {"chain": {"file": "c.pem"}, "key": {"from_env": KEY_VAR, "optional": True}},
            [],
            None,
            "certificates[0].key.optional: cannot be optional",
        ),
    ],
)
def test_validate_explains_bad_certificates(
    cli: Cli, tmp_path: Path, entry: dict[str, Any], hosts: list[str], acm: Any, message: str
) -> None:
    app = {"acm": acm} if acm is not None else {}
    path = write_stack(tmp_path, doc(unique_name("cv"), hosts, [entry], **app))
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert "PRIVATE-KEY-IN-CLEAR" not in result.output  # a key written in clear is not echoed


def test_plan_names_file_and_key_of_a_bad_chain_key_or_domain(cli: Cli, tmp_path: Path) -> None:
    name = unique_name("cb")
    www, api = f"www.{name}.example.com", f"api.{name}.example.com"
    chain, key = make_cert([www])
    _, other_key = make_cert([www])
    (tmp_path / "c.pem").write_text(chain)
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    cases = [
        (
            cert_entry("c.pem", [www]),
            {KEY_VAR: other_key},
            "certificates[0].key: the private key (environment variable SHOP_TLS_KEY) does not "
            "match the certificate",
        ),
        (
            cert_entry("c.pem", [www, api]),
            {KEY_VAR: key},
            f"certificates[0].domains[1]: the certificate does not cover {api} (it is valid for "
            f"{www})",
        ),
        (
            cert_entry("junk.pem", [www]),
            {KEY_VAR: key},
            "certificates[0].chain: file junk.pem holds no PEM certificate",
        ),
        (
            cert_entry("gone.pem", [www]),
            {KEY_VAR: key},
            "certificates[0]: file gone.pem does not exist",
        ),
        (
            cert_entry("c.pem", [www]),
            {KEY_VAR: "garbage"},
            "certificates[0].key: the private key (environment variable SHOP_TLS_KEY) is not a "
            "PEM private key",
        ),
    ]
    for entry, env, message in cases:
        path = write_stack(tmp_path, doc(name, [www, api], [entry]))
        result = cli("plan", str(path), env=env)
        text = " ".join(result.output.split())
        assert result.exit_code == 1, result.output
        assert f"{path}: {message}" in text, text
        assert "Traceback" not in text
        for piece in key_body(other_key) + key_body(key):
            assert piece not in result.output


def test_an_upload_needs_the_key_and_the_key_planned(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("ck")
    www = f"www.{name}.example.com"
    chain, key = make_cert([www])
    _, other = make_cert([www])
    (tmp_path / "c.pem").write_text(chain)
    path = write_stack(tmp_path, doc(name, [www], [cert_entry("c.pem", [www])]))
    unset = cli("plan", str(path), env={KEY_VAR: None})
    assert unset.exit_code == 0, unset.output
    assert f"! certificate {www}" in unset.output
    assert "environment variable SHOP_TLS_KEY is not set: the key is needed to upload it" in (
        " ".join(unset.output.split())
    )
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved), env={KEY_VAR: key}).exit_code == 0
    # The saved plan holds where the key comes from, never the key; apply reads it again.
    mismatch = cli("apply", str(saved), env={KEY_VAR: other})
    assert mismatch.exit_code == 1
    assert (
        "certificates[0].key: the private key (environment variable SHOP_TLS_KEY) does not "
        "match the certificate" in " ".join(mismatch.output.split())
    )
    # A consistent new pair since the plan: the plan made now differs, apply refuses.
    other_chain, other = make_cert([www])
    (tmp_path / "c.pem").write_text(other_chain)
    changed = cli("apply", str(saved), env={KEY_VAR: other})
    assert changed.exit_code == 1
    assert "not the plan the stack files and live state give now: nothing was changed" in (
        " ".join(changed.output.split())
    )
    assert not heroku.exists(name)  # refused before the first write
    # Applied, then a new chain without its key: the rotation is refused, not half done.
    (tmp_path / "c.pem").write_text(chain)
    assert cli("apply", str(path), "--auto-approve", env={KEY_VAR: key}).exit_code == 0
    (tmp_path / "c.pem").write_text(make_cert([www], days=300)[0])
    rotate = cli("plan", str(path), "--detailed-exitcode", env={KEY_VAR: None})
    assert rotate.exit_code == 2, rotate.output
    assert f"! certificate {www}" in rotate.output
    assert "the key is needed to rotate it" in " ".join(rotate.output.split())
    for piece in key_body(key) + key_body(other):
        assert piece.encode() not in saved.read_bytes()
        assert piece not in "".join(cli.outputs)


def test_plan_reads_certificates_only_for_apps_that_declare_them(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    plain, with_certs = unique_name("cp"), unique_name("cq")
    www = f"www.{with_certs}.example.com"
    chain, key = make_cert([www])
    (tmp_path / "c.pem").write_text(chain)
    paths = [
        write_stack(tmp_path, doc(plain, [f"www.{plain}.example.com"], None)),
        write_stack(tmp_path, doc(with_certs, [www], [cert_entry("c.pem", [www])])),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve", env={KEY_VAR: key}).exit_code == 0
    seen = plan_requests(cli, emu, *paths)
    assert [s for s in seen if "sni-endpoints" in s] == [f"GET /apps/{with_certs}/sni-endpoints"]
    # The endpoint serves a domain: its id is looked up in the domains (once per kind).
    assert seen.count(f"GET /apps/{with_certs}/domains") == 2
    assert seen.count(f"GET /apps/{plain}/domains") == 1


def test_undeclared_endpoints_are_left_alone_unless_pruned_and_drift_tells(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("cu")
    www, old = f"www.{name}.example.com", f"old.{name}.example.com"
    chain, key = make_cert([www])
    (tmp_path / "c.pem").write_text(chain)
    path = write_stack(tmp_path, doc(name, [www, old], [cert_entry("c.pem", [www])]))
    env = {KEY_VAR: key}
    assert cli("apply", str(path), "--auto-approve", env=env).exit_code == 0
    by_hand_chain, by_hand_key = make_cert([old], days=12)
    body = {"certificate_chain": by_hand_chain, "private_key": by_hand_key}
    by_hand = heroku.post(f"/apps/{name}/sni-endpoints", body)
    heroku.patch(f"/apps/{name}/domains/{old}", {"sni_endpoint": by_hand["name"]})
    assert_plan_empty_with(cli, path, env)  # not declared: left alone
    drift = " ".join(cli("drift", str(path)).output.split())
    assert (
        f"+ certificate {by_hand['name']}: on Heroku (/CN={old}" in drift
        or f"+ certificate {by_hand['name']}: on Heroku (/O=Acme/CN={old}" in drift
    ), drift
    assert f"serves {old}), not declared # apply leaves it (prune_certificates = false)" in drift
    check = cli("check", str(path), "--live", env=env)
    assert f"certificate {by_hand['name']} on Heroku expires" in check.output
    assert "HS021" in check.output

    pruned = write_stack(tmp_path, doc(name, [www, old], [cert_entry("c.pem", [www])],
                                       prune_certificates=True))  # fmt: skip
    plan = cli("plan", str(pruned), env=env)
    assert f"- certificate {by_hand['name']}: /O=Acme/CN={old}" in plan.output, plan.output
    assert cli("apply", str(pruned), "--auto-approve", env=env).exit_code == 0
    assert [e["name"] for e in endpoints(heroku, name)] != [by_hand["name"]]
    assert len(endpoints(heroku, name)) == 1
    assert bound(heroku, name)[old] is None
    assert_plan_empty_with(cli, pruned, env)


def test_drift_and_import_of_certificates(cli: Cli, heroku: Heroku, tmp_path: Path) -> None:
    name = unique_name("cd")
    www = f"www.{name}.example.com"
    chain, key = make_cert([www])
    (tmp_path / "c.pem").write_text(chain)
    path = write_stack(tmp_path, doc(name, [www], [cert_entry("c.pem", [www])]))
    assert cli("apply", str(path), "--auto-approve", env={KEY_VAR: key}).exit_code == 0
    [live] = endpoints(heroku, name)
    by_hand_chain, by_hand_key = make_cert([www], days=5, org="Hand Made")
    heroku.patch(f"/apps/{name}/sni-endpoints/{live['id']}",
                 {"certificate_chain": by_hand_chain, "private_key": by_hand_key})  # fmt: skip
    drift = cli("drift", str(path))
    assert drift.exit_code == 2, drift.output
    text = " ".join(drift.output.split())
    assert f"~ certificate {www} ({live['name']}): live /O=Hand Made/CN={www}, expires" in text
    assert f"→ declared /O=Acme/CN={www}" in text

    out = tmp_path / "imported"
    out.mkdir()
    imported = cli("import", name, "--out", str(out / f"{name}.toml"))
    assert imported.exit_code == 0, imported.output
    written = (out / f"{name}.toml").read_text()
    assert tomli.loads(written)["certificates"] == [
        {"name": live["name"], "chain": {"from_env": "TLS_CERT_CHAIN"},
         "key": {"from_env": "TLS_PRIVATE_KEY"}, "domains": [www]}
    ]  # fmt: skip
    assert "BEGIN" not in written and not any(p in written for p in key_body(by_hand_key))
    assert "set TLS_CERT_CHAIN to its PEM chain" in written
    # With the chain in its variable, the imported file plans empty (the key is not needed).
    env = {"TLS_CERT_CHAIN": by_hand_chain, "TLS_PRIVATE_KEY": None}
    assert_plan_empty_with(cli, out / f"{name}.toml", env)
    heroku.request("DELETE", f"/apps/{name}/sni-endpoints/{live['name']}")
    gone = " ".join(cli("drift", str(out / f"{name}.toml"), env=env).output.split())
    assert f"- certificate {live['name']}: declared /O=Hand Made/CN={www}, expires" in gone
    assert "missing on Heroku" in gone


def test_check_warns_and_errs_on_expiry_and_counts_certificates_for_tls(
    cli: Cli, tmp_path: Path
) -> None:
    name = unique_name("ce")
    www, api = f"www.{name}.example.com", f"api.{name}.example.com"
    for days, severity in ((20, "warning"), (3, "error"), (-2, "error"), (200, None)):
        chain, _ = make_cert([www], days=days)
        (tmp_path / "c.pem").write_text(chain)
        stack = doc(name, [www, api], [cert_entry("c.pem", [www])])
        stack["app"]["environment"] = "production"
        path = write_stack(tmp_path, stack)
        result = cli("check", str(path), "--format", "json", api=False)
        found = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "HS021"]
        if severity is None:
            assert found == []
        else:
            [hit] = found
            assert hit["severity"] == severity
            assert re.search(rf"certificate {re.escape(www)} expires \d{{4}}-\d\d-\d\d \((in|"
                             r"expired) \d+ days?( ago)?\)", hit["message"]), hit  # fmt: skip
        # api is not bound to the certificate and ACM is off: HS016 names it, not www.
        [tls] = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "HS016"]
        assert tls["message"] == f"custom domains {api} have no certificate: ACM is off"


@pytest.mark.skipif(not installed(), reason="the official heroku CLI is not installed (make node)")
def test_the_official_cli_sees_and_changes_what_herokustack_applied(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("cx")
    www = f"www.{name}.example.com"
    chain, key = make_cert([www], days=60)
    (tmp_path / "c.pem").write_text(chain)
    path = write_stack(tmp_path, doc(name, [www], [cert_entry("c.pem", [www])]))
    env = {KEY_VAR: key}
    assert cli("apply", str(path), "--auto-approve", env=env).exit_code == 0
    [ours] = endpoints(heroku, name)
    # certs:add asks which of the app's domains to bind when the certificate covers some: this
    # one covers none, so it only uploads (a batch has no terminal to answer on).
    other_crt, other_key = make_cert(["shop.example.org"], days=30)
    home = tmp_path / "home"
    home.mkdir()
    (home / "other.crt").write_text(other_crt)
    (home / "other.key").write_text(other_key)
    renewed_crt, renewed_key = make_cert([www], days=400, org="Renewed By Hand")
    (home / "renewed.crt").write_text(renewed_crt)
    (home / "renewed.key").write_text(renewed_key)
    renew = ["certs:update", str(home / "renewed.crt"), str(home / "renewed.key")]
    listed, info, domain, auto, updated, removed, added, after = run_heroku_batch(
        emu,
        [
            ["certs", "-a", name],
            ["certs:info", "-a", name, "--name", ours["name"], "--show-domains"],
            ["domains:info", www, "-a", name],
            ["certs:auto", "-a", name],
            [*renew, "-a", name, "--name", ours["name"], "--confirm", name],
            ["certs:remove", "-a", name, "--name", ours["name"], "--confirm", name],
            ["certs:add", str(home / "other.crt"), str(home / "other.key"), "-a", name],
            ["certs", "-a", name],
        ],
        home,
    )
    for done in (listed, info, domain, auto, updated, removed, added, after):
        assert done.returncode == 0, done.stderr
    assert f"Subject:        /O=Renewed By Hand/CN={www}" in updated.stdout, updated.stdout
    expires = ours["ssl_cert"]["expires_at"][:10]
    assert re.search(rf"{ours['name']}\s+{re.escape(www)}\s+{expires} ", listed.stdout)
    assert re.search(r"False\s+SNI\s+1", listed.stdout), listed.stdout  # untrusted, 1 domain
    assert f"Subject:        /O=Acme/CN={www}" in info.stdout, info.stdout
    assert f"Domain(s):      {www}" in info.stdout
    assert "SSL certificate is self signed." in info.stdout
    assert f"sni_endpoint: id: '{ours['id']}', name: '{ours['name']}'" in domain.stdout
    assert "Automatic Certificate Management is disabled" in auto.stdout
    assert "Common Name(s): shop.example.org" in added.stdout
    [theirs] = endpoints(heroku, name)
    assert theirs["name"] in after.stdout and ours["name"] not in after.stdout
    assert bound(heroku, name) == {www: None}  # removing the endpoint unbound its domain

    drift = " ".join(cli("drift", str(path)).output.split())
    assert f"- certificate {www}: declared /O=Acme/CN={www}" in drift
    assert f"+ certificate {theirs['name']}: on Heroku (/O=Acme/CN=shop.example.org" in drift
    assert cli("apply", str(path), "--auto-approve", env=env).exit_code == 0
    assert {e["name"] for e in endpoints(heroku, name)} >= {theirs["name"]}  # left alone
    assert bound(heroku, name)[www] not in (None, theirs["name"])
    assert_plan_empty_with(cli, path, env)


def test_the_emulator_parses_certificates_and_refuses_bad_ones(heroku: Heroku) -> None:
    name = unique_name("cz")
    heroku.post("/apps", {"name": name})
    www = f"www.{name}.example.com"
    chain, key = make_cert([www, f"*.{name}.example.com"], days=10)
    _, other_key = make_cert([www])
    url = f"{heroku.emu.url}/apps/{name}/sni-endpoints"

    def post(body: dict[str, Any]) -> tuple[int, str]:
        answer = heroku.session.post(url, json=body, timeout=10)
        return answer.status_code, answer.json().get("message", "")

    assert post({"certificate_chain": chain}) == (
        422, "Require params: certificate_chain, private_key.")  # fmt: skip
    no_pem = "Certificate chain holds no PEM certificate (-----BEGIN CERTIFICATE-----)."
    assert post({"certificate_chain": "junk", "private_key": key}) == (422, no_pem)
    assert post({"certificate_chain": chain, "private_key": "junk"})[1] == (
        "Private key is not a PEM private key (-----BEGIN PRIVATE KEY-----).")  # fmt: skip
    assert post({"certificate_chain": chain, "private_key": other_key}) == (
        422, "Private key does not match the certificate (another key pair).")  # fmt: skip
    made = heroku.post(f"/apps/{name}/sni-endpoints",
                       {"certificate_chain": chain, "private_key": key})  # fmt: skip
    assert re.fullmatch(r"[a-z]+-\d{5}", made["name"])
    assert made["ssl_cert"]["cert_domains"] == [www, f"*.{name}.example.com"]
    assert made["ssl_cert"]["self_signed?"] is True
    assert "private_key" not in made and made["certificate_chain"] == chain
    domain = heroku.post(f"/apps/{name}/domains", {"hostname": www, "sni_endpoint": made["id"]})
    assert domain["sni_endpoint"] == {"id": made["id"], "name": made["name"]}
    assert heroku.get(f"/apps/{name}/sni-endpoints/{made['name']}")["domains"] == [domain["id"]]
    gone = heroku.session.patch(f"{heroku.emu.url}/apps/{name}/domains/{www}",
                                json={"sni_endpoint": "no-such-endpoint"}, timeout=10)  # fmt: skip
    assert gone.status_code == 404
    heroku.request("DELETE", f"/apps/{name}/domains/{www}")
    assert heroku.get(f"/apps/{name}/sni-endpoints/{made['id']}")["domains"] == []
