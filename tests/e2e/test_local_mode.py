"""`--local`: zero set-up, state in .herokustack/local.sqlite, code "deployed" for formation."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from e2e_helpers import ROOT
from typer.testing import CliRunner

from herokustack.cli import app as cli_app

ENV = {
    "DJANGO_SECRET_KEY": "local-secret-value-31337",
    "NO_COLOR": "1",
    "HEROKU_API_KEY": None,
    "HEROKU_API_URL": None,
    "HEROKU_HOST": None,
}


def test_example_stacks_plan_apply_and_converge_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli_app, list(args), env=ENV, catch_exceptions=False)
        return result.exit_code, result.stdout + result.stderr

    code, plan = run("plan", "--local", "--detailed-exitcode")
    assert code == 2, plan
    assert "  + app acme-production: region us, stack heroku-24" in plan
    assert "  + formation web: 2 × standard-1x" in plan  # not deferred: code is "deployed"
    assert (tmp_path / ".herokustack" / "local.sqlite").is_file()

    code, applied = run("apply", "--local", "--auto-approve")
    assert code == 0, applied
    assert "acme-production: applied" in applied and "acme-staging: applied" in applied

    code, again = run("plan", "--local", "--detailed-exitcode")
    assert code == 0, again
    assert "No changes: live state matches the stack files." in again

    code, only = run("plan", "--local", "--app", "acme-staging", "--format", "json")
    assert code == 0 and '"app": "acme-production"' not in only

    for text in (plan, applied, again):
        assert "local-secret-value-31337" not in text
    with sqlite3.connect(tmp_path / ".herokustack" / "local.sqlite") as db:
        names = {row[0] for row in db.execute("SELECT name FROM apps")}
    assert {"acme-production", "acme-staging"} <= names
