"""`herokustack cost` end to end through the CLI: text, JSON, Markdown, price files, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from herokustack.cli import app
from herokustack.cost import ADDON_CENTS, DYNO_CENTS, ECO_PLAN_CENTS, format_usd

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ROOT / "stacks" / "production.toml"
STAGING = ROOT / "stacks" / "staging.toml"

# stacks/production.toml (with _base.toml): web 2 × standard-1x, worker 2 × standard-1x,
# heroku-postgresql:standard-0, heroku-redis:premium-0, papertrail:choklad, sentry:f1.
PRODUCTION_CENTS = (
    2 * DYNO_CENTS["standard-1x"]
    + 2 * DYNO_CENTS["standard-1x"]
    + ADDON_CENTS["heroku-postgresql:standard-0"]
    + ADDON_CENTS["heroku-redis:premium-0"]
    + ADDON_CENTS["papertrail:choklad"]
    + ADDON_CENTS["sentry:f1"]
)
# stacks/staging.toml: web 2 × standard-1x, worker 2 × standard-1x, the add-ons of _base.toml.
STAGING_CENTS = (
    2 * DYNO_CENTS["standard-1x"]
    + 2 * DYNO_CENTS["standard-1x"]
    + ADDON_CENTS["heroku-postgresql:essential-0"]
    + ADDON_CENTS["heroku-redis:mini"]
    + ADDON_CENTS["papertrail:choklad"]
    + ADDON_CENTS["sentry:f1"]
)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["cost", *args])


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_production_golden_value_matches_published_prices() -> None:
    # In dollars, from Heroku's published prices: the table must agree with them.
    by_hand = (2 * 25 + 2 * 25 + 50 + 15 + 0 + 0) * 100
    assert by_hand == PRODUCTION_CENTS
    result = run(str(PRODUCTION), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["apps"][0]["app"] == "acme-production"
    assert report["apps"][0]["cents"] == PRODUCTION_CENTS
    assert report["total_cents"] == PRODUCTION_CENTS


def test_json_lists_every_process_type_and_addon() -> None:
    result = run(str(PRODUCTION), str(STAGING), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["currency"], report["period"]) == ("USD", "month")
    assert [a["cents"] for a in report["apps"]] == [PRODUCTION_CENTS, STAGING_CENTS]
    assert report["total_cents"] == PRODUCTION_CENTS + STAGING_CENTS
    items = {(i["kind"], i["name"]): i for i in report["apps"][0]["items"]}
    assert set(items) == {
        ("dyno", "web"),
        ("dyno", "worker"),
        ("addon", "database"),
        ("addon", "redis"),
        ("addon", "logging"),
        ("addon", "errors"),
    }
    web = items["dyno", "web"]
    assert (web["plan"], web["quantity"], web["unit_cents"], web["cents"], web["source"]) == (
        "standard-1x",
        2,
        DYNO_CENTS["standard-1x"],
        2 * DYNO_CENTS["standard-1x"],
        "built-in",
    )


def test_text_table_shows_rows_subtotals_and_total(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # default paths: stacks/*.toml
    result = run()
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2 × standard-1x" in out and "heroku-postgresql:standard-0" in out
    assert f"{format_usd(PRODUCTION_CENTS)}/mo" in out  # production subtotal
    assert f"{format_usd(STAGING_CENTS)}/mo" in out  # staging subtotal
    total = next(line for line in out.splitlines() if "Total" in line)
    assert f"{format_usd(PRODUCTION_CENTS + STAGING_CENTS)}/mo" in total
    assert "built-in table" in out


def test_markdown_has_one_row_per_item_and_a_bold_total() -> None:
    result = run(str(PRODUCTION), "--format", "markdown")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "| App | Item | Plan | Qty | Unit price | Monthly |"
    assert "| acme-production | web (dyno) | `standard-1x` | 2 | $25.00 | $50.00 |" in lines
    assert (
        "| acme-production | redis (add-on) | `heroku-redis:premium-0` | 1 | $15.00 | $15.00 |"
        in (lines)
    )
    assert lines[-1] == "| **Total** | | | | | **$165.00/mo** |"


def test_price_file_overrides_built_in_prices(tmp_path: Path) -> None:
    prices = write(
        tmp_path,
        "prices.toml",
        '[dynos]\nstandard-1x = 2000\n[addons]\n"heroku-postgresql:standard-0" = 4500\n',
    )
    result = run(str(PRODUCTION), "--format", "json", "--prices", str(prices))
    assert result.exit_code == 0, result.output
    expected = PRODUCTION_CENTS - 4 * (DYNO_CENTS["standard-1x"] - 2000)
    expected -= ADDON_CENTS["heroku-postgresql:standard-0"] - 4500
    assert json.loads(result.stdout)["total_cents"] == expected


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("prices.toml", "[dynos]\nbasic = 7.5\n", "prices.toml: dynos.basic: expected a whole"),
        ("prices.toml", "[addons]\nsentry = 0\n", "prices.toml: addons.sentry: expected a `"),
        ("prices.json", "{oops", "prices.json: not valid JSON"),
        ("prices.toml", "[dynos\n", "prices.toml: not valid TOML"),
    ],
)
def test_bad_price_file_is_one_line_and_exit_1(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    prices = write(tmp_path, name, text)
    result = run(str(PRODUCTION), "--prices", str(prices))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in result.output


def test_missing_price_file_and_bad_format_fail_cleanly(tmp_path: Path) -> None:
    result = run(str(PRODUCTION), "--prices", str(tmp_path / "nope.toml"))
    assert result.exit_code == 1
    assert "nope.toml: cannot read price file" in result.stderr
    result = run(str(PRODUCTION), "--format", "yaml")
    assert result.exit_code == 1
    assert "--format: unknown format 'yaml'" in result.stderr


def test_bad_stack_file_is_reported_not_costed(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.toml", '[app]\nname = "x"\n')
    result = run(str(broken))
    assert result.exit_code == 1
    assert "broken.toml" in result.stderr and "Traceback" not in result.output


def test_eco_subscription_is_added_once_to_the_total(tmp_path: Path) -> None:
    paths = [
        write(
            tmp_path,
            f"hobby-{n}.toml",
            f'[app]\nname = "hobby-{n}"\nenvironment = "development"\n'
            '[formation.web]\nquantity = 1\nsize = "eco"\n',
        )
        for n in range(3)
    ]
    result = run(*map(str, paths), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [a["cents"] for a in report["apps"]] == [0, 0, 0]
    assert report["eco_plan_cents"] == ECO_PLAN_CENTS
    assert report["total_cents"] == ECO_PLAN_CENTS
    text = run(*map(str, paths)).stdout
    assert "eco plan" in text and "$5.00/mo" in text


def test_unknown_plan_is_shown_and_named_in_a_note(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        "odd.toml",
        '[app]\nname = "odd-app"\nenvironment = "staging"\n'
        '[addons.search]\nplan = "bonsai:sandbox-10"\n',
    )
    result = run(str(stack))
    assert result.exit_code == 0, result.output
    assert "unknown" in result.stdout
    assert "No price known for bonsai:sandbox-10" in " ".join(result.stdout.split())
    report = json.loads(run(str(stack), "--format", "json").stdout)
    assert report["apps"][0]["unpriced"] == ["bonsai:sandbox-10"]
    assert report["apps"][0]["items"][0]["cents"] is None


def test_no_stack_files_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run()
    assert result.exit_code == 1
    assert "no stack files found" in result.stderr
