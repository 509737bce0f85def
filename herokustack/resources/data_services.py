"""Plan changes of Postgres and Redis add-ons that Heroku can, or cannot, make in place.

Heroku's Dev Center, "Changing the Plan or Infrastructure of a Heroku Postgres Database":
`heroku addons:upgrade` works for all Postgres plans, and within the Essential tier; it "requires
up to several hours to prepare a replacement" and "less than 1 minute of downtime during the
changeover". To change an Essential-tier database to a plan of another tier (or back), use
`pg:copy` into a new database instead. Heroku Key-Value Store (Redis): mini plans have no
maintenance window and no follower to fail over to; a production (premium) instance is changed
by preparing a follower on the new plan, then failing over to it. herokustack plans what
`addons:upgrade` can do in place (with what it costs, as a note) and refuses the rest, giving the
steps to do it by hand. Nothing here reads Heroku: the rules only compare plan names.
"""

from __future__ import annotations

from dataclasses import dataclass

POSTGRES = "heroku-postgresql"
REDIS = "heroku-redis"

IN_PLACE_NOTE = "Heroku prepares a replacement (hours), then < 1 min of downtime"
REDIS_NOTE = "Heroku prepares a follower on the new plan, then fails over to it"
REDIS_MINI_NOTE = "Heroku changes a mini instance at once (no window, no follower): a brief outage"


@dataclass(frozen=True)
class PlanChange:
    """What Heroku does with one plan change: in place (with a note), or refused (with steps)."""

    in_place: bool
    note: str


def essential(plan: str) -> bool:
    """An Essential-tier Postgres plan (`essential-*`; the retired `mini`, `basic`, `hobby-*`)."""
    short = plan.split(":", 1)[-1]
    return short.startswith(("essential", "mini", "basic", "hobby"))


def redis_mini(plan: str) -> bool:
    return plan.split(":", 1)[-1] == "mini"


def plan_change(before: str, after: str, attachment: str) -> PlanChange | None:
    """What a change of a data add-on's plan means, None for another service."""
    service = before.split(":", 1)[0]
    if service == POSTGRES:
        if essential(before) != essential(after):
            return PlanChange(False, _pg_copy_steps(before, after, attachment))
        return PlanChange(True, IN_PLACE_NOTE)
    if service == REDIS:
        if redis_mini(before) or redis_mini(after):
            return PlanChange(True, REDIS_MINI_NOTE)
        return PlanChange(True, REDIS_NOTE)
    return None


def _pg_copy_steps(before: str, after: str, attachment: str) -> str:
    """The refusal note: why, then the Dev Center's pg:copy steps with this add-on's names."""
    tiers = "from the Essential tier" if essential(before) else "into the Essential tier"
    new = f"{attachment}_NEW"
    return (
        f"Heroku cannot change a database {tiers} in place (addons:upgrade refuses it); by hand: "
        f"heroku addons:create {after} --as {new}; heroku maintenance:on; "
        f"heroku pg:copy {attachment}_URL {new}_URL; heroku pg:promote {new}; "
        f"heroku maintenance:off; then destroy the old database and apply again"
    )
