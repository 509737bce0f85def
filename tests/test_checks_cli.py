"""`herokustack check` end to end through the CLI: formats, exit codes, SARIF schema, no leaks."""

from __future__ import annotations

import io
import json
import re
import shutil
import string
import tempfile
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from herokustack.check_render import RENDERERS, render_text, want_color
from herokustack.checks import RULES, run_checks
from herokustack.cli import app
from herokustack.stackfile import load_stacks

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "checks"
SARIF_SCHEMA = Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json"
FORMATS = ["text", "json", "markdown", "sarif"]
CHAR_CLASSES = (str.isupper, str.islower, str.isdigit)

# The literal secret values of hs011-fail.toml: none may appear in any output.
SECRETS = [
    "sk_live_EXAMPLE-not-a-real-key-0000",
    "plain-words-but-named-like-a-secret",
    "ghp_EXAMPLE-not-a-real-token-0000",
    "hunter2-hunter2",
    "s3cr3tPassw0rdXYZ",
    "Zx9QwErTy7UiOp3AsDfGh1JkLzXcVbNm",
]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def test_clean_stacks_exit_0() -> None:
    code, out = run(fixture("production-good.toml"), fixture("staging-good.toml"))
    assert code == 0
    assert "No findings" in out


def test_error_exits_1_and_text_groups_findings_per_app() -> None:
    code, out = run(fixture("hs001-fail.toml"), fixture("hs006-fail.toml"))
    assert code == 1
    assert "\x1b[" not in out  # not a terminal: no colour codes
    first, second = out.index("hs001-fail  ("), out.index("hs006-fail  (")
    assert first < out.index("HS001") < second < out.rindex("HS006")
    assert "tests/fixtures/checks/hs001-fail.toml:6" in out
    assert re.search(r"1 error, \d+ warnings", out)


def test_warnings_pass_unless_strict() -> None:
    assert run(fixture("hs006-fail.toml"))[0] == 0
    assert run("--strict", fixture("hs006-fail.toml"))[0] == 1


def test_info_passes_even_strict(tmp_path: Path) -> None:
    path = tmp_path / "app.toml"
    path.write_text(
        (FIXTURES / "hs009-fail.toml").read_text().replace("[app]\n", '[app]\nteam = "acme"\n')
        + '[addons.logs]\nplan = "papertrail:choklad"\n[addons.errors]\nplan = "sentry:f1"\n'
    )
    code, out = run("--strict", str(path))
    assert code == 0
    assert "info    HS009" in out and "0 errors, 0 warnings, 1 info" in out


def test_suppressed_errors_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "app.toml"
    path.write_text(
        "# herokustack:ignore HS001 -- one dyno is fine for the pilot\n"
        + (FIXTURES / "hs001-fail.toml").read_text()
    )
    code, out = run(str(path))
    assert code == 0
    assert "HS001" not in out
    assert "(1 suppressed)" in out


def test_broken_suppression_fails(tmp_path: Path) -> None:
    path = tmp_path / "app.toml"
    path.write_text("# herokustack:ignore HS006\n" + (FIXTURES / "hs006-pass.toml").read_text())
    code, out = run(str(path))
    assert code == 1
    assert "HS000" in out and "no reason" in out


def test_list_prints_every_rule_with_severity_and_why() -> None:
    code, out = run("--list")
    assert code == 0
    for rule in RULES.values():
        assert re.search(rf"^{rule.id}  {rule.severity}\b", out, re.MULTILINE)
        assert rule.why in out


def test_unknown_format_is_one_clear_line() -> None:
    result = CliRunner().invoke(app, ["check", "--format", "xml", fixture("hs001-fail.toml")])
    assert result.exit_code == 1
    assert "--format" in result.output and "Traceback" not in result.output


def test_bad_stack_file_is_one_line_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[app]\nname = "bad-app"\nenvironment = "prod"\n')
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert "bad.toml" in result.output and "app.environment" in result.output
    assert "Traceback" not in result.output


def test_default_paths_are_the_stacks_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(FIXTURES / "hs004-fail.toml", tmp_path / "stacks" / "prod.toml")
    monkeypatch.chdir(tmp_path)
    code, out = run("--format", "json")
    assert code == 1
    assert [f["rule_id"] for f in json.loads(out)["findings"] if f["severity"] == "error"] == [
        "HS004"
    ]


