"""The plan document and the Markdown comment of a 2-app plan against golden files; the JSON
Schema is current and the document validates; saved-plan parsing refuses what it cannot read.

After an intended change: UPDATE_GOLDEN=1 pytest tests/test_plan_formats.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from live_fixtures import app_info
from typer.testing import CliRunner

from herokustack import ci, markdown, planfile, render
from herokustack.applier import ApplyResult, AppOutcome
from herokustack.cli import app
from herokustack.errors import HerokustackError
from herokustack.facts import LiveAddon, LiveProcess, LiveState
from herokustack.planner import AppPlan, Change, Plan, make_plan
from herokustack.stackfile import load_stacks, resolve_config

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path("tests/golden")
SECRET = "golden-secret-value-never-shown-31337"
OLD_SECRET = "old-golden-secret-value-never-shown"


def addon(service: str, plan: str, attachment: str, id_: str) -> LiveAddon:
    return LiveAddon(
        id=id_,
        name=f"{service}-{id_}",
        service=service,
        plan=plan,
        state="provisioned",
        owner="golden-alpha",
        attachments=(attachment,),
        config_vars=(f"{attachment}_URL",),
    )


def alpha_live() -> LiveState:
    info = app_info("golden-alpha", id="app-alpha")
    return LiveState(
        name="golden-alpha",
        app=info,
        formation={
            "web": LiveProcess(type="web", quantity=1, size="standard-1x"),
            "worker": LiveProcess(type="worker", quantity=2, size="standard-1x"),
        },
        config={"PYTHONUNBUFFERED": "1", "LOG_LEVEL": "warning", "SECRET_KEY": OLD_SECRET},
        addons=(
            addon("heroku-postgresql", "heroku-postgresql:essential-0", "DATABASE", "db-1"),
            addon("heroku-postgresql", "heroku-postgresql:essential-1", "ANALYTICS", "db-2"),
            addon("heroku-redis", "heroku-redis:mini", "REDIS", "redis-1"),
        ),
        schedules={"db-1": ()},
    )


@pytest.fixture()
def run(monkeypatch: pytest.MonkeyPatch) -> ci.PlanRun:
    monkeypatch.chdir(ROOT)  # stack file paths in the document are relative, as in CI
    stacks = load_stacks([GOLDEN / "stacks" / "alpha.toml", GOLDEN / "stacks" / "beta.toml"])
    configs = {s.name: resolve_config(s, {"GOLDEN_SECRET": SECRET}) for s in stacks}
    lives = {"golden-alpha": alpha_live(), "golden-beta": LiveState(name="golden-beta")}
    plan = make_plan(
        stacks,
        configs,
        lives,
        salt="golden-salt",
        pepper=b"golden-pepper",
        assume_released={"golden-beta": ["web"]},
    )
    return ci.PlanRun(plan, lives, stacks)


def golden(name: str, text: str) -> None:
    path = ROOT / GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def document_text(run: ci.PlanRun) -> str:
    doc = ci.document(run, 2, ci.extras(run))
    doc["herokustack_version"] = "VERSION"  # the golden file outlives version bumps
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def visible_lines(text: str) -> list[str]:
    """Lines shown before any <details> is opened (the summary lines count)."""
    shown, depth = [], 0
    for line in text.splitlines():
        if depth == 0:
            shown.append(line)
        depth += line.count("<details>") - line.count("</details>")
    return shown


def test_markdown_of_a_two_app_plan_matches_golden(run: ci.PlanRun):
    text = ci.plan_markdown(run.plan, ci.extras(run, warn_above=10000))
    golden("plan.md", text)
    assert len(visible_lines(text)) <= 20  # with <details> closed: one screen in a PR
    assert text.count("herokustack check") == 1  # the summary line, no heading repeating it
    assert SECRET not in text and OLD_SECRET not in text


def test_plan_document_matches_golden_and_validates(run: ci.PlanRun):
    text = document_text(run)
    golden("plan.json", text)
    jsonschema.validate(json.loads(text), planfile.schema())
    assert SECRET not in text and OLD_SECRET not in text


def test_committed_schema_is_current():
    committed = (ROOT / "herokustack" / "plan.schema.json").read_text(encoding="utf-8")
    assert committed == planfile.schema_text(), (
        "herokustack/plan.schema.json is stale: "
        "python -m herokustack.planfile > herokustack/plan.schema.json"
    )


def test_document_round_trips_to_the_same_plan(run: ci.PlanRun):
    doc = planfile.parse(json.loads(document_text(run)), "plan.json")
    assert doc.to_plan().model_dump() == run.plan.model_dump()


def test_refused_changes_come_first_in_bold(run: ci.PlanRun):
    lines = markdown.plan_markdown(run.plan).splitlines()
    refused = [i for i, line in enumerate(lines) if line.startswith("- **golden-alpha: add-on")]
    table = lines.index("| App | Add | Change | Destroy | Refused |")
    assert refused and max(refused) < table
    # The change in bold, the reason after it in plain text.
    what, why = lines[refused[0]].split("** — ")
    assert what.endswith("heroku-postgresql:essential-1") and why.startswith("heroku-postgresql-")


def test_markdown_code_blocks_cannot_be_broken_out_of():
    change = Change(app="a1", action="create", resource="config", name="X", after="```x```")
    plan = Plan(
        salt="s", apps=[{"app": "a1", "path": "a.toml", "exists": True, "changes": [change]}]
    )
    text = markdown.plan_markdown(plan)
    assert "````diff" in text and '+ config X = "```x```"' in text


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=30))
def test_table_cells_never_split(value: str):
    assert "|" not in markdown.cell(value).replace("\\|", "")
    assert "\n" not in markdown.cell(value)


def test_apply_and_validate_markdown():
    done = Change(app="a1", action="update", resource="formation", name="web", field="quantity")
    result = ApplyResult(
        [
            AppOutcome("a1", done=[done]),
            AppOutcome("a2", failed=[done], error="formation: HTTP 422 | bad"),
        ]
    )
    text = markdown.apply_markdown(result)
    assert text.splitlines()[0] == "### herokustack apply: 1 of 2 apps applied"
    assert "| `a1` | applied | 1 | 0 | 0 |" in text
    assert "| `a2` | **failed** at formation: HTTP 422 \\| bad | 0 | 1 | 0 |" in text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"format_version": 3}, "plan format version 3 is newer than this herokustack reads (2)"),
        ({"format_version": 1}, "plan format version 1 was written by an older herokustack"),
        ({"apps": []}, "not a herokustack plan file (no valid format_version)"),
        ({"format_version": 0}, "not a herokustack plan file (no valid format_version)"),
        ({"format_version": -1}, "not a herokustack plan file (no valid format_version)"),
        ({"format_version": True}, "not a herokustack plan file (no valid format_version)"),
        ({"format_version": 2.0}, "not a herokustack plan file (no valid format_version)"),
        ([2], "not a herokustack plan file (no valid format_version)"),
        ({"format_version": 2, "salt": "s"}, "p.json: changes_pending: Field required"),
    ],
)
def test_unreadable_plan_files_are_one_clear_error(raw: Any, message: str):
    with pytest.raises(HerokustackError) as caught:
        planfile.parse(raw, "p.json")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not a plan file (JSON nested too deeply)"),
        (b'{"format_version": 2, "n": ' + b"9" * 5000 + b"}", "not a plan file (not JSON: "),
        (b"\xff\xfe{}", "not a plan file (not JSON: "),
        (b"{", "not a plan file (not JSON: "),
    ],
)
def test_plan_files_that_would_crash_a_parser_are_one_line(
    tmp_path: Path, content: bytes, message: str
):
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    with pytest.raises(HerokustackError) as caught:
        planfile.load(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


def test_a_fifo_a_directory_or_a_huge_file_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)  # no writer: reading it would block for ever
    with pytest.raises(HerokustackError, match="not a regular file"):
        planfile.load(fifo)
    with pytest.raises(HerokustackError, match="Is a directory"):
        planfile.load(tmp_path)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    monkeypatch.setattr(planfile, "MAX_PLAN_BYTES", 1024)
    with pytest.raises(HerokustackError, match=r"not a plan file \(over"):
        planfile.load(big)


def test_validate_markdown_through_the_cli(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    bad = "tests/fixtures/invalid/region.toml"
    result = CliRunner().invoke(
        app, ["validate", "stacks/production.toml", bad, "--format", "markdown"]
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "### herokustack validate: 1 of 2 files invalid, 1 problem"
    assert "| `stacks/production.toml` | acme-production | valid |" in lines
    assert f"| `{bad}` |  | **1 problem** |" in lines
    assert f'- {bad}:5: app.region: must be one of "us", "eu", got "asia"' in lines


def test_a_huge_plan_still_fits_in_a_github_comment():
    changes = [
        Change(app="a1", action="create", resource="config", name=f"K{i}", after="v" * 100)
        for i in range(2000)
    ]
    plan = Plan(salt="s", apps=[AppPlan(app="a1", path="a.toml", exists=True, changes=changes)])
    text = markdown.plan_markdown(plan)
    assert len(text) <= markdown.MAX_COMMENT
    assert "+ config K49 = " in text and "... 1950 more (see the plan's JSON)" in text
    assert "| `a1` | 2000 | 0 | 0 | 0 |" in text


def test_text_plan_wraps_long_refusals_under_their_line(run: ci.PlanRun):
    text = render.plan_text(run.plan)
    lines = text.splitlines()
    assert all(len(line) <= render.WIDTH for line in lines), text
    refused = lines.index(
        "  ! add-on heroku-postgresql-db-2 (ANALYTICS): heroku-postgresql:essential-1"
    )
    assert lines[refused + 1 : refused + 3] == [
        "      # heroku-postgresql-db-2 holds data: herokustack never destroys a Postgres or Redis "
        "add-on",
        "      # removed from the file (destroy it by hand: heroku addons:destroy "
        "heroku-postgresql-db-2)",
    ]
    assert "\n\n\n" not in text


def test_text_of_an_unchanged_app_says_no_changes_once(run: ci.PlanRun):
    calm = AppPlan(app="calm", path="stacks/calm.toml", exists=True, changes=[])
    text = render.plan_text(Plan(salt="s", apps=[calm]))
    assert text == (
        "calm  (stacks/calm.toml)\n"
        "  no changes\n"
        "\n"
        "No changes: live state matches the stack files.\n"
    )
    with_sections = render.plan_text(Plan(salt="s", apps=[calm]), extra=[("Cost", "x: $1\n")])
    assert with_sections.endswith("matches the stack files.\n\nCost\nx: $1\n")


def test_apply_text_counts_in_words():
    one = Change(app="a1", action="update", resource="formation", name="web", field="quantity")
    two = one.model_copy(update={"name": "worker"})
    assert render.apply_text(ApplyResult([AppOutcome("a1", done=[one])])) == (
        "a1: applied 1 change\n"
    )
    assert render.apply_text(ApplyResult([AppOutcome("a1", done=[one, two])])) == (
        "a1: applied 2 changes\n"
    )
    failed = render.apply_text(ApplyResult([AppOutcome("a1", failed=[one], error="e")]))
    assert "\n1 of 1 app failed; run apply again to finish\n" in failed
    two_apps = ApplyResult(
        [AppOutcome("a1", done=[one]), AppOutcome("a2", failed=[one], error="e")]
    )
    assert "1 of 2 apps failed" in render.apply_text(two_apps)
    assert markdown.apply_markdown(ApplyResult([AppOutcome("a1", done=[one])])).startswith(
        "### herokustack apply: 1 of 1 app applied\n"
    )
