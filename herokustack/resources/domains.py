"""Custom domains of an app: the top-level `domains` array of a stack file.

    domains = ["www.example.com", "example.com", "*.example.com"]

An array of host names, not a table: herokustack manages no option of a domain (its SNI
endpoint stays null: certificates come from ACM, `acm = true` in `[app]`, see resources/acm.py),
and an array reads as what it is, the app's list of names. TOML puts a top-level key before the
first table, so the array goes above `[app]`. Each entry is a lower-case DNS name, a wildcard
`*.example.com` allowed (as Heroku allows it), no entry twice, none under herokuapp.com.

Declared (even `domains = []`), the list is exact: plan reads the app's domains (one
`GET /apps/{app}/domains`, only for apps that declare `domains`); each missing one is a create
(`POST /apps/{app}/domains` with `sni_endpoint: null`), each live custom domain not declared an
ordinary destroy (a domain holds no data). Apply removes first, then adds, after formation, and
prints the DNS target Heroku gives each new domain ("set www.example.com CNAME
x.herokudns.com at your DNS provider"); plan shows the live target of a domain it removes. Not
declared at all, domains are not read and not touched; the app's own `*.herokuapp.com` domain
(kind `heroku`) is never touched nor listed. A host name another app has is Heroku's 422 at
apply (named in the error); two stack files declaring one host name is a plan error naming both
(`unique_values`). A domain moved from one app to another in one apply may fail the first time
(apps are applied in parallel): apply again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

from herokustack.resources.base import (
    Change,
    DriftContext,
    ImportProblem,
    Kind,
    Loc,
    PlanContext,
    Step,
    invalid,
)

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP = r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"  # never all digits: an IP address is no domain
HOSTNAME_PATTERN = rf"^(?:\*\.)?(?:{_LABEL}\.)+{_TOP}$"
HOSTNAME = re.compile(HOSTNAME_PATTERN)
MAX_CHARS = 253  # DNS
HEROKU_ZONE = "herokuapp.com"
EXPECTED = "a lower-case host name like www.example.com (or a wildcard like *.example.com)"
# Second-level public suffixes under which `name.co.uk` is an apex (a zone's own name): such a
# name needs an ALIAS or ANAME record, a CNAME is for names below it. The common ones only.
SECOND_LEVEL = frozenset(
    {"co.uk", "org.uk", "ac.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp", "com.br",
     "co.za", "com.mx", "co.in", "com.cn", "com.tr", "co.kr", "com.sg", "com.ar", "co.il"}
)  # fmt: skip


def hostname_problem(value: str) -> str | None:
    """Why `value` is not a host name Heroku takes as a custom domain (None: it is one)."""
    if len(value) > MAX_CHARS:
        return f"must be at most {MAX_CHARS} characters, got {len(value)}"
    if "://" in value or "/" in value:
        return "must be a host name, not a URL (like www.example.com)"
    if value != value.lower():
        return f"must be lower-case ({value.lower()})"
    if value.endswith("."):
        return "must not end with a dot"
    if "*" in value.removeprefix("*."):
        return "may only start with `*.` (a wildcard domain like *.example.com)"
    if value == HEROKU_ZONE or value.endswith(f".{HEROKU_ZONE}"):
        return f"is under {HEROKU_ZONE}: the app's Heroku domain is Heroku's, not declared"
    if not HOSTNAME.match(value):
        return f"must be {EXPECTED}"
    return None


def _check(value: str) -> str:
    problem = hostname_problem(value)
    if problem:
        raise invalid(problem)
    return value


Hostname = Annotated[
    str,
    AfterValidator(_check),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": HOSTNAME_PATTERN,
            "maxLength": MAX_CHARS,
            "description": "A custom domain: www.example.com, example.com or *.example.com.",
        }
    ),
]


def record_type(hostname: str) -> str:
    """The DNS record that points `hostname` at its target: CNAME, or ALIAS/ANAME at an apex."""
    if hostname.startswith("*."):
        return "CNAME"
    labels = hostname.split(".")
    apex = len(labels) == 2 or (len(labels) == 3 and ".".join(labels[1:]) in SECOND_LEVEL)
    return "ALIAS or ANAME" if apex else "CNAME"


def dns_target(hostname: str, cname: str | None) -> str:
    """`www.example.com → CNAME x.herokudns.com` (the target, when Heroku has given one)."""
    return f"{hostname} → {record_type(hostname)} {cname}" if cname else hostname


def _path(app: str, hostname: str | None = None) -> str:
    from herokustack.client import app_path, path_segment  # only when reading or writing

    base = f"{app_path(app)}/domains"
    return f"{base}/{path_segment(hostname, 'domain hostname')}" if hostname else base


def _remove(run: AppRun, changes: list[Change]) -> None:
    from herokustack.client import ApiError

    for index, change in enumerate(changes):  # one request per domain: no bulk removal
        try:
            run.client.request("DELETE", _path(run.app, change.name))
        except ApiError as exc:
            if not exc.missing("domain"):  # already gone: a retried DELETE that had succeeded
                run.untried += changes[index + 1 :]
                raise
        run.outcome.done.append(change)


def _add(run: AppRun, changes: list[Change]) -> None:
    from herokustack.applier import ApplyError
    from herokustack.client import ApiError

    for index, change in enumerate(changes):
        body = {"hostname": change.name, "sni_endpoint": None}
        try:
            answer = run.client.request("POST", _path(run.app), body)
        except ApiError as exc:
            run.untried += changes[index + 1 :]
            if exc.status == 422:
                raise ApplyError(_refused(change.name, run.app, exc.detail)) from None
            raise
        run.outcome.done.append(change)
        cname = _cname(_answer(answer).get("cname"))
        record = record_type(change.name)
        run.note(change, _target_note(change.name, cname), cname=cname, record=record)


def _answer(response: Any) -> dict[str, Any]:
    try:
        doc = response.json()
    except ValueError:  # not JSON: the domain was added, its target is told later
        return {}
    return doc if isinstance(doc, dict) else {}


def _cname(value: Any) -> str | None:
    """A DNS target from an answer, when it is a host name (anything else is never shown)."""
    ok = isinstance(value, str) and len(value) <= MAX_CHARS and HOSTNAME.match(value)
    return str(value) if ok and not str(value).startswith("*.") else None


def _refused(hostname: str, app: str, detail: str) -> str:
    if "in use by another app" in detail:
        return (
            f"cannot add domain {hostname} to app {app}: another Heroku app has it (Heroku: "
            f"{detail}); remove it there first (heroku domains:remove {hostname} -a OTHER-APP), "
            "then apply again"
        )
    return f"cannot add domain {hostname} to app {app}: Heroku refuses it: {detail or 'HTTP 422'}"


def _target_note(hostname: str, cname: str | None) -> str:
    if not cname:
        return f"{hostname}: Heroku gives its DNS target later (see heroku domains)"
    return f"set {hostname} {record_type(hostname)} {cname} at your DNS provider"


class Domains(Kind):
    name = "domains"
    resource = "domain"
    label = "domain"
    read_cost = "1 request: GET /apps/{app}/domains, only for apps that declare domains"
    section = "domains"
    section_model = list[Hostname]
    section_description = (
        "Custom domains, exactly: www.example.com, example.com, *.example.com (each once). "
        "Declared (even empty), others are removed; not declared: not managed."
    )
    expected = {"domains": "an array of host names", "domains.*": EXPECTED}
    named = frozenset({("domains",)})

    def declared(self, spec: StackFile) -> bool:
        return getattr(spec, self.section, None) is not None  # `domains = []` removes them all

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        names: list[str] = getattr(spec, self.section, None) or []
        return [
            ((self.section, i), f"{name} is already domains[{names.index(name)}]")
            for i, name in enumerate(names)
            if name in names[:i]
        ]

    def unique_values(self, spec: StackFile) -> list[tuple[Loc, str]]:
        names: list[str] = getattr(spec, self.section, None) or []
        return [((self.section, i), name) for i, name in enumerate(names)]

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        from herokustack.client import ApiError

        path = _path(app)
        found: dict[str, str | None] = {}
        for item in client.get_list(path):
            if item.get("kind") != "custom":
                continue  # the app's own herokuapp.com domain: never managed
            hostname = item.get("hostname")
            if not (isinstance(hostname, str) and hostname.isprintable() and hostname):
                raise ApiError(f"GET {path}: answer is not what Heroku answers (a hostname)")
            found[hostname] = _cname(item.get("cname"))
        return {self.name: found}

    def plan(self, ctx: PlanContext) -> None:
        want: list[str] = list(getattr(ctx.spec, self.section) or [])
        live: dict[str, str | None] = self.facts(ctx.live) or {}
        for hostname in want:
            if hostname not in live:
                after = {"hostname": hostname, "record": record_type(hostname)}
                note = "Heroku gives its DNS target at apply"
                ctx.add("create", self.resource, hostname, after=after, note=note)
        for hostname, cname in live.items():
            if hostname not in want:
                before = {"hostname": hostname, "record": record_type(hostname), "cname": cname}
                ctx.add("destroy", self.resource, hostname, before=before)

    def steps(self) -> list[Step]:
        # After formation (the app is up), before ACM (which then covers the new domains).
        return [
            Step(81, "remove domains", _remove, lambda c: c.action == "destroy"),
            Step(82, "add domains", _add, lambda c: c.action == "create"),
        ]

    def body(self, change: Change) -> str:
        if change.action == "destroy" and isinstance(change.before, dict):
            cname = change.before.get("cname")
            return f" → {change.before.get('record')} {cname}" if cname else ""
        return ""

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.action == "create":
            return {"kind": "missing"}
        return {"kind": "undeclared", "live": _live_text(change.before), "note": "apply removes it"}

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        if self.declared(ctx.stack.spec):
            return []  # declared: the planner already reports what differs
        live: dict[str, str | None] = self.facts(ctx.live) or {}
        return [
            {
                "kind": "undeclared",
                "name": hostname,
                "live": _live_text({"hostname": hostname, "cname": cname}),
                "note": "apply leaves it (domains not declared)",
            }
            for hostname, cname in live.items()
        ]

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        live = sorted(self.facts(builder.live) or {})
        for hostname in live:
            problem = hostname_problem(hostname)
            if problem:
                raise ImportProblem(
                    f"app {builder.live.name}: domain {hostname!r} cannot be declared: {problem}"
                )
        if live:
            doc[self.section] = live

    def write_section(self, doc: Any, values: Any, notes: Any) -> None:
        if values:
            doc[self.section] = list(values)

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        found = self.facts(live)
        return {f"domain.{h}": cname for h, cname in (found or {}).items()}


def _live_text(before: Any) -> str | None:
    if not isinstance(before, dict) or not before.get("cname"):
        return None
    hostname = str(before.get("hostname"))
    return f"{record_type(hostname)} {before['cname']}"


KIND = Domains()
