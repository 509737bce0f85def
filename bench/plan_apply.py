"""Plan and apply 1, 10 and 50 apps against the emulator with 100 ms latency per request.

Prints wall time and requests per app (the emulator counts requests) for: the first plan (apps
missing), apply (its own plan included, and the guard before each write batch that the CLI
runs; --no-guard leaves it out), and the plan after apply (nothing left to do). With
--data-settings, each app's Postgres and Redis also declare a maintenance window and settings
(plan then reads 2 more requests per data add-on: its window and its settings).

    .venv/bin/python bench/plan_apply.py [--latency MS] [--parallelism N] [--sizes 1,10,50]
                                         [--no-guard] [--data-settings]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import tomli_w

from herokustack import session
from herokustack.client import HerokuClient
from herokustack.emulator import EmulatorServer
from herokustack.planfile import LiveGuard
from herokustack.stackfile import load_stacks

SECRET_ENV = {"APP_SECRET": "bench-secret-value"}


def stack_doc(name: str, data_settings: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "app": {"name": name, "environment": "production"},
        "formation": {"web": {"quantity": 2}, "worker": {"quantity": 1}},
        "addons": {
            "database": {"plan": "heroku-postgresql:standard-0", "backups": {"at": "02:00"}},
            "redis": {"plan": "heroku-redis:premium-0"},
            "logging": {"plan": "papertrail:choklad"},
        },
        "config": {"PYTHONUNBUFFERED": "1", "SECRET_KEY": {"from_env": "APP_SECRET"}},
    }
    if data_settings:
        addons = doc["addons"]
        addons["database"]["maintenance_window"] = "Sundays 04:00"
        addons["database"]["settings"] = {"log_min_duration_statement": 500}
        addons["redis"]["maintenance_window"] = "Sundays 05:00"
        addons["redis"]["settings"] = {"maxmemory_policy": "allkeys-lru"}
    return doc


def measure(emu: EmulatorServer, action: Any) -> tuple[float, int, Any]:
    emu.reset_counts()
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, emu.request_count(), result


def bench(
    count: int, latency: float, parallelism: int, guard: bool = True, data_settings: bool = False
) -> list[tuple[str, float, float]]:
    rows = []
    with EmulatorServer(latency_ms=latency) as emu, tempfile.TemporaryDirectory() as tmp:
        run = uuid.uuid4().hex[:6]
        paths = []
        for i in range(count):
            path = Path(tmp) / f"app{i}.toml"
            doc = stack_doc(f"bench-{run}-{i}", data_settings)
            path.write_text(tomli_w.dumps(doc), encoding="utf-8")
            paths.append(path)
        stacks = load_stacks(paths)
        configs = session.resolve_configs(stacks, SECRET_ENV)
        target = session.Target(HerokuClient(emu.url, emu.api_key, parallelism=parallelism))

        def deploy_all() -> None:
            for stack in stacks:
                emu.deploy(stack.name, {"web": "web", "worker": "worker"})

        def plan() -> Any:
            return session.compute_plan(target, stacks, configs)

        def apply() -> Any:
            # As `herokustack apply` does: plan, then a guard before each write batch.
            planned, lives = session.plan_with_lives(target, stacks, configs)
            check = LiveGuard.from_lives(target.client, planned.hash_key, lives) if guard else None
            result = session.run_apply(target, planned, configs, timeout=60, before_write=check)
            assert result.ok, [a.error for a in result.apps]
            return result

        seconds, requests, _ = measure(emu, plan)
        rows.append(("plan (new apps)", seconds, requests / count))
        seconds, requests, _ = measure(emu, apply)
        rows.append(("apply (create)", seconds, requests / count))
        deploy_all()
        seconds, requests, _ = measure(emu, apply)
        rows.append(("apply (formation)", seconds, requests / count))
        seconds, requests, final = measure(emu, plan)
        assert not final.has_changes
        rows.append(("plan (no changes)", seconds, requests / count))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=100.0, help="ms per request")
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--no-guard", action="store_true", help="apply without the write guard")
    parser.add_argument(
        "--data-settings", action="store_true", help="declare windows and settings of data add-ons"
    )
    args = parser.parse_args()
    label = "without" if args.no_guard else "with"
    print(
        f"latency {args.latency:.0f} ms per request, parallelism {args.parallelism}, {label} guard"
    )
    print(f"{'apps':>5}  {'step':<18} {'wall s':>7} {'req/app':>8}")
    for count in (int(n) for n in args.sizes.split(",")):
        for step, seconds, per_app in bench(
            count, args.latency, args.parallelism, not args.no_guard, args.data_settings
        ):
            print(f"{count:>5}  {step:<18} {seconds:>7.2f} {per_app:>8.1f}")


if __name__ == "__main__":
    main()
