"""Custom certificates (SNI endpoints): the `[[certificates]]` tables of a stack file.

    domains = ["www.example.com", "example.com"]

    [[certificates]]
    name = "example-com"                          # optional: how plan lines name it
    chain = { file = "certs/example.com.pem" }    # PEM, leaf first; or { from_env = "VAR" }
    key = { from_env = "EXAMPLE_COM_TLS_KEY" }    # the private key; or { file = "..." }
    domains = ["www.example.com", "example.com"]  # the app's domains it serves

For apps that cannot use ACM (an EV/OV certificate, a wildcard, a private CA). `chain` and `key`
are each `{ from_env = "VAR" }` or `{ file = "path" }` (relative to the stack file that writes
it), never a literal: a key in a stack file would be in git. Plan parses the chain
(`herokustack.tls`, with `cryptography`) and shows the certificate's subject, names and expiry;
it checks that the key is the chain's (when the key is at hand) and that the certificate covers
each domain bound to it. A domain is bound to one certificate at most, and must be in `domains`
when the file declares them; `acm = true` with certificates is a validate error (ACM issues the
domains' certificates itself).

Identity. Heroku names an endpoint itself (`tyrannosaurus-12345`), and never returns the key; the
chain it does return. A declared certificate is the live endpoint (of those ACM did not make)
that, in this order: has its `name` as Heroku's name; serves the same chain (SHA-256 of each
certificate); is bound to one of its domains; is valid for the same names. Else it is new.

Plan and apply. A new certificate is uploaded (`POST /apps/{app}/sni-endpoints`) and its domains
bound (`PATCH /apps/{app}/domains/{domain}` {sni_endpoint}); another chain for a known endpoint
is a rotation, an update in place (`PATCH /apps/{app}/sni-endpoints/{id}`: the domains keep
being served, no gap); domains bound or unbound are part of the same update. Apply runs it
after the domains are added (82) and before ACM (84): step 83.

Removal. An endpoint the file does not declare is left alone (drift shows it), unless `[app]
prune_certificates = true`: then it is removed (`DELETE`). Removing one takes TLS away from its
domains at once, and Heroku cannot give the key back, so unlike domains (recreated in a second)
it takes the explicit option, as config vars and access do.

Secrets. The key is read when planning, only to compare its public half with the chain's, and
at apply to send it; a plan holds keyed hashes (`secret_hash`) of chain and key, and where they
come from (a variable name, a file path), never either value. Apply reads them again and
refuses when they differ from the plan's. The client redacts the key from every message. The
key is only needed for an upload or a rotation: a plan with nothing to send (and drift) needs
the chain alone; an upload whose key variable is unset is refused (`!`), not half done.

Reads: `GET /apps/{app}/sni-endpoints`, plus `GET /apps/{app}/domains` when an endpoint serves
domains (the endpoint lists domain ids), only for apps that declare certificates (or prune them).
Import writes each endpoint as `{ from_env = "TLS_CERT_CHAIN" }` and `{ from_env =
"TLS_PRIVATE_KEY" }` (then `_2`, `_3`, ...), with its Heroku name and bound domains.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Discriminator, Field, Tag

from herokustack.errors import HerokustackError, StackFileError
from herokustack.facts import Live
from herokustack.resources.base import (
    Change,
    DriftContext,
    Kind,
    Loc,
    PlanContext,
    Step,
    Strict,
    key_text,
    secret_hash,
    write_tables,
)
from herokustack.resources.config_vars import CONFIG_VAR_PATTERN, FromEnv
from herokustack.resources.domains import Hostname

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import Stack, StackFile
    from herokustack.tls import CertInfo

NAME_PATTERN = r"^[a-z][a-z0-9-]{2,29}$"  # Heroku's SNI endpoint names
SOURCE = 'a table like { from_env = "VAR" } or { file = "certs/example.pem" }'
CHAIN_ENV, KEY_ENV = "TLS_CERT_CHAIN", "TLS_PRIVATE_KEY"  # what import names (then _2, ...)
MAX_PEM_BYTES = 64 * 1024

PRUNE_FIELD: Any = Field(
    default=False,
    description="Remove custom certificates (SNI endpoints) that are on Heroku but not in "
    "this file (their domains lose TLS unless ACM or another certificate serves them).",
)


class FromFile(Strict):
    """A PEM file, relative to the stack file that names it."""

    file: str = Field(min_length=1, description="Path of the PEM file, relative to this file.")


def _source_kind(value: Any) -> str | None:
    if isinstance(value, FromEnv) or (isinstance(value, dict) and "from_env" in value):
        return "@env"
    if isinstance(value, FromFile) or (isinstance(value, dict) and "file" in value):
        return "@file"
    return None


# The tags appear in error locations; the loader drops them. A string never matches: it is
# refused without being echoed (a key written in clear).
PemSource = Annotated[
    Annotated[FromEnv, Tag("@env")] | Annotated[FromFile, Tag("@file")],
    Discriminator(
        _source_kind,
        custom_error_type="pem_source",
        custom_error_message=f"must be {SOURCE}: a certificate or key is never written in a "
        "stack file",
    ),
]


class CertificateSpec(Strict):
    """A custom certificate (an SNI endpoint) and the app's domains it serves."""

    name: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="How plan lines name it; when it is Heroku's name of an endpoint "
        "(`heroku certs`), that endpoint is this certificate.",
    )
    chain: PemSource = Field(description="The PEM certificate chain, leaf first.")
    key: PemSource = Field(description="The PEM private key (unencrypted). Never printed.")
    domains: list[Hostname] = Field(
        default_factory=list, description="The app's custom domains this certificate serves."
    )