def test_json_output() -> None:
    code, out = run("--format", "json", fixture("hs004-fail.toml"))
    document = json.loads(out)
    assert code == 1
    (hs004,) = [f for f in document["findings"] if f["rule_id"] == "HS004"]
    assert hs004 == {
        "rule_id": "HS004",
        "severity": "error",
        "title": RULES["HS004"].title,
        "app": "hs004-fail",
        "path": "tests/fixtures/checks/hs004-fail.toml",
        "key_path": "addons.db.plan",
        "line": 6,
        "message": "Postgres `db` is on heroku-postgresql:essential-1",
        "fix": RULES["HS004"].fix,
        "suppressed": None,
    }
    # warnings: HS007, HS008 and HS018 (a production app outside a team)
    assert document["summary"] == {"error": 1, "warning": 3, "info": 1, "suppressed": 0}


def test_markdown_output_is_a_table_for_pr_comments() -> None:
    code, out = run("--format", "markdown", fixture("hs012-fail.toml"))
    assert code == 1
    assert out.startswith("### herokustack check")
    assert "| Severity | Rule | App | Where | Finding |" in out
    row = next(line for line in out.splitlines() if "`HS012`" in line)
    assert "error" in row and "`tests/fixtures/checks/hs012-fail.toml:7`" in row
    assert out.count("\n") < 30


