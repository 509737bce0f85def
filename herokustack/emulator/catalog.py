"""Fixed data the emulator serves: stacks, regions, dyno sizes and the add-on catalog.

Prices are in cents per month, as the Platform API reports them. Ids are stable (uuid5 of
the name) so that a restarted emulator answers with the same ids.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field

_NS = uuid.UUID("6f1c8a52-8a51-4f7c-9d1e-2b4c6a1d0e11")
CATALOG_TIME = "2024-01-01T00:00:00Z"


@functools.lru_cache(maxsize=4096)  # lists name catalog rows by the thousand
def stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NS, f"{kind}:{name}"))


@dataclass(frozen=True)
class Stack:
    name: str
    state: str  # "public" or "retired"
    default: bool = False

    @property
    def id(self) -> str:
        return stable_id("stack", self.name)


STACKS = (
    Stack("heroku-20", "retired"),
    Stack("heroku-22", "public"),
    Stack("heroku-24", "public", default=True),
)
DEFAULT_STACK = "heroku-24"


@dataclass(frozen=True)
class Region:
    name: str
    description: str
    country: str
    locale: str

    @property
    def id(self) -> str:
        return stable_id("region", self.name)


REGIONS = (
    Region("us", "United States", "United States", "Virginia"),
    Region("eu", "Europe", "Ireland", "Dublin"),
)


@dataclass(frozen=True)
class DynoSize:
    name: str  # the capitalisation Heroku reports in formation `size` ("Standard-1X")
    cents: int
    max_quantity: int

    @property
    def id(self) -> str:
        return stable_id("dyno-size", self.name.lower())


DYNO_SIZES = (
    DynoSize("Eco", 0, 1),
    DynoSize("Basic", 700, 1),
    DynoSize("Standard-1X", 2500, 100),
    DynoSize("Standard-2X", 5000, 100),
    DynoSize("Performance-M", 25000, 100),
    DynoSize("Performance-L", 50000, 100),
    DynoSize("Performance-L-RAM", 50000, 100),
    DynoSize("Performance-XL", 75000, 100),
    DynoSize("Performance-2XL", 150000, 100),
)
DEFAULT_DYNO_SIZE = "Basic"


def find_dyno_size(name_or_id: str) -> DynoSize | None:
    """Matched case-insensitively: the CLI sends "standard-2x", Heroku answers "Standard-2X"."""
    key = name_or_id.lower()
    return next((s for s in DYNO_SIZES if key in (s.name.lower(), s.id)), None)


@dataclass(frozen=True)
class Plan:
    service: str
    short: str  # "essential-0"
    human_name: str
    cents: int
    default: bool = False
    connections: int = 0  # Postgres: the plan's connection limit (`pg:info`)
    storage: str = ""  # Postgres: the plan's disk size, as `pg:info` shows it ("64 GB")

    @property
    def name(self) -> str:
        return f"{self.service}:{self.short}"

    @property
    def id(self) -> str:
        return stable_id("plan", self.name)


@dataclass(frozen=True)
class Service:
    name: str
    human_name: str
    attachment_name: str  # default attachment name: the prefix of its config vars
    config_suffixes: tuple[str, ...]  # config vars set on the app: f"{attachment}_{suffix}"
    slow_to_provision: bool  # stays "provisioning" for --provision-delay seconds
    plans: tuple[Plan, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return stable_id("addon-service", self.name)

    @property
    def default_plan(self) -> Plan:
        return next((p for p in self.plans if p.default), self.plans[0])


def _plans(service: str, rows: list[tuple[str, str, int]]) -> tuple[Plan, ...]:
    return tuple(
        Plan(service, short, human, cents, default=(i == 0))
        for i, (short, human, cents) in enumerate(rows)
    )


def _postgres_plans(rows: list[tuple[str, int, int, str]]) -> tuple[Plan, ...]:
    """(plan, cents, connection limit, disk size) rows; the first is the default plan."""
    return tuple(
        Plan(
            "heroku-postgresql",
            short,
            short.replace("-", " ").title(),
            cents,
            default=(i == 0),
            connections=connections,
            storage=storage,
        )
        for i, (short, cents, connections, storage) in enumerate(rows)
    )


# Heroku's own data plans, as Heroku sells them: the emulator's catalog and the built-in price
# table of `herokustack.cost` (which reads these two services from here) both come from them.
# Where to update:
# - prices: the monthly maximum, in US cents, of https://www.heroku.com/pricing (sections
#   Heroku Postgres and Heroku Key-Value Store), written down 2026-12-02 (PRICES_DATE in
#   cost.py). No stored copy of that page was at hand to check them against: re-check there.
# - plan names, connection limits and disk sizes of standard/premium Postgres: Dev Center,
#   "Heroku Postgres Production Tier Technical Characterization" (updated 2024-09-06);
#   Redis plan names: "Heroku Key-Value Store Technical Characterization" (2024-10-11);
#   Essential limits (1/10/32 GB, 20/20/40 connections): "Postgres Essential Tier".
# Not listed, so that `plan` names them as unpriced rather than guessing a price: standard-10,
# premium-10 and premium-l-*/xl-* (no price known here), and private-*/shield-*, which install
# only inside Private Spaces (not emulated). The live catalog (`cost --live`) is believed first.
POSTGRES_PLANS = _postgres_plans(
    [
        ("essential-0", 500, 20, "1 GB"),
        ("essential-1", 900, 20, "10 GB"),
        ("essential-2", 2000, 40, "32 GB"),
        ("standard-0", 5000, 120, "64 GB"),
        ("standard-2", 20000, 400, "256 GB"),
        ("standard-3", 40000, 500, "512 GB"),
        ("standard-4", 75000, 500, "768 GB"),
        ("standard-5", 140000, 500, "1 TB"),
        ("standard-6", 200000, 500, "1.5 TB"),
        ("standard-7", 350000, 500, "2 TB"),
        ("standard-8", 450000, 500, "3 TB"),
        ("standard-9", 580000, 500, "4 TB"),
        ("premium-0", 20000, 120, "64 GB"),
        ("premium-2", 35000, 400, "256 GB"),
        ("premium-3", 75000, 500, "512 GB"),
        ("premium-4", 120000, 500, "768 GB"),
        ("premium-5", 250000, 500, "1 TB"),
        ("premium-6", 350000, 500, "1.5 TB"),
        ("premium-7", 600000, 500, "2 TB"),
        ("premium-8", 850000, 500, "3 TB"),
        ("premium-9", 1100000, 500, "4 TB"),
    ]
)
REDIS_PLANS = _plans(
    "heroku-redis",
    [
        ("mini", "Mini", 300),
        ("premium-0", "Premium 0", 1500),
        ("premium-1", "Premium 1", 3000),
        ("premium-2", "Premium 2", 6000),
        ("premium-3", "Premium 3", 12000),
        ("premium-4", "Premium 4", 20000),
        ("premium-5", "Premium 5", 35000),
        ("premium-7", "Premium 7", 75000),
        ("premium-9", "Premium 9", 145000),
        ("premium-10", "Premium 10", 350000),
        ("premium-12", "Premium 12", 650000),
        ("premium-14", "Premium 14", 1200000),
    ],
)


SERVICES = (
    Service(
        "heroku-postgresql",
        "Heroku Postgres",
        "DATABASE",
        ("URL",),
        True,
        POSTGRES_PLANS,
    ),
    Service(
        "heroku-redis",
        "Heroku Key-Value Store",
        "REDIS",
        ("URL",),
        True,
        REDIS_PLANS,
    ),
    Service(
        "papertrail",
        "Papertrail",
        "PAPERTRAIL",
        ("API_TOKEN",),
        False,
        _plans(
            "papertrail",
            [("choklad", "Choklad", 0), ("fixa", "Fixa", 700), ("volmar", "Volmar", 1800)],
        ),
    ),
    Service(
        "sentry",
        "Sentry",
        "SENTRY",
        ("DSN",),
        False,
        _plans("sentry", [("f1", "F1", 0), ("team", "Team", 2600)]),
    ),
    Service(
        "scout",
        "Scout APM",
        "SCOUT",
        ("KEY", "MONITOR"),
        False,
        _plans("scout", [("chair", "Chair", 0), ("bronze", "Bronze", 3900)]),
    ),
)


def find_service(name_or_id: str) -> Service | None:
    return next((s for s in SERVICES if name_or_id in (s.name, s.id)), None)


def find_plan(name_or_id: str) -> Plan | None:
    """A plan by id, by "service:plan", or by bare "service" (its default plan)."""
    for service in SERVICES:
        if name_or_id in (service.name, service.id):
            return service.default_plan
        for plan in service.plans:
            if name_or_id in (plan.name, plan.id):
                return plan
    return None


def service_of(plan: Plan) -> Service:
    service = find_service(plan.service)
    assert service is not None
    return service