class LiveCert(Live):
    """An SNI endpoint of a live app (its chain is public: Heroku answers it)."""

    id: str
    name: str
    subject: str
    names: tuple[str, ...]
    expires_at: str  # ISO 8601, as Heroku answers it
    fingerprints: tuple[str, ...]
    domains: tuple[str, ...]  # host names bound to it

    def shown(self) -> dict[str, Any]:
        return {"subject": self.subject, "names": list(self.names),
                "expires": self.expires_at[:10], "domains": list(self.domains)}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Declared:
    """A declared certificate as plan sees it: its chain read and parsed, its key if at hand."""

    index: int
    spec: CertificateSpec
    info: CertInfo
    chain: str
    key: str | None  # None: its variable is unset (only an upload needs it)

    @property
    def label(self) -> str:
        return self.spec.name or self.info.label

    def shown(self) -> dict[str, Any]:
        return {"subject": self.info.subject, "names": list(self.info.names),
                "expires": self.info.expires_at.strftime("%Y-%m-%d"),
                "domains": list(self.spec.domains)}  # fmt: skip


def _path(app: str, ident: str | None = None) -> str:
    from herokustack.client import app_path, path_segment  # only when reading or writing

    base = f"{app_path(app)}/sni-endpoints"
    return f"{base}/{path_segment(ident, 'SNI endpoint id')}" if ident else base


def _domain_path(app: str, hostname: str) -> str:
    from herokustack.client import app_path, path_segment

    return f"{app_path(app)}/domains/{path_segment(hostname, 'domain hostname')}"


def _hash_name(index: int, field: str) -> str:
    return f"certificates[{index}]:{field}"


# --- reading sources ---------------------------------------------------------------------------


class SourceProblem(HerokustackError):
    """A chain or key that cannot be read: one line naming the variable or file."""


def read_source(stack: Stack, loc: Loc, source: FromEnv | FromFile) -> str | None:
    """The PEM text of a chain or key: from the environment (None when unset) or a file."""
    if isinstance(source, FromEnv):
        return os.environ.get(source.from_env)
    path = source_path(stack, loc, source)
    try:
        if path.stat().st_size > MAX_PEM_BYTES:
            raise SourceProblem(f"file {source.file} is larger than {MAX_PEM_BYTES:,} bytes")
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        why = "is not ASCII PEM text" if isinstance(exc, UnicodeDecodeError) else "cannot be read"
        if isinstance(exc, FileNotFoundError):
            why = "does not exist"
        raise SourceProblem(f"file {source.file} {why} (looked for {path})") from None


