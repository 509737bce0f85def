"""SNI endpoints (custom certificates), `/apps/{app}/sni-endpoints`, and the domains they serve.

An endpoint is one uploaded certificate chain with its private key. As Heroku does, the chain is
parsed on upload (and on update) to fill `ssl_cert` (subject, issuer, names, validity) and the
endpoint gets a name of Heroku's making (`<dinosaur>-<number>`); a chain that is no PEM
certificate, a key that is no PEM private key (or is encrypted) or one of another key pair is a
422 that says which. The key is kept (Heroku serves it) but never answered: the schema's
sni-endpoint has no such field.

A domain is bound to an endpoint with `PATCH /apps/{app}/domains/{domain}` `{"sni_endpoint":
name or id}` (or at creation); the domain's `sni_endpoint` is then `{id, name}` and the
endpoint's `domains` lists the domain's id. Removing either removes the binding.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.db import (
    Json,
    Store,
    check_fields,
    invalid,
    iso,
    not_found,
    want_str,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sni_endpoints (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, app_id TEXT NOT NULL,
  name TEXT UNIQUE NOT NULL, cert_id TEXT NOT NULL, certificate_chain TEXT NOT NULL,
  private_key TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sni_domains (
  domain_id TEXT PRIMARY KEY, sni_id TEXT NOT NULL, app_id TEXT NOT NULL);
"""
NAME_WORDS = ("stegosaurus", "triceratops", "iguanodon", "diplodocus", "velociraptor",
              "ankylosaurus", "brachiosaurus", "parasaurolophus")  # fmt: skip
MAX_PEM_CHARS = 64 * 1024  # a chain of a few certificates is a few KB


class SniEndpointsState(Store):
    def list_sni_endpoints(self, app_ident: str) -> list[Json]:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            rows = c.execute(
                "SELECT * FROM sni_endpoints WHERE app_id = ? ORDER BY seq", (app["id"],)
            ).fetchall()
            return [self._sni(c, app, r) for r in rows]

    def get_sni_endpoint(self, app_ident: str, ident: str) -> Json:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            return self._sni(c, app, self.sni_row(c, app, ident))

    def add_sni_endpoint(self, app_ident: str, body: Json) -> Json:
        chain, key = _certificate(body)
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            now, ident = self.now(), self.new_id()
            c.execute(
                "INSERT INTO sni_endpoints (id, app_id, name, cert_id, certificate_chain,"
                " private_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ident, app["id"], self._name(c), self.new_id(), chain, key, now, now),
            )
            return self._sni(c, app, self.sni_row(c, app, ident))

    def update_sni_endpoint(self, app_ident: str, ident: str, body: Json) -> Json:
        chain, key = _certificate(body)
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            row = self.sni_row(c, app, ident)
            c.execute(
                "UPDATE sni_endpoints SET certificate_chain = ?, private_key = ?, cert_id = ?,"
                " updated_at = ? WHERE id = ?",
                (chain, key, self.new_id(), self.now(), row["id"]),
            )
            return self._sni(c, app, self.sni_row(c, app, row["id"]))

    def remove_sni_endpoint(self, app_ident: str, ident: str) -> Json:
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            row = self.sni_row(c, app, ident)
            answer = self._sni(c, app, row)
            c.execute("DELETE FROM sni_domains WHERE sni_id = ?", (row["id"],))
            c.execute("DELETE FROM sni_endpoints WHERE id = ?", (row["id"],))
            return answer

    # -- what the domains family asks ---------------------------------------------------------

    def sni_ref(self, c: sqlite3.Connection, domain_id: str) -> Json | None:
        """The domain's `sni_endpoint`: {id, name} of the endpoint it is bound to, or None."""
        row = c.execute(
            "SELECT e.id, e.name FROM sni_domains d JOIN sni_endpoints e ON e.id = d.sni_id"
            " WHERE d.domain_id = ?",
            (domain_id,),
        ).fetchone()
        return {"id": row["id"], "name": row["name"]} if row else None

    def bind_sni(
        self, c: sqlite3.Connection, app: sqlite3.Row, domain_id: str, ident: object
    ) -> None:
        """Bind the domain to the endpoint `ident` (name or id) of the same app; None unbinds."""
        if ident is None:
            c.execute("DELETE FROM sni_domains WHERE domain_id = ?", (domain_id,))
            return
        if not isinstance(ident, str) or not ident:
            raise invalid("Invalid type for sni_endpoint: expected a name or id, or null.")
        row = self.sni_row(c, app, ident)
        c.execute(
            "INSERT OR REPLACE INTO sni_domains (domain_id, sni_id, app_id) VALUES (?, ?, ?)",
            (domain_id, row["id"], app["id"]),
        )

    def unbind_domain(self, c: sqlite3.Connection, domain_id: str) -> None:
        c.execute("DELETE FROM sni_domains WHERE domain_id = ?", (domain_id,))

    @staticmethod
    def sni_row(c: sqlite3.Connection, app: sqlite3.Row, ident: str) -> sqlite3.Row:
        row = c.execute(
            "SELECT * FROM sni_endpoints WHERE app_id = ? AND (id = ? OR name = ?)",
            (app["id"], ident, ident),
        ).fetchone()
        if row is None:
            raise not_found(f"Couldn't find that SNI endpoint ({ident}).", "sni-endpoint")
        return row

    # -- answers --------------------------------------------------------------------------------

    def _name(self, c: sqlite3.Connection) -> str:
        while True:
            name = f"{self._rng.choice(NAME_WORDS)}-{self._rng.randrange(10000, 99999)}"
            if c.execute("SELECT 1 FROM sni_endpoints WHERE name = ?", (name,)).fetchone() is None:
                return name

    def _sni(self, c: sqlite3.Connection, app: sqlite3.Row, row: sqlite3.Row) -> Json:
        from herokustack.tls import parse_chain

        info = parse_chain(row["certificate_chain"])  # it was parsed when uploaded
        domains = c.execute(
            "SELECT d.domain_id FROM sni_domains d JOIN domains m ON m.id = d.domain_id"
            " WHERE d.sni_id = ? ORDER BY m.seq",
            (row["id"],),
        ).fetchall()
        return {
            "id": row["id"],
            "name": row["name"],
            "display_name": None,
            "certificate_chain": row["certificate_chain"],
            "app": {"id": app["id"], "name": app["name"]},
            "domains": [d["domain_id"] for d in domains],
            "ssl_cert": {
                "id": row["cert_id"],
                "ca_signed?": False,  # no trust store here: every certificate is untrusted
                "self_signed?": info.self_signed,
                "cert_domains": list(info.names),
                "subject": info.subject,
                "issuer": info.issuer,
                "starts_at": iso(info.starts_at.timestamp()),
                "expires_at": iso(info.expires_at.timestamp()),
            },
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }


