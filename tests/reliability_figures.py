"""Figures of the reliability suite: each trial adds a line; `pytest` prints the table at the end.

Tests run in several xdist workers, so figures go through files in one directory that the
controlling process empties at the start and reads in its terminal summary (conftest.py).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent.parent / ".pytest_cache" / "reliability"
COLUMNS = ("trials", "tracebacks", "duplicates", "lost", "converged", "refused", "writes")


def record(suite: str, **figures: int) -> None:
    """Add one trial's figures (e.g. converged=1, tracebacks=0) to `suite`."""
    DIRECTORY.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"suite": suite, "trials": 1, **figures})
    with (DIRECTORY / f"{os.getpid()}.jsonl").open("a", encoding="utf-8") as file:
        file.write(line + "\n")


def clear() -> None:
    for path in DIRECTORY.glob("*.jsonl"):
        path.unlink()


def table() -> list[str]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for path in sorted(DIRECTORY.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            row = totals[entry.pop("suite")]
            for key, value in entry.items():
                row[key] = row.get(key, 0) + int(value)
    if not totals:
        return []
    head = f"{'suite':<34}" + "".join(f"{c:>11}" for c in COLUMNS)
    rows = [f"{s:<34}" + "".join(f"{r[c]:>11}" for c in COLUMNS) for s, r in sorted(totals.items())]
    return [head, *rows]