def test_markdown_without_findings() -> None:
    code, out = run("--format", "markdown", fixture("production-good.toml"))
    assert code == 0 and "No findings" in out


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SARIF_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_sarif_validates_and_points_at_stack_file_lines(
    sarif_validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    suppressed = tmp_path / "sup.toml"
    suppressed.write_text(
        "# herokustack:ignore HS006 -- VPN only\n" + (FIXTURES / "hs006-fail.toml").read_text()
    )
    code, out = run(
        "--format", "sarif", fixture("hs001-fail.toml"), fixture("hs011-fail.toml"), str(suppressed)
    )
    document = json.loads(out)
    sarif_validator.validate(document)
    assert code == 1 and document["version"] == "2.1.0"
    (run_,) = document["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    assert all(r["help"]["text"] and r["fullDescription"]["text"] for r in rules)
    hs001 = next(r for r in run_["results"] if r["ruleId"] == "HS001")
    location = hs001["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "tests/fixtures/checks/hs001-fail.toml"
    assert location["region"]["startLine"] == 6
    assert rules[hs001["ruleIndex"]]["id"] == "HS001"
    hs006 = next(r for r in run_["results"] if r["ruleId"] == "HS006")
    assert hs006["suppressions"] == [{"kind": "inSource", "justification": "VPN only"}]


def test_sarif_of_clean_stacks_validates(sarif_validator: jsonschema.protocols.Validator) -> None:
    code, out = run("--format", "sarif", fixture("production-good.toml"))
    sarif_validator.validate(json.loads(out))
    assert code == 0 and json.loads(out)["runs"][0]["results"] == []


@pytest.mark.parametrize("output", FORMATS)
def test_hs011_never_prints_a_secret_value(output: str) -> None:
    code, out = run("--format", output, fixture("hs011-fail.toml"))
    assert code == 1
    assert out.count("HS011") >= 6
    for secret in SECRETS:
        assert secret not in out
        assert secret[:12] not in out


def test_sarif_paths_are_relative_to_the_repository_root() -> None:
    assert (ROOT / ".git").exists()
    _, out = run("--format", "sarif", fixture("hs009-fail.toml"))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(out)["runs"][0]["results"]
    }
    assert uris == {"tests/fixtures/checks/hs009-fail.toml"}


def test_example_stacks_production_has_no_error_and_staging_passes_strict() -> None:
    code, out = run("--format", "json", str(ROOT / "stacks" / "production.toml"))
    assert code == 0
    assert not [f for f in json.loads(out)["findings"] if f["severity"] == "error"]
    assert run("--strict", str(ROOT / "stacks" / "staging.toml")) == (
        0,
        "No findings. 0 errors, 0 warnings, 0 info\n",
    )


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(["API_TOKEN", "DB_PASSWORD", "CLIENT_SECRET", "SIGNING_KEY", "OPAQUE"]),
    value=st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=16, max_size=60)
    .filter(lambda v: len(set(v)) >= 8)
    # mixed like a real secret, so it cannot be an ordinary word of the output by chance
    .filter(lambda v: all(sum(map(test, v)) >= 2 for test in CHAR_CLASSES)),
    environment=st.sampled_from(["production", "staging", "development"]),
)
def test_hs011_never_leaks_any_literal_into_any_format(
    name: str, value: str, environment: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "app.toml"
        path.write_text(
            f'[app]\nname = "leak-test"\nenvironment = "{environment}"\n'
            f'[config]\n{name} = "{value}"  # herokustack:ignore HS006 -- {environment}\n'
        )
        findings = run_checks(load_stacks([path]), include_suppressed=True)
    if name != "OPAQUE":
        assert [f.key_path for f in findings if f.rule_id == "HS011"] == [f"config.{name}"]
    outputs = [render_text(findings, color=True), *(r(findings) for r in RENDERERS.values())]
    for out in outputs:
        assert value not in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert want_color(_Terminal(), {})
    assert not want_color(_Terminal(), {"NO_COLOR": "1"})
    assert not want_color(io.StringIO(), {})


def test_text_colours_by_severity() -> None:
    findings = run_checks(load_stacks([FIXTURES / "hs001-fail.toml"]))
    coloured = render_text(findings, color=True)
    assert "\x1b[31merror" in coloured and "\x1b[33mwarning" in coloured
    assert "\x1b[36minfo" in coloured
    assert "\x1b[" not in render_text(findings, color=False)


def test_table_suppression_without_reason_is_rejected_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "app.toml"
    path.write_text(
        (FIXTURES / "hs006-fail.toml").read_text() + '[checks]\nignore = [{ id = "HS006" }]\n'
    )
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert "checks.ignore[0].reason" in result.output
    assert "Traceback" not in result.output


def test_sarif_uris_are_percent_encoded_and_file_uris_outside_the_repository(
    sarif_validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    # A space or '#' in a path would break the URI (GitHub reads '#1.toml' as a fragment);
    # a file outside the repository cannot be relative to it, so it gets a file:// URI.
    elsewhere = tmp_path / "prod.toml"  # the temporary directory is outside the repository
    shutil.copy(FIXTURES / "hs006-fail.toml", elsewhere)
    with tempfile.TemporaryDirectory(dir=ROOT / "tests") as inside:
        named = Path(inside) / "my stacks" / "prod#1.toml"
        named.parent.mkdir()
        shutil.copy(FIXTURES / "hs001-fail.toml", named)
        _, out = run("--format", "sarif", str(named), str(elsewhere))
    document = json.loads(out)
    sarif_validator.validate(document)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in document["runs"][0]["results"]
    }
    relative = named.relative_to(ROOT).as_posix().replace(" ", "%20").replace("#", "%23")
    assert uris == {relative, elsewhere.resolve().as_uri()}


def test_text_heads_each_app_with_its_own_stack_file_even_when_findings_sit_in_a_partial() -> None:
    # The only finding of this app is written in the partial; the heading still names the
    # app's file, where a `# herokustack:ignore` comment would go.
    code, out = run(fixture("extends/app.toml"))
    assert code == 0
    assert out.splitlines()[0] == "extends-app  (tests/fixtures/checks/extends/app.toml)"
    assert "tests/fixtures/checks/extends/_shared.toml:2  Postgres `database`" in out


def test_a_path_given_twice_is_checked_once() -> None:
    _, once = run("--format", "json", fixture("hs009-fail.toml"))
    _, twice = run(
        "--format",
        "json",
        fixture("hs009-fail.toml"),
        str(FIXTURES / ".." / "checks" / "hs009-fail.toml"),
    )
    assert json.loads(twice)["findings"] == json.loads(once)["findings"] != []


def test_sarif_security_rules_carry_a_security_severity_for_github() -> None:
    # GitHub code scanning ranks security alerts by properties["security-severity"].
    _, out = run("--format", "sarif", fixture("hs011-fail.toml"))
    rules = {r["id"]: r for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["HS011"]["properties"]["security-severity"] == "8.0"
    assert rules["HS006"]["properties"]["security-severity"] == "5.0"
    assert "security-severity" not in rules["HS001"]["properties"]
