"""How long the CLI takes to start: `herokustack --help` and `validate` of the example stacks.

Targets (issue 14): `--help` ≤ 0.25 s, `validate stacks/*.toml` ≤ 0.35 s, as the median of
10 runs of the installed command (each a new process, as a user or CI job runs it). Prints
the numbers; no assertion (timings vary with the machine and its load):

    .venv/bin/python bench/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = Path(sys.executable).with_name("herokustack")  # the venv's entry point script
TARGETS = {"--help": 0.25, "validate stacks/*.toml": 0.35}


def median_seconds(argv: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    stacks = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "stacks").glob("*.toml"))]
    cases = {"--help": ["--help"], "validate stacks/*.toml": ["validate", *stacks]}
    # Bytecode as an installed wheel has it (pip compiles on install), even in a source tree
    # run with PYTHONDONTWRITEBYTECODE.
    compile_all = [sys.executable, "-m", "compileall", "-q", str(ROOT / "herokustack")]
    subprocess.run(compile_all, check=True)
    median_seconds([sys.executable, "-c", "pass"], 3)  # warm the file cache
    baseline = median_seconds([sys.executable, "-c", "pass"], runs)
    print(f"python -c pass: {baseline:.3f} s (median of {runs})")
    for label, args in cases.items():
        seconds = median_seconds([str(COMMAND), *args], runs)
        print(f"herokustack {label}: {seconds:.3f} s (median of {runs}; target {TARGETS[label]} s)")


if __name__ == "__main__":
    main()
