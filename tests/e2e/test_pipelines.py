"""Pipelines (`[app] pipeline`, stage from `environment`): a staging and a production app
coupled into one pipeline, plan/apply/plan again empty; a stage moved; an app uncoupled; the
coupling read only for apps that declare it; drift of a hand-made coupling change; import."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import Cli, Heroku, plan_requests, unique_name, write_stack
from official_heroku import installed, run_heroku_batch

from herokustack.emulator import EmulatorServer


def doc(name: str, environment: str, **app: Any) -> dict[str, Any]:
    return {"app": {"name": name, "environment": environment, "team": "acme", **app}}


def couplings(heroku: Heroku, pipeline: str) -> dict[str, str]:
    return {
        c["app"]["name"]: c["stage"]
        for c in heroku.get(f"/pipelines/{pipeline}/pipeline-couplings")
    }


def pair(tmp_path: Path, **app: Any) -> tuple[str, Path, Path]:
    pipe = unique_name("p")
    staging = write_stack(tmp_path, doc(f"{pipe}-stg", "staging", pipeline=pipe, **app))
    production = write_stack(tmp_path, doc(f"{pipe}-prod", "production", pipeline=pipe, **app))
    return pipe, staging, production


def applied(cli: Cli, *paths: Path) -> str:
    result = cli("apply", *map(str, paths), "--auto-approve")
    assert result.exit_code == 0, result.output
    return str(result.output)


def plan_text(cli: Cli, *paths: Path, code: int = 2) -> str:
    result = cli("plan", *map(str, paths), "--detailed-exitcode")
    assert result.exit_code == code, result.output
    return str(result.output)


def test_pair_coupled_planned_applied_then_moved_and_uncoupled(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    pipe, staging, production = pair(tmp_path)
    text = plan_text(cli, staging, production)
    created = f"# creates pipeline {pipe} (owner team acme)"
    assert f"  + pipeline {pipe}: stage staging  {created}" in text
    assert f"  + pipeline {pipe}: stage production  # creates pipeline {pipe}" in text
    out = applied(cli, staging, production)
    assert out.count(f"created pipeline {pipe}") == 1, out  # once, though both applied at once
    assert couplings(heroku, pipe) == {f"{pipe}-stg": "staging", f"{pipe}-prod": "production"}
    assert heroku.get(f"/pipelines/{pipe}")["owner"]["type"] == "team"
    assert "No changes" in plan_text(cli, staging, production, code=0)

    # The staging app becomes the development one: its coupling moves stage.
    write_stack(tmp_path, doc(f"{pipe}-stg", "development", pipeline=pipe))
    assert f"  ~ pipeline {pipe} stage: staging → development" in plan_text(cli, staging)
    applied(cli, staging)
    assert couplings(heroku, pipe)[f"{pipe}-stg"] == "development"

    # `pipeline = false`: the app leaves the pipeline, which stays (herokustack deletes none).
    write_stack(tmp_path, doc(f"{pipe}-stg", "development", pipeline=False))
    assert f"  - pipeline {pipe}: the app leaves stage development" in plan_text(cli, staging)
    applied(cli, staging)
    assert couplings(heroku, pipe) == {f"{pipe}-prod": "production"}
    assert "No changes" in plan_text(cli, staging, production, code=0)

    # Into another pipeline: the old coupling goes, the new pipeline is made.
    other = unique_name("q")
    write_stack(tmp_path, doc(f"{pipe}-prod", "production", pipeline=other))
    text = plan_text(cli, production)
    assert f"~ pipeline {other} pipeline: {pipe} (production) → {other} (production)" in text
    applied(cli, production)
    assert couplings(heroku, pipe) == {}
    assert couplings(heroku, other) == {f"{pipe}-prod": "production"}


def test_coupling_read_only_for_apps_that_declare_it(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    pipe, staging, _ = pair(tmp_path)
    plain = write_stack(tmp_path, doc(unique_name("plain"), "staging"))
    applied(cli, staging, plain)
    seen = plan_requests(cli, emu, staging, plain)
    assert f"GET /apps/{pipe}-stg/pipeline-couplings" in seen
    assert not [r for r in seen if plain.stem in r and "pipeline" in r], seen
    assert not [r for r in seen if r.startswith("GET /pipelines")], seen  # coupled: no lookup


def test_drift_of_a_hand_made_coupling_change_and_import(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    pipe, staging, production = pair(tmp_path)
    applied(cli, staging, production)
    coupling = heroku.get(f"/apps/{pipe}-stg/pipeline-couplings")
    heroku.patch(f"/pipeline-couplings/{coupling['id']}", {"stage": "review"})
    result = cli("drift", str(staging), str(production), "--format", "json")
    assert result.exit_code == 2, result.output
    items = [i for a in json.loads(result.stdout)["apps"] for i in a["items"]]
    assert [(i["resource"], i["live"], i["declared"]) for i in items] == [
        ("pipeline", "review", "staging")
    ]
    text = cli("drift", str(staging)).output
    assert f"pipeline {pipe} stage: live review → declared staging" in text

    # An app coupled by hand, whose file does not say `pipeline`: undeclared.
    plain = write_stack(tmp_path, doc(unique_name("plain"), "staging"))
    applied(cli, plain)
    pipeline_id = heroku.get(f"/pipelines/{pipe}")["id"]
    body = {"app": plain.stem, "pipeline": pipeline_id, "stage": "staging"}
    heroku.post("/pipeline-couplings", body)
    text = cli("drift", str(plain)).output
    assert f"pipeline {pipe} stage: on Heroku (staging), not declared" in text, text

    # Import writes the pipeline, and the stage as the environment: its plan is empty.
    out = cli("import", f"{pipe}-prod", "--out", "-").stdout
    assert f'pipeline = "{pipe}"' in out and 'environment = "production"' in out
    imported = tmp_path / "imported" / f"{pipe}-prod.toml"
    imported.parent.mkdir()
    imported.write_text(out)
    assert "No changes" in plan_text(cli, imported, code=0)


def test_check_rules_of_a_pipeline(cli: Cli, tmp_path: Path) -> None:
    pipe = unique_name("p")
    prod = doc(f"{pipe}-prod", "production", pipeline=pipe, stack="heroku-24")
    prod["config"] = {"PAYMENTS_URL": "https://pay.example.com", "TZ": "UTC"}
    stg = doc(f"{pipe}-stg", "staging", pipeline=pipe, stack="heroku-22")
    stg["config"] = {"TZ": "UTC"}
    paths = [str(write_stack(tmp_path, d)) for d in (prod, stg)]
    out = cli("check", *paths, api=False).output
    assert f"stack heroku-22 differs from production app {pipe}-prod of pipeline {pipe}" in out
    assert f"config vars of production app {pipe}-prod missing here: PAYMENTS_URL" in out
    assert "https://pay.example.com" not in out  # names only
    assert "HS023" not in out
    # A production app in no pipeline: known from live state (check --live reads couplings).
    solo = write_stack(tmp_path, doc(unique_name("solo"), "production"))
    applied(cli, solo)
    assert "HS023" not in cli("check", str(solo), api=False).output  # offline: not known
    live = cli("check", str(solo), "--live").output
    assert "HS023" in live and "production app is in no pipeline" in live, live


def test_plan_shows_the_product_in_stage_order_and_markdown_draws_it(
    cli: Cli, tmp_path: Path
) -> None:
    pipe = unique_name("p")
    prod = doc(f"{pipe}-a-prod", "production", pipeline=pipe)
    prod["addons"] = {"database": {"plan": "heroku-postgresql:essential-0"}}
    review = doc(f"{pipe}-b-review", "review", pipeline=pipe)
    stg = doc(f"{pipe}-c-stg", "staging", pipeline=pipe)
    paths = [str(write_stack(tmp_path, d)) for d in (prod, review, stg)]
    text = plan_text(cli, *paths)
    chain = f"{pipe}-b-review (review) → {pipe}-c-stg (staging) → {pipe}-a-prod (production)"
    assert f"Pipeline {pipe}\n{chain}\n" in text, text
    order = [text.index(f"{pipe}-{x}  (") for x in ("b-review", "c-stg", "a-prod")]
    assert order == sorted(order), text  # the apps in stage order, not file order
    md = cli("plan", *paths, "--format", "markdown").stdout
    assert f"#### Pipeline `{pipe}`" in md
    block = md.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block.startswith("flowchart LR\n")
    assert "stage_review -->|promote| stage_staging" in block
    assert "stage_staging -->|promote| stage_production" in block
    assert f'"{pipe}-a-prod: 3 to add, 0 to change, 0 to destroy"' in block
    assert '"database: heroku-postgresql:essential-0"' in block
    assert md.index("```mermaid") < md.index("<details>")  # the product, then the apps


REVIEW_TOKEN = "review-token-never-shown-7d1c2b9a"


def test_review_apps_and_stage_config_vars_then_destroy_refused_while_apps_are_coupled(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    pipe, staging, production = pair(tmp_path)
    prod = doc(f"{pipe}-prod", "production", pipeline=pipe)
    prod["pipeline"] = {
        "review_apps": {"repo": "acme/web", "automatic": True, "destroy_stale_after_days": 5,
                        "wait_for_ci": True, "base_name": "acme-pr", "region": "eu"},
        "config": {"review": {"DEBUG": "1", "API_TOKEN": {"from_env": "REVIEW_TOKEN"}},
                   "test": {"CI": "true"}},
    }  # fmt: skip
    write_stack(tmp_path, prod)
    env: dict[str, str | None] = {"REVIEW_TOKEN": REVIEW_TOKEN}
    result = cli("plan", str(staging), str(production), env=env)
    text = result.output
    assert (
        f"  + pipeline {pipe} review apps: automatic, destroy stale after 5 days, wait for CI, "
        f"base name acme-pr, region eu"
    ) in text, text
    assert "# needs the GitHub repository acme/web connected to the pipeline first" in text
    assert f'  + pipeline {pipe} config review DEBUG = "1"' in text
    assert f"  + pipeline {pipe} config review API_TOKEN = (sensitive)" in text
    assert f'  + pipeline {pipe} config test CI = "true"' in text
    saved = tmp_path / "plan.json"
    assert cli("plan", str(staging), str(production), "--out", str(saved), env=env).exit_code == 0
    assert REVIEW_TOKEN not in saved.read_text() and REVIEW_TOKEN not in text
    assert cli("apply", str(saved), env=env).exit_code == 0, cli.outputs[-1]
    pid = heroku.get(f"/pipelines/{pipe}")["id"]
    review = heroku.get(f"/pipelines/{pid}/review-app-config")
    assert (review["automatic_review_apps"], review["stale_days"], review["base_name"]) == (
        True, 5, "acme-pr"
    )  # fmt: skip
    assert review["deploy_target"] == {"id": "eu", "type": "region"}
    stage = heroku.get(f"/pipelines/{pid}/stage/review/config-vars")
    assert stage == {"API_TOKEN": REVIEW_TOKEN, "DEBUG": "1"}
    assert heroku.get(f"/pipelines/{pid}/stage/test/config-vars") == {"CI": "true"}
    again = cli("plan", str(staging), str(production), "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output

    # Changed by hand: drift names it; plan changes it back in place.
    heroku.patch(f"/pipelines/{pid}/review-app-config", {"stale_days": 9})
    drift = cli("drift", str(production), env=env)
    assert drift.exit_code == 2 and f"pipeline {pipe} review_apps" in drift.output, drift.output
    assert "destroy stale after 9 days" in drift.output
    applied_env = cli("apply", str(production), "--auto-approve", env=env)
    assert applied_env.exit_code == 0, applied_env.output
    assert heroku.get(f"/pipelines/{pid}/review-app-config")["stale_days"] == 5

    # Destroying the pipeline is refused while the apps are in it; uncoupled, it is deleted.
    gone = doc(f"{pipe}-prod", "production", pipeline=False)
    gone["pipeline"] = {"name": pipe, "destroy": True}
    write_stack(tmp_path, gone)
    text = plan_text(cli, production)
    assert f"  ! pipeline {pipe}: delete the pipeline\n" in text
    assert f"# apps are still coupled to it: {pipe}-stg (set `pipeline = false`" in text
    assert f"  - pipeline {pipe}: the app leaves stage production" in text  # this one leaves
    write_stack(tmp_path, doc(f"{pipe}-stg", "staging", pipeline=False))
    text = plan_text(cli, staging, production)
    assert f"  - pipeline {pipe}: delete the pipeline" in text, text
    applied(cli, staging, production)
    assert not [p for p in heroku.get("/pipelines") if p["name"] == pipe]
    assert "No changes" in plan_text(cli, staging, production, code=0)


def test_pipeline_table_validation(cli: Cli, tmp_path: Path) -> None:
    nameless = doc("valid-nameless", "production")
    nameless["pipeline"] = {"review_apps": {"repo": "acme/web"}}
    self_destroy = doc("valid-self", "production", pipeline="acme")
    self_destroy["pipeline"] = {"destroy": True}
    staging = doc("valid-stage", "production", pipeline="acme")
    staging["pipeline"] = {"config": {"staging": {"A": "1"}}}
    secret = doc("valid-secret", "production", pipeline="acme")
    secret["pipeline"] = {"config": {"review": {"TOKEN": 12345678901}}}
    for d, message in (
        (nameless, "pipeline: name the pipeline"),
        (staging, "pipeline.config.staging: Heroku keeps config vars for the review and test"),
        (secret, "pipeline.config.review.TOKEN: must be a string or a table like"),
        (doc("valid-bad", "staging", pipeline=True), "app.pipeline: must be a Heroku Pipeline"),
        (self_destroy, "pipeline.destroy: this app is in the pipeline it destroys"),
    ):
        result = cli("validate", str(write_stack(tmp_path, d)), api=False)
        assert result.exit_code == 1 and message in result.output, result.output
        assert "12345678901" not in result.output  # a value that may be a secret: not echoed
    twice = [doc(f"twice-{n}", "production", pipeline="acme") for n in ("a", "b")]
    for d in twice:
        d["pipeline"] = {"config": {"review": {"A": "1"}}}
    paths = [str(write_stack(tmp_path, d)) for d in twice]
    result = cli("validate", *paths, api=False)
    assert result.exit_code == 1 and "pipeline acme" in result.output, result.output


def test_import_pipeline_writes_a_partial_and_a_file_per_app_that_plan_empty(
    cli: Cli, tmp_path: Path
) -> None:
    pipe = unique_name("p")
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    for env, suffix in (("staging", "stg"), ("production", "prod")):
        d = doc(f"{pipe}-{suffix}", env, pipeline=pipe)
        d["config"] = {"TZ": "UTC", "MODE": env}
        write_stack(live_dir, d)
    applied(cli, *sorted(live_dir.glob("*.toml")))
    out = tmp_path / "stacks"
    result = cli("import", "--pipeline", pipe, "--out", str(out))
    assert result.exit_code == 0, result.output
    partial = (out / f"_{pipe}.toml").read_text()
    assert f'pipeline = "{pipe}"' in partial and 'team = "acme"' in partial
    # Config vars are imported as `from_env` references, equal in both: shared.
    assert 'TZ = { from_env = "TZ" }' in partial and 'MODE = { from_env = "MODE" }' in partial
    prod = (out / f"{pipe}-prod.toml").read_text()
    assert f'extends = "_{pipe}.toml"' in prod and 'environment = "production"' in prod
    assert "pipeline =" not in prod and "[config]" not in prod
    env: dict[str, str | None] = {"TZ": "UTC", "MODE": "staging"}
    stg = out / f"{pipe}-stg.toml"
    assert "No changes" in cli("plan", str(stg), "--detailed-exitcode", env=env).output
    again = cli("import", "--pipeline", pipe, "--out", str(out))
    assert again.exit_code == 1 and "already exists" in again.output
    missing = cli("import", "--pipeline", unique_name("nope"), "--out", str(out))
    assert missing.exit_code == 1 and "no such pipeline" in missing.output


@pytest.mark.cli
@pytest.mark.skipif(not installed(), reason="the official heroku CLI is not installed (make node)")
def test_official_cli_reviewapps_enable_disable_then_drift_sees_them(
    cli: Cli, heroku: Heroku, emu: EmulatorServer, tmp_path: Path
) -> None:
    """`heroku reviewapps:*` read the connected repository from the Platform API (the account
    feature `dashboard-repositories-api` is on), never from Heroku's GitHub service: that is
    another host, which the emulator cannot answer, so the commands would fail there."""
    pipe, staging, production = pair(tmp_path)
    applied(cli, staging, production)
    pid = heroku.get(f"/pipelines/{pipe}")["id"]
    none = heroku.session.get(f"{emu.url}/pipelines/{pid}/repo", timeout=10)
    assert (none.status_code, none.json()["id"]) == (404, "not_found")
    heroku.request("PUT", f"/pipelines/{pid}/repo", {"full_name": "acme/web"})  # the Dashboard
    seen: list[str] = []
    home = tmp_path / "home"
    home.mkdir()
    with emu.observing(lambda method, path, body: seen.append(f"{method} {path} {body}")):
        done = run_heroku_batch(
            emu,
            [
                ["reviewapps:enable", "-p", pipe],  # POST, with the repository
                ["reviewapps:disable", "-p", pipe],  # DELETE
                ["reviewapps:enable", "-p", pipe],
                ["reviewapps:enable", "-p", pipe, "--autodeploy", "--autodestroy", "--wait-for-ci"],
                ["reviewapps:disable", "-p", pipe, "--autodeploy"],  # PATCH, one setting
                ["labs"],
            ],
            home,
        )
    out = [d.stdout + d.stderr for d in done]
    assert [d.returncode for d in done] == [0] * 6, out
    assert all("Configuring pipeline... done" in o for o in out[:5]), out
    assert "Enabling wait for CI..." in out[3] and "Disabling auto deployment..." in out[4]
    assert re.search(r"^\[\+\] dashboard-repositories-api ", out[5], re.M), out[5]
    writes = [s for s in seen if s.startswith(("POST", "PATCH", "DELETE"))]
    review = f"/pipelines/{pid}/review-app-config"
    assert [w.split(" ")[:2] for w in writes] == [
        ["POST", review], ["DELETE", review], ["POST", review], ["PATCH", review],
        ["PATCH", review],
    ]  # fmt: skip
    assert all("'repo': 'acme/web'" in w for w in writes), writes
    assert seen.count(f"GET /pipelines/{pid}/repo {{}}") == 5
    live = heroku.get(review)
    assert (live["automatic_review_apps"], live["destroy_stale_apps"], live["wait_for_ci"]) == (
        False, True, True
    )  # fmt: skip

    # A stack file declaring the config the team wants: drift names what the CLI changed.
    prod = doc(f"{pipe}-prod", "production", pipeline=pipe)
    prod["pipeline"] = {"review_apps": {"repo": "acme/web", "automatic": True}}
    write_stack(tmp_path, prod)
    drift = cli("drift", str(production))
    assert drift.exit_code == 2 and f"pipeline {pipe} review_apps" in drift.output, drift.output
    assert "destroy stale after 5 days, wait for CI" in drift.output
    text = plan_text(cli, production)
    assert f"  ~ pipeline {pipe} review apps: by hand, destroy stale after 5 days, wait for CI" in (
        text
    ), text
    applied(cli, production)
    live = heroku.get(review)
    assert (live["automatic_review_apps"], live["destroy_stale_apps"], live["wait_for_ci"]) == (
        True, False, False
    )  # fmt: skip
