"""Live state of Heroku apps ("facts"): what the client reads, what plan, drift and import use.

The types only, no HTTP: the kinds of `herokustack.resources` read them through the client
(`read_cost` of each kind says how many requests that takes), and everything else (planner,
drift, cost, saved plans) takes them as data.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

POSTGRES = "heroku-postgresql"


# --- live state ------------------------------------------------------------------------------


class Live(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class LiveAppInfo(Live):
    name: str
    id: str
    region: str
    stack: str
    build_stack: str
    maintenance: bool
    owner: str = ""  # the owner's email; a team app's is `<team>@herokumanager.com`
    team: str | None = None  # the Heroku Team that owns the app, None for a personal app


class LiveProcess(Live):
    type: str
    quantity: int
    size: str  # lower case, like stack files ("standard-1x")


class LiveAddon(Live):
    id: str
    name: str
    service: str
    plan: str  # "service:plan"
    state: str
    owner: str  # the app that owns (bills) it; others only have it attached
    attachments: tuple[str, ...] = ()  # attachment names on the app that was read
    config_vars: tuple[str, ...] = ()


class LiveSchedule(Live):
    uuid: str
    name: str  # "DATABASE_URL"
    hour: int
    timezone: str


class LiveState(Live):
    """Everything plan needs to know about one app; `app` is None when it does not exist."""

    name: str
    app: LiveAppInfo | None = None
    formation: dict[str, LiveProcess] = Field(default_factory=dict)
    # Live config values may be secrets: kept out of repr, never rendered or serialised.
    config: dict[str, str] = Field(default_factory=dict, repr=False, exclude=True)
    addons: tuple[LiveAddon, ...] = ()
    schedules: dict[str, tuple[LiveSchedule, ...]] = Field(default_factory=dict)
    # Facts of the kinds that have no field above (see `herokustack.resources`), by kind name.
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.app is not None

    def with_facts(self, facts: dict[str, Any]) -> LiveState:
        """This state with what kinds read: a field's value, or (another kind's) into `extra`."""
        fields = {k: v for k, v in facts.items() if k in _FIELDS}
        extra = {**self.extra, **{k: v for k, v in facts.items() if k not in _FIELDS}}
        return self.model_copy(update={**fields, "extra": extra})

    def addon_by_attachment(self, attachment: str) -> LiveAddon | None:
        return next((a for a in self.addons if attachment in a.attachments), None)


_FIELDS = frozenset(LiveState.model_fields) - {"name", "extra"}
