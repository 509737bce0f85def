"""Which links of Heroku's Platform API schema the emulator serves: `docs/emulator-coverage.md`.

    python -m herokustack.emulator.coverage > docs/emulator-coverage.md    # or: make coverage-doc

The table lists every link of Heroku's hyper-schema in the resource families of `FAMILIES`
(those herokustack manages, and those the official CLI's everyday commands touch). A link is
*served* when the emulator's own route table has a route with its method and path shape, so
a route a built-in family adds (the `routes` of a `models/` module) shows up here at the
next regeneration; there is no hand-kept list. Every served route is exercised by
`SCHEMA_TEST`, which fails when a route of the table is never called, and every not-served
link is probed by
`tests/emulator/test_coverage.py`, which also fails when this file is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.routing import Route

from herokustack.emulator.models import Backend
from herokustack.emulator.responses import Settings, build_app

# ../shared/heroku-platform-api/schema.json, beside the repository (where CI has it too).
DEFAULT_SCHEMA = Path(__file__).resolve().parents[3] / "shared/heroku-platform-api/schema.json"
SCHEMA_TEST = "tests/emulator/test_schema.py::test_every_route_answers_heroku_shaped_json"
CLI_TEST = "tests/emulator/test_cli_conformance.py"
SERVED_BY = "[schema test](../tests/emulator/test_schema.py)"
NOT_SERVED_BY = "[404 probe](../tests/emulator/test_coverage.py)"

# Schema definition -> why it is in the table: what herokustack or the official CLI uses it for.
FAMILIES: dict[str, str] = {
    "account": "`heroku auth:whoami`, `heroku apps` (`/users/~`)",
    "rate-limit": "herokustack's client (heroku3 `authenticate`)",
    "account-feature": "`heroku labs`, `reviewapps:enable` (`dashboard-repositories-api`)",
    "app": "stack files (`[app]`); `heroku apps`, `apps:create`, `apps:info`, `apps:rename`, "
    "`apps:destroy`, `maintenance`, `stack:set`",
    "app-feature": "stack files (`[features]`); `heroku features`, `features:enable`, "
    "`features:disable`, `features:info`, `labs -a`",
    "collaborator": "stack files (`[access]`); `heroku access`, `access:add`, `access:remove`, "
    "`apps:info`",
    "team-app-collaborator": "stack files (`[access]` of team apps); `heroku access:add`, "
    "`access:update`",
    "config-var": "stack files (`[config]`); `heroku config`, `config:set`, `releases:info`",
    "formation": "stack files (`[formation]`); `heroku ps:scale`, `ps:type`",
    "dyno": "`heroku ps`, `ps:restart`, `ps:stop`, `run`, `apps:info`",
    "dyno-size": "formation sizes (stack files `size`); the CLI's completion of sizes",
    "release": "`heroku releases`, `releases:info`, `rollback`; every config change",
    "slug": "deploying code to the emulator (README: Deploying code)",
    "build": "`heroku builds`, `git push heroku`",
    "buildpack-installation": "`heroku buildpacks`",
    "stack": "stack files (`stack`); `heroku stack`, `stack:set`",
    "region": "stack files (`region`); `heroku regions`, `apps:create --region`",
    "add-on": "stack files (`[addons]`); `heroku addons`, `addons:create`, `addons:upgrade`, "
    "`addons:destroy`, `addons:rename`, `pg:*`",
    "add-on-attachment": "shared add-ons; `heroku addons:attach`, `addons:detach`, `pg:*`",
    "add-on-service": "the add-on catalog; `heroku addons:services`",
    "plan": "add-on prices (herokustack `cost`); `heroku addons:plans`",
    "log-drain": "herokustack `[[drains]]`, `check --live`; `heroku drains`, `drains:add`",
    "log-session": "`heroku logs`",
    "domain": "`heroku domains`",
    "sni-endpoint": "stack files (`[[certificates]]`); `heroku certs`, `certs:add`, "
    "`certs:info`, `certs:remove`, `certs:update`",
    "pipeline": "`heroku pipelines`",
    "pipeline-coupling": "`heroku apps:info`, `pipelines:add`, `pipelines:promote`",
    "app-webhook": "stack files (`[[webhooks]]`); `heroku webhooks`, `webhooks:add`, "
    "`webhooks:update`, `webhooks:remove`, `webhooks:info`",
    "app-webhook-event": "`heroku webhooks:events`",
    "app-webhook-delivery": "`heroku webhooks:deliveries`",
}

PLACEHOLDER = re.compile(r"\{\(([^)]*)\)\}")
SEGMENT_PARAM = re.compile(r"^\{[^}]+\}$")


@dataclass(frozen=True)
class Link:
    family: str
    title: str
    method: str
    href: str  # as in the schema, placeholders URL-encoded

    @property
    def path(self) -> str:
        """The href with readable placeholders: `/apps/{app}/addons/{add-on}`."""
        return PLACEHOLDER.sub(lambda m: "{" + _placeholder_name(m.group(1)) + "}", self.href)


@dataclass(frozen=True)
class Row:
    link: Link
    route: str | None  # the emulator route serving it, if any


def _placeholder_name(encoded: str) -> str:
    # "%23%2Fdefinitions%2Fapp%2Fdefinitions%2Fidentity" -> "app"; another field is kept.
    parts = encoded.replace("%23", "#").replace("%2F", "/").split("/")
    definition, field = parts[2], parts[-1]
    return definition if field == "identity" else f"{definition}.{field}"


def load_links(schema: dict[str, Any], families: Iterable[str] = FAMILIES) -> list[Link]:
    definitions = schema["definitions"]
    missing = [f for f in families if f not in definitions]
    if missing:
        raise ValueError(f"not a definition of the schema: {', '.join(missing)}")
    return [
        Link(family, str(link.get("title", "")), link["method"], link["href"])
        for family in families
        for link in definitions[family].get("links", [])
    ]


def emulator_routes() -> list[tuple[str, str]]:
    """(method, path template) of every route the emulator serves, from its own route table."""
    backend = Backend(None)
    try:
        asgi, _ = build_app(backend, Settings())
        return sorted(
            (method, route.path)
            for route in asgi.routes
            if isinstance(route, Route)
            for method in (route.methods or set()) - {"HEAD"}
        )
    finally:
        backend.close()


def _segments(path: str) -> list[str | None]:
    """Path segments, None for a placeholder (either spelling)."""
    return [
        None if SEGMENT_PARAM.match(s) or PLACEHOLDER.fullmatch(s) else s
        for s in path.strip("/").split("/")
    ]


def serves(route: tuple[str, str], link: Link) -> bool:
    """Same method and path shape; a literal segment of either side (`~`) fits a placeholder."""
    method, template = route
    ours, theirs = _segments(template), _segments(link.href)
    return (
        method == link.method
        and len(ours) == len(theirs)
        and all(a is None or b is None or a == b for a, b in zip(ours, theirs, strict=True))
    )


def coverage(links: Sequence[Link], routes: Sequence[tuple[str, str]]) -> list[Row]:
    return [
        Row(link, next((f"{m} {t}" for m, t in routes if serves((m, t), link)), None))
        for link in links
    ]


def outside(links: Sequence[Link], routes: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Served routes that serve no link of the table (the Postgres data API, for one)."""
    return [r for r in routes if not any(serves(r, link) for link in links)]


