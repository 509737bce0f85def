"""`--changed-since REF`: the stack files a pull request changed, and those extending them.

A stack file is selected when it, or any partial of its `extends` chain, differs between the
merge base of REF and HEAD and the working tree (committed, staged, unstaged or untracked).
Deleted files are not planned: there is nothing left to plan from.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from herokustack import stackfile
from herokustack.errors import HerokustackError


def _git(args: Sequence[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
        )
    except FileNotFoundError:
        raise HerokustackError("--changed-since: git is not installed") from None
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["git failed"])[-1]
        raise HerokustackError(f"--changed-since: git {args[0]}: {reason}")
    return proc.stdout


def changed_files(ref: str, cwd: Path = Path(".")) -> set[Path]:
    """Absolute paths of files changed since the merge base of `ref` and HEAD."""
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    try:
        base = _git(["merge-base", ref, "HEAD"], cwd).strip()
    except HerokustackError:
        raise HerokustackError(
            f"--changed-since {ref}: not a commit of this repository "
            "(in CI, fetch it first, e.g. `git fetch origin main` or checkout with fetch-depth: 0)"
        ) from None
    names = _git(["diff", "--name-only", "-z", base, "--"], cwd).split("\0")
    names += _git(["ls-files", "--others", "--exclude-standard", "-z"], cwd).split("\0")
    return {(top / n).resolve() for n in names if n}


def extends_chain(path: Path) -> list[Path]:
    """The file and the partials it extends, resolved; stops quietly at a broken link
    (validate and plan report those). Read as the loader reads them: regular files of the
    stack file's tree only, bounded in size."""
    return stackfile.extends_chain(path)


def select_changed(paths: Sequence[Path], ref: str, cwd: Path = Path(".")) -> list[Path]:
    """The stack files of `paths` that changed since `ref`, or extend a partial that did."""
    changed = changed_files(ref, cwd)
    return [p for p in paths if p.is_file() and changed.intersection(extends_chain(p))]
