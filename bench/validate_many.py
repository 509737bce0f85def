"""How long validating many stack files takes: 200 files (each extending one partial).

Goal (issue 3): 200 stack files validate in well under a second. Prints the numbers:

    .venv/bin/python bench/validate_many.py [--files 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from herokustack.stackfile import check_files, default_stack_paths, load_stacks

ROOT = Path(__file__).resolve().parents[1]


def write_stacks(directory: Path, count: int) -> list[Path]:
    base = (ROOT / "stacks" / "_base.toml").read_text(encoding="utf-8")
    (directory / "_base.toml").write_text(base, encoding="utf-8")
    production = (ROOT / "stacks" / "production.toml").read_text(encoding="utf-8")
    for number in range(count):
        text = production.replace("acme-production", f"acme-{number:04d}")
        (directory / f"app-{number:04d}.toml").write_text(text, encoding="utf-8")
    return default_stack_paths(directory)


def best_of(repeat: int, work: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return min(timings)


def cli_seconds(directory: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "herokustack.cli",
            "validate",
            *map(str, default_stack_paths(directory)),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        paths = write_stacks(directory, args.files)
        first = best_of(1, lambda: load_stacks(paths))  # includes the one-time time-zone list
        load = best_of(args.repeat, lambda: load_stacks(paths))
        lines = best_of(
            args.repeat, lambda: [s.line_of("formation.web.quantity") for s in load_stacks(paths)]
        )
        check = best_of(args.repeat, lambda: check_files(paths))
        cli = cli_seconds(directory)
    per_file = load / len(paths) * 1e6
    print(f"stack files:                 {len(paths)} (each extends _base.toml)")
    print(f"load_stacks, first call:     {first * 1000:7.1f} ms")
    print(f"load_stacks, best of {args.repeat}:     {load * 1000:7.1f} ms ({per_file:.0f} µs/file)")
    print(f"load + line_of, best of {args.repeat}:  {lines * 1000:7.1f} ms")
    print(f"check_files, best of {args.repeat}:     {check * 1000:7.1f} ms")
    print(f"herokustack validate (process, incl. start-up): {cli * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
