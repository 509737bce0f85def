"""The Redis data API (`/redis/v0/databases/...` on the data host): info and settings.

`redis:info` reads `GET /redis/v0/databases/{addon name}` (its `info` rows); `redis:maxmemory`,
`redis:timeout` and `redis:keyspace-notifications` `PATCH .../config` and print the setting's
`value` (and for the policy its description in `values`). Add-ons are found by id or name; one
still provisioning answers 404. This family also owns the settings table that Postgres shares
(`data_config`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from herokustack.emulator import catalog
from herokustack.emulator.family import Endpoint, Family
from herokustack.emulator.models import data_config
from herokustack.emulator.models.data_config import Spec
from herokustack.emulator.models.db import Json, invalid
from herokustack.emulator.models.maintenances import MaintenancesState, has_window

POLICIES = {
    "noeviction": "returns errors when memory limit is reached",
    "allkeys-lfu": "removes less frequently used keys first",
    "volatile-lfu": "removes less frequently used keys first that have an expiry set",
    "allkeys-lru": "removes less recently used keys first",
    "volatile-lru": "removes less recently used keys first that have an expiry set",
    "allkeys-random": "evicts random keys",
    "volatile-random": "evicts random keys but only those that have an expiry set",
    "volatile-ttl": "only evicts keys with an expiry set and a short TTL",
}
REDIS_CONFIG = {
    "maxmemory_policy": Spec("enum", "noeviction", "Key eviction policy", POLICIES),
    "timeout": Spec("int", 300, "Seconds before an idle connection is closed (0: never)"),
    "notify_keyspace_events": Spec("flags", "", "Keyspace notifications sent (Redis flags)"),
}
# Memory by plan (Heroku Key-Value Store Technical Characterization), for `redis:info`.
MEMORY = {"mini": "25 MB", "premium-0": "50 MB", "premium-1": "100 MB", "premium-2": "250 MB"}


class RedisState(MaintenancesState):
    def _redis(self, c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row = self._data_addon(c, ident)
        if not row["plan"].startswith("heroku-redis:"):
            raise invalid("That add-on is not a Redis database.")
        return row

    def redis_info(self, ident: str) -> Json:
        with self.read() as c:
            row = self._redis(c, ident)
            plan = catalog.find_plan(row["plan"])
            assert plan is not None
            values = {**{k: s.default for k, s in REDIS_CONFIG.items()}, **data_config.overrides(
                c, row["id"])}  # fmt: skip
            info = [
                ("Plan", plan.human_name),
                ("Status", "available"),
                ("Created", row["created_at"]),
                ("Version", "7.2.4"),
                ("Timeout", str(values["timeout"])),
                ("Maxmemory", values["maxmemory_policy"]),
                ("Maintenance", "not required"),
                ("HA Available", "false" if plan.short == "mini" else "true"),
            ]
            if has_window(row["plan"]):
                info.append(("Maintenance window", self.window_text(*self.window_of(c, row))))
            memory = MEMORY.get(plan.short, "above 250 MB")
            return {
                "addon_id": row["id"],
                "name": row["name"],
                "plan": plan.short,
                "version": "7.2.4",
                "prefer_native_tls": True,
                "resource_url": self._shared_value(c, row["id"], "URL"),
                "info": [{"name": k, "values": [v]} for k, v in [*info, ("Memory", memory)]],
            }

    def redis_config(self, ident: str) -> Json:
        with self.read() as c:
            row = self._redis(c, ident)
            return data_config.answer(REDIS_CONFIG, data_config.overrides(c, row["id"]))

    def update_redis_config(self, ident: str, body: Json) -> Json:
        with self.tx() as c:
            row = self._redis(c, ident)
            return data_config.update(c, row["id"], REDIS_CONFIG, body)


def routes(b: RedisState) -> Sequence[Endpoint]:
    base = "/redis/v0/databases/{addon}"
    return (
        Endpoint(base, "GET", lambda c: b.redis_info(c.params["addon"])),
        Endpoint(f"{base}/config", "GET", lambda c: b.redis_config(c.params["addon"])),
        Endpoint(
            f"{base}/config", "PATCH", lambda c: b.update_redis_config(c.params["addon"], c.body)
        ),
    )


FAMILY = Family("redis", data_config.SCHEMA, routes, addon_tables=("data_config",))