def source_path(stack: Stack, loc: Loc, source: FromFile) -> Path:
    """A `file` path: relative to the stack file (of the `extends` chain) that writes it."""
    written = Path(stack.locate(loc)[0])
    return (written.parent / source.file).resolve()


def source_text(source: FromEnv | FromFile) -> str:
    return f"environment variable {source.from_env}" if isinstance(source, FromEnv) else (
        f"file {source.file}")  # fmt: skip


def declared_certs(stack: Stack) -> list[Declared]:
    """The declared certificates, chains parsed (and keys checked when at hand); StackFileError
    listing every problem, each with its file and key path (never a value)."""
    from herokustack.tls import CertError, check_key, covers, parse_chain

    found: list[Declared] = []
    problems: list[str] = []
    for i, spec in enumerate(getattr(stack.spec, "certificates", None) or []):

        def where(*loc: str | int, i: int = i) -> str:
            full: Loc = ("certificates", i, *loc)
            return f"{stack.locate(full)[0]}: {key_text(full)}"

        try:
            chain = read_source(stack, ("certificates", i, "chain"), spec.chain)
            key = read_source(stack, ("certificates", i, "key"), spec.key)
        except SourceProblem as exc:
            problems.append(f"{where()}: {exc}")
            continue
        if chain is None:
            problems.append(f"{where('chain')}: {source_text(spec.chain)} is not set")
            continue
        try:
            info = parse_chain(chain)
        except CertError as exc:
            problems.append(f"{where('chain')}: {source_text(spec.chain)} {exc}")
            continue
        if key is not None:
            try:
                check_key(key, chain)
            except CertError as exc:
                problems.append(f"{where('key')}: the private key ({source_text(spec.key)}) {exc}")
                continue
        for j, host in enumerate(spec.domains):
            if not covers(info.names, host):
                names = ", ".join(info.names) or "none"
                problems.append(f"{where('domains', j)}: the certificate does not cover {host} "
                                f"(it is valid for {names})")  # fmt: skip
        found.append(Declared(i, spec, info, chain, key))
    if problems:
        raise StackFileError(problems)
    return found


# --- apply -------------------------------------------------------------------------------------


def _apply(run: AppRun, changes: list[Change]) -> None:
    # Uploads and rotations first, removals last: a domain is never left without its new
    # certificate because an older one went first.
    run.each(sorted(changes, key=lambda c: c.action == "destroy"), _apply_one)


def _apply_one(run: AppRun, change: Change) -> None:
    from herokustack.client import ApiError

    params = change.params
    if change.action == "destroy":
        try:
            run.client.request("DELETE", _path(run.app, params["id"]))
        except ApiError as exc:  # already gone: a retried DELETE that had succeeded
            if not (exc.status == 404 and exc.resource != "app"):
                raise
        return
    ident = params.get("id")
    if change.action == "create" or params.get("rotate"):
        body = {"certificate_chain": _planned(run, change, "chain"),
                "private_key": _planned(run, change, "key")}  # fmt: skip
        if ident is None:
            ident = _upload(run, body)
        else:
            run.client.request("PATCH", _path(run.app, ident), body)
        run.note(change, f"certificate {change.name}: expires {change.after['expires']}")
    for hostname in params.get("unbind", []):
        _bind(run, hostname, None)
    for hostname in params.get("bind", []):
        _bind(run, hostname, ident)


