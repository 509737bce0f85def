"""Plan and apply 1, 50, 500 and 1,000 apps against the emulator with 100 ms latency per request.

Prints, per size, wall time and requests per app (the emulator counts requests) of: the first
plan (apps missing), apply (its own plan included, and the guard before each write batch that
the CLI runs; --no-guard leaves it out), apply of a formation change, the plan after apply
(nothing left to do), and that plan again as a user runs it (`herokustack plan`, a separate
process: wall time from the command's start, and its peak memory, RSS).

With --data-settings, each app's Postgres and Redis also declare a maintenance window and
settings (plan then reads 2 more requests per data add-on: its window and its settings).

Sizes above --apply-up-to (default 50) are set up without latency (applying a thousand apps
at 100 ms a request takes minutes and is not what is measured); only their plans are timed.

    .venv/bin/python bench/plan_apply.py [--latency MS] [--parallelism N] [--sizes 1,50,500,1000]
                                         [--apply-up-to N] [--no-guard] [--data-settings]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import tomli_w

from herokustack import session
from herokustack.client import HerokuClient
from herokustack.emulator import EmulatorServer
from herokustack.emulator.responses import RATE_LIMIT
from herokustack.planfile import LiveGuard
from herokustack.stackfile import load_stacks

SECRET_ENV = {"APP_SECRET": "bench-secret-value"}
RSS_PROBE = (
    "import resource, sys\n"
    "from herokustack.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "finally:\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    print('peak-rss-kb', peak, file=sys.stderr)\n"
)


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
    emu.set_rate_remaining(RATE_LIMIT)  # each step starts with a full hour's budget
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, emu.request_count(), result


def cli_plan(emu: EmulatorServer, folder: Path, parallelism: int) -> tuple[float, int, int]:
    """`herokustack plan` in its own process: wall seconds, requests, peak RSS in kB."""
    env = {**os.environ, **SECRET_ENV, "HEROKU_API_KEY": emu.api_key, "NO_COLOR": "1"}
    argv = [sys.executable, "-c", RSS_PROBE, "plan", str(folder), "--api-url", emu.url]
    argv += ["--parallelism", str(parallelism), "--detailed-exitcode", "--no-cost"]
    emu.reset_counts()
    emu.set_rate_remaining(RATE_LIMIT)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r"peak-rss-kb (\d+)", done.stderr)
    assert found, done.stderr[-2000:]
    return seconds, emu.request_count(), int(found[1])


def bench(
    count: int,
    latency: float,
    parallelism: int,
    guard: bool,
    apply_up_to: int,
    data_settings: bool = False,
) -> list[tuple[str, float, float, str]]:
    rows: list[tuple[str, float, float, str]] = []
    timed_apply = count <= apply_up_to
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
        rows.append(("plan (new apps)", seconds, requests / count, ""))
        emu.api.settings.latency_ms = latency if timed_apply else 0
        seconds, requests, _ = measure(emu, apply)
        if timed_apply:
            rows.append(("apply (create)", seconds, requests / count, ""))
        deploy_all()
        seconds, requests, _ = measure(emu, apply)
        if timed_apply:
            rows.append(("apply (formation)", seconds, requests / count, ""))
        emu.api.settings.latency_ms = latency
        seconds, requests, final = measure(emu, plan)
        assert not final.has_changes
        rows.append(("plan (no changes)", seconds, requests / count, ""))
        seconds, requests, rss = cli_plan(emu, Path(tmp), parallelism)
        rows.append(("herokustack plan", seconds, requests / count, f"{rss / 1024:.0f} MB"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=100.0, help="ms per request")
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--sizes", default="1,50,500,1000")
    parser.add_argument("--apply-up-to", type=int, default=50, help="largest size applied timed")
    parser.add_argument("--no-guard", action="store_true", help="apply without the write guard")
    parser.add_argument(
        "--data-settings", action="store_true", help="declare windows and settings of data add-ons"
    )
    args = parser.parse_args()
    label = "without" if args.no_guard else "with"
    print(
        f"latency {args.latency:.0f} ms per request, parallelism {args.parallelism}, {label} guard"
    )
    print(f"{'apps':>5}  {'step':<18} {'wall s':>7} {'req/app':>8} {'peak RSS':>9}")
    for count in (int(n) for n in args.sizes.split(",")):
        rows = bench(
            count,
            args.latency,
            args.parallelism,
            not args.no_guard,
            args.apply_up_to,
            args.data_settings,
        )
        for step, seconds, per_app, rss in rows:
            print(f"{count:>5}  {step:<18} {seconds:>7.2f} {per_app:>8.2f} {rss:>9}", flush=True)


if __name__ == "__main__":
    main()
