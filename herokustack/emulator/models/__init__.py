"""The emulator's state (SQLite) and every business rule of the emulated Heroku API.

Moto-style: one module per resource family, each a mixin of `db.Store` (the one SQLite
connection, its lock and `tx()`) that owns its tables' `CREATE` statements, its rules and
its routes (a `FAMILY`); `Backend` combines them. The HTTP layer (`responses.py`) parses
requests and calls one `Backend` method per route; methods validate their input, change state
inside one transaction and return the JSON object Heroku would answer. Rule violations raise
`ApiError`, which carries Heroku's error id.

| module | family | tables |
|---|---|---|
| `account.py` | the one account, `/users/{account}` | |
| `stacks.py` | stack and region catalogs | |
| `teams.py` | teams, members and roles, team permissions | teams, team_members, team_apps |
| `apps.py` | apps, team apps (`/teams/apps`), transfers between the account and teams | apps |
| `releases.py` | slugs, releases, dynos | slugs, releases, release_config, dyno_restarts |
| `formation.py` | process types, sizes, quantities | formation |
| `config_vars.py` | config vars | config_vars |
| `addons.py` | service and plan catalog, add-ons, attachments | addons, attachments |
| `postgres.py` | Postgres data API: info, backups, transfers, settings | transfer_schedules |
| `maintenances.py` | maintenance windows of data add-ons (`/data/maintenances`) | data_windows |
| `redis.py` | Redis data API: info, settings (Postgres settings share its table) | data_config |
| `buildpacks.py` | buildpack installations, the buildpack registry's lookup | buildpacks |
| `features.py` | app features (preboot, ...), account features (labs) | app_features, ... |
| `log_drains.py` | log drains of apps, and those logging add-ons add | log_drains |
| `domains.py` | custom domains and the Heroku domain, ACM (`/apps/{app}/acm`) | domains, app_acm |
| `sni_endpoints.py` | custom certificates (SNI endpoints) | sni_endpoints, sni_domains |
| `webhooks.py` | app webhooks; their (empty) event and delivery logs | app_webhooks |
| `collaborators.py` | who may work on an app: collaborators, team-app permissions | collaborators |
| `pipelines.py` | pipelines, couplings, stage config, review-app config, repo | pipelines, ... |

More families (tables and routes of one emulator instance) come in through
`Backend(families=[...])`: see `herokustack.emulator.Family`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from herokustack.emulator.family import Family
from herokustack.emulator.models import (
    account,
    addons,
    apps,
    buildpacks,
    collaborators,
    config_vars,
    domains,
    features,
    formation,
    log_drains,
    maintenances,
    pipelines,
    postgres,
    redis,
    releases,
    sni_endpoints,
    stacks,
    teams,
    webhooks,
)
from herokustack.emulator.models.account import ACCOUNT_EMAIL, ACCOUNT_ID
from herokustack.emulator.models.apps import AppsState
from herokustack.emulator.models.buildpacks import BuildpacksState
from herokustack.emulator.models.collaborators import CollaboratorsState
from herokustack.emulator.models.config_vars import ConfigVarsState
from herokustack.emulator.models.db import (
    ApiError,
    Json,
    Store,
    check_fields,
    identity_of,
    invalid,
    iso,
    not_found,
    ref,
    want_bool,
    want_int,
    want_str,
)
from herokustack.emulator.models.domains import DomainsState
from herokustack.emulator.models.features import FeaturesState
from herokustack.emulator.models.log_drains import LogDrainsState
from herokustack.emulator.models.pipelines import PipelinesState
from herokustack.emulator.models.postgres import PostgresState
from herokustack.emulator.models.redis import RedisState
from herokustack.emulator.models.sni_endpoints import SniEndpointsState
from herokustack.emulator.models.webhooks import WebhooksState

__all__ = [
    "ACCOUNT_EMAIL",
    "ACCOUNT_ID",
    "BUILTIN_FAMILIES",
    "ApiError",
    "Backend",
    "Family",
    "Json",
    "Store",
    "check_fields",
    "identity_of",
    "invalid",
    "iso",
    "not_found",
    "ref",
    "want_bool",
    "want_int",
    "want_str",
]

# The registry: one line per family. Its order is the order of the route table.
BUILTIN_FAMILIES: tuple[Family, ...] = (
    account.FAMILY,
    stacks.FAMILY,
    teams.FAMILY,
    apps.FAMILY,
    formation.FAMILY,
    releases.FAMILY,
    config_vars.FAMILY,
    addons.FAMILY,
    postgres.FAMILY,
    maintenances.FAMILY,
    redis.FAMILY,
    buildpacks.FAMILY,
    features.FAMILY,
    log_drains.FAMILY,
    domains.FAMILY,
    sni_endpoints.FAMILY,
    webhooks.FAMILY,
    collaborators.FAMILY,
    pipelines.FAMILY,
)


class Backend(
    PipelinesState,  # builds on AppsState (the CLI's app filter answers team apps)
    CollaboratorsState,  # before AppsState: both build on TeamsState
    AppsState,
    ConfigVarsState,
    PostgresState,
    RedisState,
    BuildpacksState,
    FeaturesState,
    LogDrainsState,
    SniEndpointsState,  # before DomainsState: it answers the domains' sni_endpoint
    DomainsState,
    WebhooksState,
):
    """All state of one emulator: every built-in family, plus `families` for this one only."""

    def __init__(
        self,
        data_path: str | None = None,
        provision_delay: float = 0.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        families: Sequence[Family] = (),
    ) -> None:
        super().__init__(data_path, provision_delay, seed, clock, (*BUILTIN_FAMILIES, *families))