def render(rows: Sequence[Row], extra: Sequence[tuple[str, str]]) -> str:
    served = sum(1 for r in rows if r.route)
    families = list(dict.fromkeys(r.link.family for r in rows))
    lines = [
        "# Emulator coverage of the Heroku Platform API",
        "",
        "<!-- Generated by `python -m herokustack.emulator.coverage` (`make coverage-doc`);"
        " do not edit. -->",
        "",
        "Every link of Heroku's Platform API schema (`../shared/heroku-platform-api/schema.json`)"
        " in the resource families herokustack manages or the official CLI's everyday commands"
        f" touch: **{served} of {len(rows)} served**.",
        "",
        f"- *served*: the emulator has the route. `{SCHEMA_TEST}` calls every route of the"
        " emulator and validates each answer against the link's `targetSchema` (and each"
        " request body against its `schema`); it fails when a route is never called."
        f" `{CLI_TEST}` runs the official CLI's commands on top.",
        '- *not served*: the emulator answers `404 not_found` ("The requested API endpoint was'
        ' not found. ...") as api.heroku.com does for an endpoint it does not have;'
        " `tests/emulator/test_coverage.py` sends each of these requests and checks it.",
        "",
        "| family | served | why it is in this table |",
        "|---|---|---|",
    ]
    for family in families:
        mine = [r for r in rows if r.link.family == family]
        count = sum(1 for r in mine if r.route)
        lines.append(f"| [{family}](#{family}) | {count} of {len(mine)} | {FAMILIES[family]} |")
    for family in families:
        lines += ["", f"## {family}", "", "| link | method | path | status | tested by |"]
        lines.append("|---|---|---|---|---|")
        for r in (r for r in rows if r.link.family == family):
            status, test = ("served", SERVED_BY) if r.route else ("not served", NOT_SERVED_BY)
            lines.append(
                f"| {r.link.title} | {r.link.method} | `{r.link.path}` | {status} | {test} |"
            )
    lines += [
        "",
        "## Served routes outside these families",
        "",
        "The Postgres data API (`/client/v11/...`, no published schema; checked against the"
        " fields the official CLI reads), the buildpack registry's lookup (`/buildpacks/...`,"
        " what `heroku buildpacks:add` asks first), the pipeline's connected GitHub repository"
        " (`/pipelines/{pipeline}/repo`: Heroku's repositories API, what `heroku"
        " reviewapps:enable` reads; its PUT is emulator-only, for tests) and any route no link"
        " above describes.",
        "",
        "| method | path |",
        "|---|---|",
        *(f"| {method} | `{path}` |" for method, path in extra),
    ]
    return "\n".join(lines) + "\n"


def document(schema_path: Path = DEFAULT_SCHEMA) -> str:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    links, routes = load_links(schema), emulator_routes()
    return render(coverage(links, routes), outside(links, routes))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m herokustack.emulator.coverage")
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="Heroku's schema.json")
    args = parser.parse_args(argv)
    try:
        text = document(args.schema)
    except (OSError, ValueError, KeyError) as exc:
        print(f"{args.schema}: cannot build the coverage table: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
