"""The stack-file model: one TOML file declares one Heroku app.

This module holds the pydantic models (the shape of a stack file) and the loader
(TOML -> merged `extends` chain -> validated model, with every problem reported as
`file: key.path: message`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Environment = Literal["production", "staging", "review", "development"]
Region = Literal["us", "eu"]

# Postgres and Redis hold data: their add-ons are protected from destruction by default.
DATA_SERVICES = frozenset({"heroku-postgresql", "heroku-redis"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class FromEnv(Strict):
    """A config value read from the environment when planning: a secret, never printed or stored."""

    from_env: str
    optional: bool = False


ConfigValue = str | FromEnv


class Backups(Strict):
    """A daily scheduled Postgres backup at `at` ("HH:00", hour 0-23) in `timezone` (IANA)."""

    at: str
    timezone: str = "UTC"

    @property
    def hour(self) -> int:
        return int(self.at.split(":", 1)[0])


class AddonSpec(Strict):
    plan: str  # "service:plan"
    as_: str | None = Field(default=None, alias="as")  # attachment name, e.g. DATABASE
    backups: Backups | None = None
    protect: bool | None = None  # None: protected when the service holds data
    config: dict[str, str] = Field(default_factory=dict)

    @property
    def service(self) -> str:
        return self.plan.split(":", 1)[0]

    @property
    def is_data(self) -> bool:
        return self.service in DATA_SERVICES

    @property
    def protected(self) -> bool:
        return self.is_data if self.protect is None else self.protect


class ProcessSpec(Strict):
    quantity: int
    size: str = "standard-1x"


class AppSpec(Strict):
    name: str
    environment: Environment
    region: Region = "us"
    stack: str = "heroku-24"
    maintenance: bool = False
    prune_config: bool = False


class Suppression(Strict):
    id: str
    reason: str


class ChecksSpec(Strict):
    ignore: list[Suppression] = Field(default_factory=list)


class StackFile(Strict):
    """A whole stack file after `extends` has been merged."""

    app: AppSpec
    formation: dict[str, ProcessSpec] = Field(default_factory=dict)
    addons: dict[str, AddonSpec] = Field(default_factory=dict)
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    checks: ChecksSpec = Field(default_factory=ChecksSpec)


class Stack(BaseModel):
    """A loaded stack file: where it came from, and what it declares."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    spec: StackFile
