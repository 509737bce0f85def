"""Errors a user sees: each carries a complete, one-paragraph message and never a secret."""

from __future__ import annotations


class HerokustackError(Exception):
    """An error the CLI prints as-is (no traceback) before exiting with code 1."""


class StackFileError(HerokustackError):
    """One or more problems in stack files; each problem is one line `file: key.path: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
