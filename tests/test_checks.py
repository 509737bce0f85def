"""The production-readiness rules: each one fails its failing fixture and passes its passing one."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from live_fixtures import app_info

from herokustack import checks, facts
from herokustack.check_render import render_rules_markdown
from herokustack.checks import (
    RULES,
    Finding,
    LiveAddon,
    LiveApp,
    LiveState,
    failed,
    run_checks,
    secret_reason,
    shannon_entropy,
)
from herokustack.errors import HerokustackError
from herokustack.stackfile import FromEnv, Stack

FIXTURES = Path(__file__).parent / "fixtures" / "checks"


def load(name: str) -> Stack:
    (stack,) = checks.load([FIXTURES / name])
    return stack


def findings_of(name: str, live: LiveState | None = None) -> list[Finding]:
    return run_checks([load(name)], live, include_suppressed=True)


def write(tmp_path: Path, text: str, name: str = "app.toml") -> Stack:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (stack,) = checks.load([path])
    return stack


# (rule, failing fixture, severity expected there, line of the finding, passing fixture)
CASES = [
    ("HS001", "hs001-fail.toml", "error", 6, "hs001-pass.toml"),
    ("HS002", "hs002-fail.toml", "error", 7, "hs002-pass.toml"),
    ("HS003", "hs003-fail.toml", "warning", 4, "hs003-pass.toml"),
    ("HS003", "hs003-fail-retired.toml", "error", 4, "hs003-pass.toml"),
    ("HS004", "hs004-fail.toml", "error", 6, "hs004-pass.toml"),
    ("HS005", "hs005-fail.toml", "error", 5, "hs005-pass.toml"),
    ("HS005", "hs005-fail-staging.toml", "warning", 5, "hs005-pass.toml"),
    ("HS006", "hs006-fail.toml", "warning", 1, "hs006-pass.toml"),
    ("HS007", "hs007-fail.toml", "warning", 5, "hs007-pass.toml"),
    ("HS008", "hs008-fail.toml", "warning", 5, "hs008-pass.toml"),
    ("HS009", "hs009-fail.toml", "info", 1, "hs009-pass.toml"),
    ("HS010", "hs010-fail.toml", "warning", 8, "hs010-pass.toml"),
    ("HS011", "hs011-fail.toml", "error", 7, "hs011-pass.toml"),
    ("HS012", "hs012-fail.toml", "error", 7, "hs012-pass.toml"),
    ("HS012", "hs012-fail-hosts.toml", "warning", 7, "hs012-pass.toml"),
    ("HS013", "hs013-fail.toml", "warning", 7, "hs013-pass.toml"),
    ("HS015", "hs015-fail.toml", "info", 10, "hs015-pass.toml"),
    ("HS016", "hs016-fail.toml", "error", 6, "hs016-pass.toml"),
    ("HS017", "hs017-fail.toml", "info", 1, "hs017-pass.toml"),
    ("HS018", "hs018-fail.toml", "warning", 2, "hs018-pass.toml"),
    ("HS019", "hs019-fail.toml", "info", 5, "hs019-pass.toml"),
    ("HS020", "hs020-fail.toml", "info", 7, "hs020-pass.toml"),
    ("HS021", "hs021-fail.toml", "error", 7, "hs021-pass.toml"),
    ("HS016", "hs016-fail.toml", "error", 6, "hs021-pass.toml"),  # an uploaded certificate
    ("HS023", "hs023-fail.toml", "info", 5, "hs023-pass.toml"),
]
# Rules across the apps of one pipeline: tested on the files of tests/fixtures/checks/pipeline.
PIPELINE_RULES = {"HS024", "HS025"}


@pytest.mark.parametrize(("rule_id", "failing", "severity", "line", "passing"), CASES)
def test_rule_fails_its_failing_fixture_and_passes_its_passing_one(
    rule_id: str, failing: str, severity: str, line: int, passing: str
) -> None:
    hits = [f for f in findings_of(failing) if f.rule_id == rule_id]
    assert hits, f"{rule_id} did not fire on {failing}"
    assert hits[0].severity == severity
    assert hits[0].line == line
    assert hits[0].path == FIXTURES / failing
    assert hits[0].app == load(failing).spec.app.name
    assert not [f for f in findings_of(passing) if f.rule_id == rule_id]


def test_every_offline_rule_has_fixtures() -> None:
    covered = {case[0] for case in CASES} | PIPELINE_RULES
    offline = {rid for rid, r in RULES.items() if not r.live_only and rid != "HS000"}
    assert covered == offline


def test_pipeline_rules_compare_staging_with_production_of_the_same_pipeline() -> None:
    stacks = checks.load([FIXTURES / "pipeline"])
    found = [f for f in run_checks(stacks) if f.rule_id in PIPELINE_RULES]
    assert [(f.rule_id, f.app, f.severity, f.line, f.message) for f in found] == [
        ("HS024", "shop-staging", "warning", 5,
         "stack heroku-22 differs from production app shop-production of pipeline shop "
         "(heroku-24)"),
        ("HS025", "shop-staging", "warning", 8,
         "config vars of production app shop-production missing here: PAYMENTS_URL, SEARCH_URL"),
    ]  # fmt: skip
    # Checked alone, staging has no production to compare with.
    alone = run_checks([s for s in stacks if s.name == "shop-staging"])
    assert not [f for f in alone if f.rule_id in PIPELINE_RULES]


def test_hs023_needs_to_know_the_app_is_in_no_pipeline(tmp_path: Path) -> None:
    stack = write(tmp_path, '[app]\nname = "solo-prod"\nenvironment = "production"\n')
    assert not [f for f in run_checks([stack]) if f.rule_id == "HS023"]  # not declared
    coupled = LiveState({"solo-prod": LiveApp(pipeline="shop", pipeline_read=True)})
    assert not [f for f in run_checks([stack], coupled) if f.rule_id == "HS023"]
    alone = LiveState({"solo-prod": LiveApp(pipeline_read=True)})
    (hit,) = [f for f in run_checks([stack], alone) if f.rule_id == "HS023"]
    assert hit.message == "production app is in no pipeline (set `pipeline` in `[app]`)"


def test_good_production_and_staging_stacks_have_no_findings() -> None:
    assert findings_of("production-good.toml") == []
    assert findings_of("staging-good.toml") == []


def test_hs011_reports_each_literal_secret_and_how_it_was_recognised() -> None:
    messages = {f.key_path: f.message for f in findings_of("hs011-fail.toml")}
    assert "Stripe" in messages["config.STRIPE_API"]
    assert "name looks like a secret" in messages["config.DJANGO_SECRET_KEY"]
    assert "GitHub" in messages["config.GH"]
    assert "name" in messages["config.DB_PASSWORD"]
    assert "password" in messages["config.UPSTREAM"]
    assert "high-entropy" in messages["config.OPAQUE"]


def test_hs011_names_the_token_kind_with_the_right_article() -> None:
    assert checks.secret_reason("ID", "AKIAIOSFODNN7EXAMPLE") == "with an AWS access key prefix"
    assert checks.secret_reason("T", "xoxb-123456789012-abc") == "with a Slack token prefix"


def test_hs015_needs_a_web_process_in_production(tmp_path: Path) -> None:
    base = '[app]\nname = "{}"\nenvironment = "{}"\n'
    worker = '[formation.worker]\nquantity = 2\nsize = "standard-2x"\n'
    web = '[formation.web]\nquantity = 2\nsize = "standard-2x"\n'
    cases = {
        ("no-web", "production", worker): False,
        ("staging-web", "staging", web): False,
        ("prod-web", "production", web): True,
    }
    for (name, env, formation), fires in cases.items():
        stack = write(tmp_path, base.format(name, env) + formation, f"{name}.toml")
        ids = {f.rule_id for f in run_checks([stack], None, include_suppressed=True)}
        assert ("HS015" in ids) is fires, name


def test_hs016_and_hs017_read_live_domains_and_acm_when_the_file_declares_none(
    tmp_path: Path,
) -> None:
    text = '[app]\nname = "dom"\nenvironment = "production"\n[formation.web]\nquantity = 2\n'
    stack = write(tmp_path, text)

    def ids(live: LiveApp | None) -> set[str]:
        state = LiveState({"dom": live}) if live else None
        return {f.rule_id for f in run_checks([stack], state)} & {"HS016", "HS017"}

    assert ids(None) == set()  # domains not declared, not read: nothing is known
    assert ids(LiveApp(domains=("www.dom.example",), acm=False)) == {"HS016"}
    assert ids(LiveApp(domains=("www.dom.example",), acm=True)) == set()
    assert ids(LiveApp(domains=(), acm=False)) == {"HS017"}
    # What the file declares wins over live state: ACM declared on, live still off.
    declared = write(
        tmp_path,
        'domains = ["www.dom.example"]\n'
        + text.replace('environment = "production"\n', 'environment = "production"\nacm = true\n'),
    )
    live = LiveState({"dom": LiveApp(domains=(), acm=False)})
    assert not {f.rule_id for f in run_checks([declared], live)} & {"HS016", "HS017"}
    [hit] = [
        f
        for f in run_checks(
            [stack],
            LiveState({"dom": LiveApp(domains=("a.dom.example", "b.dom.example"), acm=False)}),
        )
        if f.rule_id == "HS016"
    ]
    assert (
        hit.message == "custom domains a.dom.example, b.dom.example have no certificate: ACM is off"
    )


def test_hs001_counts_workers_too(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        '[app]\nname = "wkr"\nenvironment = "production"\n'
        "[formation.web]\nquantity = 3\n[formation.worker]\nquantity = 1\n",
    )
    hits = [f for f in run_checks([stack]) if f.rule_id == "HS001"]
    assert [f.key_path for f in hits] == ["formation.worker.quantity"]
    assert [f.message for f in hits] == ["`worker` runs 1 dyno; production needs at least 2"]
    text = (tmp_path / "app.toml").read_text()
    idle = write(tmp_path, text.replace("quantity = 1", "quantity = 0"))
    hits = [f for f in run_checks([idle]) if f.rule_id == "HS001"]
    assert [f.message for f in hits] == ["`worker` runs 0 dynos; production needs at least 2"]


def test_hs001_and_hs002_leave_staging_alone(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        '[app]\nname = "stg"\nenvironment = "staging"\nmaintenance = true\n'
        '[formation.web]\nquantity = 1\nsize = "basic"\n',
    )
    assert not {"HS001", "HS002"} & {f.rule_id for f in run_checks([stack])}


def test_django_rules_need_a_django_app(tmp_path: Path) -> None:
    stack = write(
        tmp_path, '[app]\nname = "ndj"\nenvironment = "production"\n[config]\nDEBUG = "true"\n'
    )
    assert "HS012" not in {f.rule_id for f in run_checks([stack])}


def test_django_without_allowed_hosts_is_a_warning(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        '[app]\nname = "djg"\nenvironment = "production"\n'
        '[config]\nDJANGO_SETTINGS_MODULE = "x.settings"\n',
    )
    (hit,) = [f for f in run_checks([stack]) if f.rule_id == "HS012"]
    assert hit.severity == "warning"
    assert "ALLOWED_HOSTS" in hit.message


# --- suppressions ---------------------------------------------------------------------------


STAGING = '[app]\nname = "stg"\nenvironment = "staging"\n'


def test_comment_suppression_silences_the_rule_with_its_reason(tmp_path: Path) -> None:
    stack = write(tmp_path, "# herokustack:ignore HS006 -- behind the office VPN\n" + STAGING)
    all_findings = run_checks([stack], include_suppressed=True)
    (hs006,) = [f for f in all_findings if f.rule_id == "HS006"]
    assert hs006.suppressed == "behind the office VPN"
    assert "HS006" not in {f.rule_id for f in run_checks([stack])}


def test_trailing_comment_suppresses_several_rules(tmp_path: Path) -> None:
    text = STAGING.replace(
        'environment = "staging"',
        'environment = "staging"  # herokustack:ignore HS006, HS007 -- demo app',
    )
    ids = {f.rule_id for f in run_checks([write(tmp_path, text)])}
    assert not {"HS006", "HS007"} & ids
    assert "HS008" in ids


@pytest.mark.parametrize(
    "comment", ["# herokustack: ignore HS006 -- VPN", "# HerokuStack:Ignore hs006 -- VPN"]
)
def test_comment_suppression_tolerates_spaces_and_case(tmp_path: Path, comment: str) -> None:
    findings = run_checks([write(tmp_path, comment + "\n" + STAGING)])
    assert not {"HS000", "HS006"} & {f.rule_id for f in findings}


def test_prose_about_herokustack_is_not_a_suppression(tmp_path: Path) -> None:
    text = "# managed by herokustack: see the README\n" + STAGING
    assert "HS000" not in {f.rule_id for f in run_checks([write(tmp_path, text)])}


def test_table_suppression(tmp_path: Path) -> None:
    text = STAGING + '[checks]\nignore = [{ id = "HS006", reason = "basic auth in front" }]\n'
    assert "HS006" not in {f.rule_id for f in run_checks([write(tmp_path, text)])}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("# herokustack:ignore HS006", "gives no reason"),
        ("# herokustack:ignore HS006 --   ", "gives no reason"),
        ("# herokustack:ignore HS099 -- typo", "unknown rule HS099"),
        ("# herokustack:ignore -- forgot the id", "names no rule"),
        ("# herokustack:ingore HS006 -- typo", "unknown directive herokustack:ingore"),
        ("# herokustack:ignores HS006 -- typo", "unknown directive herokustack:ignores"),
    ],
)
def test_broken_comment_suppression_is_an_error_and_suppresses_nothing(
    tmp_path: Path, line: str, problem: str
) -> None:
    stack = write(tmp_path, STAGING + line + "\n")
    findings = run_checks([stack])
    (bad,) = [f for f in findings if f.rule_id == "HS000"]
    assert bad.severity == "error"
    assert problem in bad.message
    assert bad.line == 4
    assert "HS006" in {f.rule_id for f in findings}
    assert failed(findings)


def test_table_suppression_with_blank_reason_is_an_error(tmp_path: Path) -> None:
    text = STAGING + '[checks]\nignore = [{ id = "HS006", reason = "  " }]\n'
    findings = run_checks([write(tmp_path, text)])
    (bad,) = [f for f in findings if f.rule_id == "HS000"]
    assert "no reason" in bad.message
    assert bad.key_path == "checks.ignore[0]"
    assert bad.line is not None and bad.line >= 4


def test_table_suppression_of_unknown_rule_is_an_error(tmp_path: Path) -> None:
    text = STAGING + '[checks]\nignore = [{ id = "HS777", reason = "x" }]\n'
    (bad,) = [f for f in run_checks([write(tmp_path, text)]) if f.rule_id == "HS000"]
    assert "unknown rule HS777" in bad.message


def test_suppression_marker_inside_a_string_is_not_a_comment(tmp_path: Path) -> None:
    text = STAGING + '[config]\nNOTE = "# herokustack:ignore HS006 -- nope"\n'
    assert "HS006" in {f.rule_id for f in run_checks([write(tmp_path, text)])}


def test_a_suppression_is_per_app(tmp_path: Path) -> None:
    quiet = write(tmp_path, "# herokustack:ignore HS006 -- vpn\n" + STAGING, "a.toml")
    loud = write(tmp_path, STAGING.replace('"stg"', '"stg2"'), "b.toml")
    hs006 = [f.app for f in run_checks([quiet, loud]) if f.rule_id == "HS006"]
    assert hs006 == ["stg2"]


# --- strictness -----------------------------------------------------------------------------


def test_failed_counts_errors_and_with_strict_warnings() -> None:
    warning_only = [f for f in findings_of("hs006-fail.toml")]
    assert {f.severity for f in warning_only} == {"warning"}
    assert not failed(warning_only)
    assert failed(warning_only, strict=True)
    info_only = [f for f in findings_of("hs009-pass.toml") if f.severity == "info"]
    assert not failed(info_only, strict=True)
    assert failed(findings_of("hs001-fail.toml"))


def test_suppressed_findings_never_fail() -> None:
    finding = findings_of("hs001-fail.toml")[0]
    assert failed([finding])
    silenced = Finding(**{**finding.__dict__, "suppressed": "accepted risk"})
    assert not failed([silenced], strict=True)


# --- live state -----------------------------------------------------------------------------


def test_hs014_reports_addons_added_by_hand_only_with_live_state() -> None:
    name = "acme-production"
    live = LiveState(
        apps={
            name: LiveApp(
                addons=(
                    LiveAddon("postgresql-a", "heroku-postgresql"),
                    LiveAddon("postgresql-b", "heroku-postgresql"),
                    LiveAddon("redis-c", "heroku-redis"),
                )
            )
        }
    )
    assert "HS014" not in {f.rule_id for f in findings_of("production-good.toml")}
    hits = [f for f in findings_of("production-good.toml", live) if f.rule_id == "HS014"]
    assert [f.message for f in hits] == [
        "live add-on postgresql-b (heroku-postgresql) is not declared"
    ]


def test_live_stack_states_and_drains_replace_the_offline_view() -> None:
    live = LiveState(
        apps={"hs007-fail": LiveApp(log_drains=1)},
        stack_states={"heroku-22": "deprecated", "heroku-24": "public"},
        default_stack="heroku-24",
    )
    (hs003,) = [f for f in findings_of("hs003-fail.toml", live) if f.rule_id == "HS003"]
    assert hs003.severity == "error" and "deprecated" in hs003.message
    assert "HS007" not in {f.rule_id for f in findings_of("hs007-fail.toml", live)}


# --- secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-1234567890-abcdefghij",
        "6f1c2a9e4b7d8c0f3a5e6d7c8b9a0f1e2d3c4b5a",
        "3f9b2c1e-5d4a-4e8b-9c7d-1a2b3c4d5e6f",
        "postgres://u:p4ss@db.example.com:5432/app",
    ],
)
def test_secret_values_are_recognised_under_harmless_names(value: str) -> None:
    assert secret_reason("SOME_SETTING", value)


@pytest.mark.parametrize(
    "value",
    [
        "acme.settings.production",
        "America/Argentina/Buenos_Aires",
        "https://acme.example.com/a/very/long/path?page=2",
        "gunicorn acme.wsgi --workers 4",
        "2026-11-25T13:54:03Z",
        "ops-team+alerts@example.com",
        "",
    ],
)
def test_ordinary_values_are_not_secrets(value: str) -> None:
    assert secret_reason("SOME_SETTING", value) is None


def test_settings_about_secrets_are_not_secrets() -> None:
    assert secret_reason("TOKEN_TTL_SECONDS", "3600") is None
    assert secret_reason("SESSION_COOKIE_SECRET_ROTATION", "off") is None
    assert secret_reason("API_TOKEN", "123456") == "whose name looks like a secret"


def test_from_env_is_never_a_literal_secret() -> None:
    assert secret_reason("API_TOKEN", FromEnv(from_env="API_TOKEN")) is None
    assert secret_reason("API_TOKEN", "x")


@settings(max_examples=60)
@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=24, max_size=64))
def test_entropy_is_bounded_by_the_alphabet(value: str) -> None:
    assert 0 <= shannon_entropy(value) <= 6.0 + 1e-9


@settings(max_examples=60)
@given(
    # At least 40 distinct characters of 62, drawn without filtering most draws away (a
    # filtered strategy is slow to fill, and hypothesis fails it on a loaded machine).
    st.tuples(st.permutations(string.ascii_letters + string.digits), st.integers(40, 62))
    .map(lambda drawn: "".join(drawn[0][: drawn[1]]))
    .filter(lambda s: any(c.isdigit() for c in s))
    .filter(lambda s: any(c.islower() for c in s) and any(c.isupper() for c in s))
)
def test_random_mixed_tokens_are_high_entropy_secrets(value: str) -> None:
    assert secret_reason("HARMLESS", value) == "with a high-entropy value"


# --- docs and registry ----------------------------------------------------------------------


def template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"<[^>]+>", template)
    return re.compile(".+?".join(re.escape(p) for p in parts))


def test_every_finding_message_is_one_of_its_rules_documented_forms() -> None:
    stacks = checks.load(sorted(FIXTURES.glob("*.toml")))
    findings = run_checks(stacks, include_suppressed=True)
    assert {f.rule_id for f in findings} >= {case[0] for case in CASES}
    for f in findings:
        forms = RULES[f.rule_id].messages
        assert any(template_regex(m).fullmatch(f.message) for m in forms), f


def test_docs_checks_md_matches_the_registry() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "checks.md"
    assert doc.read_text(encoding="utf-8") == render_rules_markdown(), (
        "regenerate: herokustack check --list --format markdown > docs/checks.md"
    )


def test_every_rule_is_documented_completely() -> None:
    for r in RULES.values():
        assert re.fullmatch(r"HS\d{3}", r.id)
        assert r.title and r.why.endswith(".") and r.fix and r.messages, r.id


def test_hs011_also_checks_addon_options(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        '[app]\nname = "opts"\nenvironment = "development"\n'
        '[addons.search]\nplan = "bonsai:sandbox"\n'
        'config = { admin_password = "pa55-w0rd-123", region = "us-east-1" }\n',
    )
    hits = [f for f in run_checks([stack]) if f.rule_id == "HS011"]
    assert [f.key_path for f in hits] == ["addons.search.config.admin_password"]
    assert "pa55" not in hits[0].message


def test_run_checks_leaves_out_suppressed_findings_unless_asked(tmp_path: Path) -> None:
    stack = write(tmp_path, "# herokustack:ignore HS006 -- VPN\n" + STAGING)
    assert "HS006" not in {f.rule_id for f in run_checks([stack])}
    kept = [f for f in run_checks([stack], include_suppressed=True) if f.rule_id == "HS006"]
    assert [f.suppressed for f in kept] == ["VPN"]


def test_live_state_from_plan_reads_counts_only_owned_addons() -> None:

    def addon(name: str, service: str, owner: str) -> facts.LiveAddon:
        plan = f"{service}:x"
        return facts.LiveAddon(
            id=name, name=name, service=service, plan=plan, state="provisioned", owner=owner
        )

    lives = {
        "acme-production": facts.LiveState(
            name="acme-production",
            app=app_info("acme-production"),
            addons=(
                addon("shared-db", "heroku-postgresql", "acme-other"),
                addon("hand-made", "bugsnag", "acme-production"),
            ),
        ),
        "not-created": facts.LiveState(name="not-created"),
    }
    state = checks.live_state_from(lives)
    assert set(state.apps) == {"acme-production"}
    hits = [f for f in findings_of("production-good.toml", state) if f.rule_id == "HS014"]
    assert [f.message for f in hits] == ["live add-on hand-made (bugsnag) is not declared"]


def test_a_finding_in_a_partial_points_at_the_partial() -> None:
    (hs005,) = [f for f in findings_of("extends/app.toml") if f.rule_id == "HS005"]
    assert hs005.path == FIXTURES / "extends" / "_shared.toml"
    assert hs005.line == 2
    assert hs005.app == "extends-app"


def test_no_stack_files_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HerokustackError, match="no stack files found"):
        checks.load(None)