def _certificate(body: Json) -> tuple[str, str]:
    """The chain and key of a create or update, checked as Heroku checks them."""
    from herokustack.tls import CertError, check_key, parse_chain

    check_fields(body, {"certificate_chain", "private_key"})
    chain = want_str(body, "certificate_chain")
    key = want_str(body, "private_key")
    if not chain or not key:
        raise invalid("Require params: certificate_chain, private_key.")
    if len(chain) > MAX_PEM_CHARS or len(key) > MAX_PEM_CHARS:
        raise invalid("Certificate chain or private key is too large.")
    try:
        parse_chain(chain)
    except CertError as exc:
        raise invalid(f"Certificate chain {exc}.") from None
    try:
        check_key(key, chain)
    except CertError as exc:
        raise invalid(f"Private key {exc}.") from None
    return chain, key


def routes(b: SniEndpointsState) -> Sequence[Endpoint]:
    many, one = "/apps/{app}/sni-endpoints", "/apps/{app}/sni-endpoints/{sni}"

    def app_of(c: Call) -> str:
        return c.params["app"]

    return (
        Endpoint(many, "GET", lambda c: b.list_sni_endpoints(app_of(c)), list_field="id"),
        Endpoint(many, "POST", lambda c: b.add_sni_endpoint(app_of(c), c.body), status=201),
        Endpoint(one, "GET", lambda c: b.get_sni_endpoint(app_of(c), c.params["sni"])),
        Endpoint(one, "PATCH", lambda c: b.update_sni_endpoint(app_of(c), c.params["sni"], c.body)),
        Endpoint(one, "DELETE", lambda c: b.remove_sni_endpoint(app_of(c), c.params["sni"])),
    )


FAMILY = Family("sni_endpoints", SCHEMA, routes, app_tables=("sni_endpoints", "sni_domains"))