def _upload(run: AppRun, body: dict[str, str]) -> str:
    from herokustack.applier import ApplyError
    from herokustack.client import ApiError

    try:
        answer = run.client.request("POST", _path(run.app), body)
    except ApiError as exc:
        if exc.status == 422:
            raise ApplyError(f"Heroku refuses the certificate: {exc.detail}") from None
        raise
    doc = answer.json() if answer.content else {}
    ident = doc.get("id") if isinstance(doc, dict) else None
    if not isinstance(ident, str) or not ident:
        raise ApiError("POST sni-endpoints: answer is not what Heroku answers (an id)")
    return ident


def _bind(run: AppRun, hostname: str, ident: str | None) -> None:
    from herokustack.applier import ApplyError
    from herokustack.client import ApiError

    try:
        run.client.request("PATCH", _domain_path(run.app, hostname), {"sni_endpoint": ident})
    except ApiError as exc:
        if not exc.missing("domain"):
            raise
        if ident is not None:  # (unbinding a domain that is gone: done)
            raise ApplyError(
                f"domain {hostname} is not on app {run.app}: declare it in "
                "domains (or add it) before a certificate serves it"
            ) from None


def _planned(run: AppRun, change: Change, field: str) -> str:
    """The chain or key as planned: read again, refused when it changed since plan."""
    from herokustack.applier import ApplyError

    params = change.params
    source: FromEnv | FromFile
    if f"{field}_env" in params:
        source = FromEnv(from_env=params[f"{field}_env"])
        value = os.environ.get(source.from_env)
    else:
        source = FromFile(file=params[f"{field}_file"])
        try:
            value = Path(source.file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            value = None
    digest = secret_hash(run.key, _hash_name(params["index"], field), value or "")
    if value is None or digest != params.get(f"{field}_hash"):
        raise ApplyError(
            f"certificate {change.name}: {field}: {source_text(source)} is not set or holds "
            "another value than when the plan was made"
        )
    if field == "key":
        run.client.redact.add(value, *_key_lines(value))
    return value


def _key_lines(key: str) -> list[str]:
    """The base64 lines of a key: a message quoting part of it is redacted too."""
    return [line.strip() for line in key.splitlines() if len(line.strip()) >= 16]


# --- the kind ----------------------------------------------------------------------------------


class Certificates(Kind):
    name = "certificates"
    resource = "certificate"
    label = "certificate"
    read_cost = (
        "1 request: GET /apps/{app}/sni-endpoints (+1, GET /apps/{app}/domains, when an "
        "endpoint serves domains), only for apps that declare certificates"
    )
    section = "certificates"
    section_model = list[CertificateSpec]
    section_description = (
        "Custom certificates (SNI endpoints): chain and key each { from_env = ... } or "
        "{ file = ... }, and the domains each serves. Undeclared ones are left alone unless "
        "[app] prune_certificates."
    )
    env_expected = "an environment variable name: letters, digits and _, not starting with a digit"
    expected = {
        "certificates": "an array of tables like [[certificates]] chain = ..., key = ...",
        "certificates.*": "a table with chain, key and domains",
        "certificates.*.name": "a name: 3 to 30 lower-case letters, digits or dashes, "
        "starting with a letter",
        "certificates.*.chain": SOURCE,
        "certificates.*.key": SOURCE,
        "certificates.*.chain.from_env": env_expected,
        "certificates.*.key.from_env": env_expected,
        "certificates.*.chain.file": "a file path, relative to this stack file",
        "certificates.*.key.file": "a file path, relative to this stack file",
        "certificates.*.domains": "an array of host names",
    }
    models_at = {"certificates.*": CertificateSpec}
    named = frozenset({("certificates",), ("certificates", "*", "domains")})
    hidden_values = frozenset({"certificates.*.key", "certificates.*.chain"})

    def declared(self, spec: StackFile) -> bool:
        return self.section in spec.model_fields_set  # `certificates = []` says: none

    def wants_undeclared(self, spec: StackFile) -> bool:
        return bool(spec.app.prune_certificates)

    def _specs(self, spec: StackFile) -> list[CertificateSpec]:
        return list(getattr(spec, self.section, None) or [])

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        specs = self._specs(spec)
        problems: list[tuple[Loc, str]] = []
        if specs and spec.app.acm:
            msg = ("ACM is on (app.acm = true): Heroku issues the domains' certificates itself; "
                   "set acm = false to upload your own")  # fmt: skip
            problems.append(((self.section,), msg))
        names: dict[str, int] = {}
        for i, cert in enumerate(specs):
            if cert.name is not None and cert.name in names:
                msg = f"{cert.name} is already certificates[{names[cert.name]}].name"
                problems.append(((self.section, i, "name"), msg))
            if cert.name is not None:
                names.setdefault(cert.name, i)
            for field in ("chain", "key"):
                source = getattr(cert, field)
                if isinstance(source, FromEnv) and source.optional:
                    msg = "cannot be optional: a certificate needs its chain and key"
                    problems.append(((self.section, i, field, "optional"), msg))
        return problems + _domain_problems(specs, spec.domains)

    def env_names(self, spec: StackFile) -> list[str]:
        found = {getattr(c, f).from_env for c in self._specs(spec) for f in ("chain", "key")
                 if isinstance(getattr(c, f), FromEnv)}  # fmt: skip
        return sorted(found)

    # -- live state ---------------------------------------------------------------------------

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        docs = [d for d in client.get_list(_path(app)) if not _by_acm(d)]
        hosts: dict[str, str] = {}
        if any(d.get("domains") for d in docs):
            from herokustack.client import app_path

            for item in client.get_list(f"{app_path(app)}/domains"):
                if isinstance(item.get("id"), str) and isinstance(item.get("hostname"), str):
                    hosts[item["id"]] = item["hostname"]
        return {self.name: tuple(_live(client, d, hosts) for d in docs)}

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        declared = declared_certs(ctx.stack) if self.declared(ctx.spec) else []
        pool: list[LiveCert] = list(self.facts(ctx.live) or ())
        for item in declared:
            live = _match(item, pool)
            if live is None:
                _plan_create(ctx, item)
            else:
                pool.remove(live)
                _plan_update(ctx, item, live)
        if ctx.spec.app.prune_certificates:
            for live in pool:
                ctx.add("destroy", self.resource, _live_label(live), before=live.shown(),
                        note="not in the stack file (prune_certificates)",
                        params={"id": live.id})  # fmt: skip

    def steps(self) -> list[Step]:
        # After the domains are added (82: a new certificate's domains exist), before ACM (84).
        return [Step(83, "certificates", _apply)]

    # -- text ---------------------------------------------------------------------------------

    def what(self, change: Change) -> str:
        return f"{self.label} {change.name}"

    def body(self, change: Change) -> str:
        if change.action == "destroy" or (change.action == "refused" and not change.before):
            shown = change.before or change.after
            return f": {_cert_text(shown)}" if shown else ""
        if change.action == "create":
            return f": {_cert_text(change.after)}{_domains_text(change.after)}"
        parts = []
        if change.params.get("rotate"):
            parts.append(f"{_cert_text(change.before)} → {_cert_text(change.after)}")
        if change.before.get("domains") != change.after.get("domains"):
            was = ", ".join(change.before["domains"]) or "none"
            now = ", ".join(change.after["domains"]) or "none"
            parts.append(f"domains {was} → {now}")
        return ": " + "; ".join(parts)

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.action == "destroy":
            return {"kind": "undeclared", "live": _cert_text(change.before),
                    "note": "apply removes it (prune_certificates)"}  # fmt: skip
        if change.action in ("update", "refused") and change.before:
            return {"kind": "changed", "live": _full_text(change.before),
                    "declared": _full_text(change.after), "note": change.note}  # fmt: skip
        return {"kind": "missing", "declared": _full_text(change.after)}

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        if ctx.stack.spec.app.prune_certificates:
            return []  # the planner already reports them
        planned = {c.params.get("id") for c in ctx.changes if c.resource == self.resource}
        matched = _matched_ids(ctx)
        return [
            {"kind": "undeclared", "name": _live_label(live), "live": _full_text(live.shown()),
             "note": "apply leaves it (prune_certificates = false)"}
            for live in self.facts(ctx.live) or ()
            if live.id not in planned and live.id not in matched
        ]  # fmt: skip

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        entries = []
        for number, live in enumerate(self.facts(builder.live) or (), 1):
            suffix = "" if number == 1 else f"_{number}"
            chain_env, key_env = f"{CHAIN_ENV}{suffix}", f"{KEY_ENV}{suffix}"
            entry: dict[str, Any] = {"chain": {"from_env": chain_env},
                                     "key": {"from_env": key_env}}  # fmt: skip
            if re.fullmatch(NAME_PATTERN, live.name):
                entry["name"] = live.name
            if live.domains:
                entry["domains"] = list(live.domains)
            builder.note(
                self.section,
                f"{live.name} ({live.subject}, expires {live.expires_at[:10]}): set "
                f"{chain_env} to its PEM chain (the API answers it: GET /apps/"
                f"{builder.live.name}/sni-endpoints/{live.name}), {key_env} to its private "
                "key (Heroku never returns it)",
            )
            entries.append(entry)
        if entries:
            doc[self.section] = entries

    def write_section(self, doc: Any, values: Any, notes: Sequence[str]) -> None:
        write_tables(doc, self.section, list(values or []), CertificateSpec, notes)

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        found = self.facts(live)
        if found is None:
            return {}
        # The chains, not the domains served: removing a domain (step 81) unbinds it, and
        # must not make the certificates' step look stale.
        return {"certificates": sorted([c.id, list(c.fingerprints)] for c in found)}

    def touched_parts(self, change: Change) -> list[str]:
        return ["certificates"]

    def part_label(self, name: str) -> str:
        return "certificates"


# --- helpers -----------------------------------------------------------------------------------


def _domain_problems(
    specs: Sequence[CertificateSpec], declared: Sequence[str] | None
) -> list[tuple[Loc, str]]:
    """A domain served by one certificate at most, and declared in `domains` when they are."""
    problems: list[tuple[Loc, str]] = []
    bound: dict[str, str] = {}
    for i, cert in enumerate(specs):
        for j, host in enumerate(cert.domains):
            loc: Loc = ("certificates", i, "domains", j)
            if host in bound:
                problems.append((loc, f"{host} is already served by {bound[host]}"))
                continue
            bound[host] = f"certificates[{i}]"
            if declared is not None and host not in declared:
                problems.append((loc, f"{host} is not in domains (declare it there too)"))
    return problems


def _by_acm(doc: Mapping[str, Any]) -> bool:
    """An endpoint ACM made (Heroku lists them too): never managed here."""
    cert = doc.get("ssl_cert")
    return isinstance(cert, dict) and bool(cert.get("acm"))


def _live(client: HerokuClient, doc: Mapping[str, Any], hosts: Mapping[str, str]) -> LiveCert:
    from herokustack.client import ApiError
    from herokustack.tls import CertError, parse_chain

    chain = doc.get("certificate_chain")
    ident, name = doc.get("id"), doc.get("name")
    if not (isinstance(ident, str) and isinstance(name, str) and isinstance(chain, str)):
        raise ApiError("GET sni-endpoints: answer is not what Heroku answers (id, name, chain)")
    try:
        info = parse_chain(chain)
    except CertError as exc:
        raise ApiError(f"GET sni-endpoints: the chain of {name} {exc}") from None
    ids = doc.get("domains") if isinstance(doc.get("domains"), list) else []
    return LiveCert(
        id=ident,
        name=name,
        subject=info.subject,
        names=info.names,
        expires_at=info.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        fingerprints=info.fingerprints,
        domains=tuple(hosts[i] for i in ids or () if i in hosts),
    )


def _match(item: Declared, pool: Sequence[LiveCert]) -> LiveCert | None:
    tests = (
        lambda c: item.spec.name is not None and c.name == item.spec.name,
        lambda c: c.fingerprints == item.info.fingerprints,
        lambda c: bool(set(c.domains) & set(item.spec.domains)),
        lambda c: set(c.names) == set(item.info.names),
    )
    for test in tests:
        found = next((c for c in pool if test(c)), None)
        if found is not None:
            return found
    return None


def _matched_ids(ctx: DriftContext) -> set[str]:
    """The live endpoints a declared certificate is (their changes, if any, are planned)."""
    try:
        declared = declared_certs(ctx.stack)
    except StackFileError:
        return set()
    pool = list(ctx.live.extra.get("certificates") or ())
    found = set()
    for item in declared:
        live = _match(item, pool)
        if live is not None:
            pool.remove(live)
            found.add(live.id)
    return found


def _sources(ctx: PlanContext, item: Declared) -> dict[str, Any]:
    params: dict[str, Any] = {"index": item.index}
    for field, value in (("chain", item.chain), ("key", item.key)):
        source = getattr(item.spec, field)
        if isinstance(source, FromEnv):
            params[f"{field}_env"] = source.from_env
        else:
            loc: Loc = ("certificates", item.index, field)
            params[f"{field}_file"] = str(source_path(ctx.stack, loc, source))
        if value is not None:
            params[f"{field}_hash"] = secret_hash(ctx.key, _hash_name(item.index, field), value)
    return params


def _expiry_note(item: Declared) -> str | None:
    from herokustack.tls import WARN_DAYS, expiry_severity

    if expiry_severity(item.info.expires_at) is None:
        return None
    return f"expires {item.info.expiry_text()}: within {WARN_DAYS} days (check HS021)"


def _plan_create(ctx: PlanContext, item: Declared) -> None:
    params = {**_sources(ctx, item), "bind": list(item.spec.domains)}
    if item.key is None:
        note = f"{source_text(item.spec.key)} is not set: the key is needed to upload it"
        ctx.add("refused", "certificate", item.label, after=item.shown(), note=note)
        return
    ctx.add("create", "certificate", item.label, after=item.shown(), note=_expiry_note(item),
            params=params)  # fmt: skip


def _plan_update(ctx: PlanContext, item: Declared, live: LiveCert) -> None:
    rotate = live.fingerprints != item.info.fingerprints
    want = list(item.spec.domains)
    bind = [h for h in want if h not in live.domains]
    unbind = [h for h in live.domains if h not in want]
    if not (rotate or bind or unbind):
        return
    label = item.label if item.label == live.name else f"{item.label} ({live.name})"
    params = {"id": live.id, "rotate": rotate, "bind": bind, "unbind": unbind}
    before, after = live.shown(), item.shown()
    if rotate:
        params.update(_sources(ctx, item))
        if item.key is None:
            why = f"{source_text(item.spec.key)} is not set: the key is needed to rotate it"
            ctx.add("refused", "certificate", label, before=before, after=after, note=why,
                    params={"rotate": True})  # fmt: skip
            return
    note = "rotated in place: its domains stay served" if rotate else None
    ctx.add("update", "certificate", label, before=before, after=after,
            note=_expiry_note(item) or note, params=params)  # fmt: skip


def _live_label(live: LiveCert) -> str:
    return live.name


def _cert_text(shown: Mapping[str, Any] | None) -> str:
    if not shown:
        return ""
    return f"{shown['subject']}, expires {shown['expires']}"


def _domains_text(shown: Mapping[str, Any]) -> str:
    names = ", ".join(shown.get("names") or [])
    domains = ", ".join(shown.get("domains") or []) or "no domain"
    return f"; valid for {names}; serves {domains}"


def _full_text(shown: Mapping[str, Any] | None) -> str:
    return f"{_cert_text(shown)}{_domains_text(shown)}" if shown else ""


KIND = Certificates()

__all__ = ["CONFIG_VAR_PATTERN", "KIND", "CertificateSpec", "FromFile", "LiveCert"]
