"""Custom certificates (`[[certificates]]`, SNI endpoints): plan shows subject, names and expiry;
apply uploads and binds the domains; plan again empty; a new chain is a rotation in place; the
key never appears in any output or saved plan (byte search); validate and plan name the file
and key of a bad chain, key or domain; reads only when declared; prune; drift and import;
`check` on near expiry (files and live); and the official CLI (`certs`, `certs:add`,
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
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from e2e_helpers import Cli, Heroku, assert_plan_empty, plan_requests, unique_name, write_stack
from official_heroku import installed, run_heroku_batch

from herokustack.emulator import EmulatorServer

KEY_VAR = "SHOP_TLS_KEY"


def make_cert(hosts: list[str], days: float = 90, org: str = "Acme") -> tuple[str, str]:
    """A self-signed certificate for `hosts` (the first is the CN), valid `days` from now, and
    its private key: both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
         x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]
    )  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


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
    assert f"(valid for {www}, {apex}); serves {www}" in text
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
    path = write_stack(tmp_path, doc(name, [www, apex], [cert_entry("certs/shop.pem", [www, apex])]))
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
