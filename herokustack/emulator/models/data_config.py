"""Settings of data add-ons as the data API answers them: `{name: {"value", "desc", ...}}`.

Shared by the Postgres (`/postgres/v0/databases/{id}/config`) and Redis
(`/redis/v0/databases/{id}/config`) families: one table of overrides per add-on, Heroku's
defaults for the rest. Enumerated settings carry `values` (value -> description), which the
official CLI prints (`pg:settings:log-statement`, `redis:maxmemory`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from herokustack.emulator.models.db import Json, invalid


@dataclass(frozen=True)
class Spec:
    kind: str  # "bool" | "int" | "enum" | "flags"
    default: Any
    desc: str
    values: dict[str, str] = field(default_factory=dict)  # enum: value -> what it means
    minimum: int = 0

    def parse(self, name: str, value: Any) -> Any:
        ok = {
            "bool": isinstance(value, bool),
            "int": isinstance(value, int)
            and not isinstance(value, bool)
            and self.minimum <= value <= 2**31 - 1,
            "enum": value in self.values,
            "flags": isinstance(value, str) and all(c in "KEg$lshztxemA" for c in value),
        }[self.kind]
        if not ok:
            raise invalid(f"Invalid value for {name}: {_shown(value)}. {self.expected()}")
        return value

    def expected(self) -> str:
        if self.kind == "enum":
            return f"Valid options are: {', '.join(self.values)}."
        if self.kind == "int":
            return f"Valid options are: an integer of at least {self.minimum}."
        if self.kind == "flags":
            return "Valid options are: a string of the flags KEg$lshztxemA."
        return "Valid options are: a boolean value."


def _shown(value: Any) -> str:
    return json.dumps(value)[:40]


SCHEMA = """
CREATE TABLE IF NOT EXISTS data_config (
  addon_id TEXT PRIMARY KEY, config TEXT NOT NULL);
"""


def overrides(c: sqlite3.Connection, addon_id: str) -> dict[str, Any]:
    row = c.execute("SELECT config FROM data_config WHERE addon_id = ?", (addon_id,)).fetchone()
    return json.loads(row["config"]) if row else {}


def answer(specs: dict[str, Spec], values: dict[str, Any]) -> Json:
    out: Json = {}
    for name, spec in specs.items():
        entry: Json = {"value": values.get(name, spec.default), "desc": spec.desc}
        if spec.values:
            entry["values"] = dict(spec.values)
        out[name] = entry
    return out


def update(c: sqlite3.Connection, addon_id: str, specs: dict[str, Spec], body: Any) -> Json:
    if not isinstance(body, dict) or not body:
        raise invalid("Missing required param: a setting to change.")
    unknown = sorted(set(body) - set(specs))
    if unknown:
        raise invalid(
            f"Unknown setting: {unknown[0][:60]}. Valid settings are: {', '.join(specs)}."
        )
    values = overrides(c, addon_id)
    values.update({k: specs[k].parse(k, v) for k, v in body.items()})
    c.execute(
        "INSERT OR REPLACE INTO data_config (addon_id, config) VALUES (?, ?)",
        (addon_id, json.dumps(values)),
    )
    return answer(specs, values)
