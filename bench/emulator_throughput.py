"""Requests per second the emulator serves, and whether its --latency delays overlap.

Runs reads (GET /apps/{app}) and writes (PATCH config-vars) from N threads for a few seconds,
without latency and then with 100 ms: with latency, throughput should be close to
threads / 0.1 s, since each request sleeps without holding the others.

    .venv/bin/python bench/emulator_throughput.py [--threads 16] [--seconds 3]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import httpx

from herokustack.emulator import EmulatorServer


def hammer(
    emu: EmulatorServer, threads: int, seconds: float, write: bool
) -> tuple[float, list[float]]:
    stop = time.monotonic() + seconds
    timings: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        with httpx.Client(base_url=emu.url, headers=headers, timeout=30) as http:
            i = 0
            while time.monotonic() < stop:
                started = time.monotonic()
                if write:
                    response = http.patch("/apps/bench-app/config-vars", json={f"K{n}": str(i)})
                else:
                    response = http.get("/apps/bench-app")
                response.raise_for_status()
                with lock:
                    timings.append(time.monotonic() - started)
                i += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    begun = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(timings) / (time.monotonic() - begun), timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    for latency in (0, 100):
        with EmulatorServer(latency_ms=latency) as emu:
            emu.backend.create_app({"name": "bench-app"})
            for write in (False, True):
                rate, timings = hammer(emu, args.threads, args.seconds, write)
                p50 = statistics.median(timings) * 1000
                p99 = statistics.quantiles(timings, n=100)[98] * 1000
                kind = "writes" if write else "reads"
                print(
                    f"latency {latency:>3} ms, {args.threads} threads, {kind:<6}: "
                    f"{rate:7.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
                )


if __name__ == "__main__":
    main()
