"""App webhooks (`[[webhooks]]`): create, update in place, remove, plan again empty; read only
for apps that declare them; secrets (a URL's token, `secret`, `authorization`) in no output and
no saved plan; drift and import; validation; the emulator's answers; and the official CLI
(`heroku webhooks ...`) sees what herokustack applied, its changes show as drift."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomli
from e2e_helpers import (
    Cli,
    Heroku,
    assert_costs_nothing_undeclared,
    assert_plan_empty,
    plan_requests,
    unique_name,
    write_stack,
)
from official_heroku import installed, run_heroku_batch

from herokustack.emulator import EmulatorServer
from herokustack.emulator.models import webhooks as emulated
from herokustack.resources import webhooks

TOKEN = "Zq8xW3mN5vR7tY2pL4kJ9hG1"  # in the URL from the environment
HOOK_URL = f"https://hooks.example.com/services/T0/B0/{TOKEN}"
WEBHOOK_SECRET = "whsec-never-shown-5f2a9c81d7e34b60"
WEBHOOK_AUTH = "Bearer auth-never-shown-0c4e8a1f77d2"
ENV = {"HOOK_URL": HOOK_URL, "WEBHOOK_SECRET": WEBHOOK_SECRET, "WEBHOOK_AUTH": WEBHOOK_AUTH}
CI_URL = "https://ci.example.com/heroku"
FORMATS = ("text", "json", "markdown")
SECRETS = {"secret": {"from_env": "WEBHOOK_SECRET"}, "authorization": {"from_env": "WEBHOOK_AUTH"}}


def doc(name: str, hooks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"app": {"name": name, "environment": "staging"}}
    if hooks is not None:
        out["webhooks"] = hooks
    return out


def ci_hook(**fields: Any) -> dict[str, Any]:
    return {"url": CI_URL, "include": ["api:release"], **fields}


def env_hook(**fields: Any) -> dict[str, Any]:
    return {"url": {"from_env": "HOOK_URL"}, "include": ["api:build"], **SECRETS, **fields}


def live(heroku: Heroku, app: str) -> dict[str, dict[str, Any]]:
    return {w["url"]: w for w in heroku.get(f"/apps/{app}/webhooks")}


def add_by_hand(heroku: Heroku, app: str, url: str, include: list[str], level: str) -> str:
    body = {"url": url, "include": include, "level": level}
    return str(heroku.post(f"/apps/{app}/webhooks", body)["id"])


def plan_empty(cli: Cli, path: Path, env: dict[str, str | None] | None = None) -> None:
    result = cli("plan", str(path), "--detailed-exitcode", env=env)
    assert result.exit_code == 0, result.output
    assert "No changes" in result.stdout


def test_create_update_in_place_remove_and_plan_again_empty(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("wh")
    path = write_stack(tmp_path, doc(name, [ci_hook(level="sync"), env_hook()]))
    plan = cli("plan", str(path), env=ENV)
    assert plan.exit_code == 0, plan.output
    assert f"  + webhook {CI_URL}: api:release (sync)\n" in plan.output
    assert "  + webhook https://hooks.example.com/… (HOOK_URL): api:build (notify)" in plan.output
    assert "# secret, authorization: sent at creation only" in plan.output
    assert cli("apply", str(path), "--auto-approve", env=ENV).exit_code == 0
    hooks = live(heroku, name)
    assert {u: (w["include"], w["level"]) for u, w in hooks.items()} == {
        CI_URL: (["api:release"], "sync"),
        HOOK_URL: (["api:build"], "notify"),
    }
    assert emu.backend.webhook_secret(name, HOOK_URL) == (WEBHOOK_SECRET, WEBHOOK_AUTH)
    plan_empty(cli, path, {"HOOK_URL": HOOK_URL})  # the secrets are not needed any more

    changed = [ci_hook(include=["api:release", "api:dyno"]), env_hook(level="sync")]
    path = write_stack(tmp_path, doc(name, changed))
    plan = cli("plan", str(path), env=ENV)
    assert f"~ webhook {CI_URL}: include api:release → api:dyno, api:release; level sync → " in (
        plan.output
    )
    assert "~ webhook https://hooks.example.com/… (HOOK_URL): level notify → sync" in plan.output
    assert "secret, authorization: set at creation; not comparable" in plan.output
    assert "2 to change" in plan.output
    seen: list[tuple[str, str, Any]] = []
    rotated = {**ENV, "WEBHOOK_SECRET": "a-new-secret-not-sent"}
    with emu.observing(lambda method, p, body: seen.append((method, p, body))):
        assert cli("apply", str(path), "--auto-approve", env=rotated).exit_code == 0
    writes = sorted((m, b["level"]) for m, p, b in seen if "/webhooks" in p and m != "GET")
    assert writes == [("PATCH", "notify"), ("PATCH", "sync")]  # in place: no POST, no DELETE
    assert all(set(b) == {"include", "level"} for m, _, b in seen if m == "PATCH")
    after = live(heroku, name)
    assert {u: w["id"] for u, w in after.items()} == {u: w["id"] for u, w in hooks.items()}
    assert after[CI_URL]["include"] == ["api:dyno", "api:release"]
    assert emu.backend.webhook_secret(name, HOOK_URL) == (WEBHOOK_SECRET, WEBHOOK_AUTH)
    plan_empty(cli, path, ENV)

    path = write_stack(tmp_path, doc(name, [ci_hook(include=["api:release", "api:dyno"])]))
    plan = cli("plan", str(path))
    assert "  - webhook https://hooks.example.com/… (id " in plan.output
    assert TOKEN not in plan.output
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert list(live(heroku, name)) == [CI_URL]
    assert_plan_empty(cli, path)

    path = write_stack(tmp_path, doc(name, []))  # `webhooks = []`: the app has none
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert live(heroku, name) == {}
    assert_plan_empty(cli, path)


def test_secrets_are_in_no_output_and_no_saved_plan(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("ws")
    path = write_stack(tmp_path, doc(name, [env_hook()]))
    saved = tmp_path / "plan.json"
    shown = {fmt: cli("plan", str(path), "--format", fmt, env=ENV) for fmt in FORMATS}
    assert all(result.exit_code == 0 for result in shown.values())
    line = "+ webhook https://hooks.example.com/… (HOOK_URL): api:build (notify)"
    assert line in shown["text"].stdout and line in shown["markdown"].stdout
    [change] = [
        c for c in json.loads(shown["json"].stdout)["apps"][0]["changes"] if c["name"] != name
    ]
    assert (change["resource"], change["action"]) == ("webhook", "create")
    assert change["after"] == {"include": ["api:build"], "level": "notify"}
    assert cli("plan", str(path), "--out", str(saved), env=ENV).exit_code == 0
    data = json.loads(saved.read_text())
    [created] = [c for c in data["apps"][0]["changes"] if c["resource"] == "webhook"]
    assert created["params"]["secret_env"] == "WEBHOOK_SECRET"
    assert re.fullmatch(r"[0-9a-f]{64}", created["params"]["secret_hash"])
    applied = cli("apply", str(saved), env=ENV)
    assert applied.exit_code == 0, applied.output
    assert emu.backend.webhook_secret(name, HOOK_URL) == (WEBHOOK_SECRET, WEBHOOK_AUTH)
    heroku.patch(f"/apps/{name}/webhooks/{live(heroku, name)[HOOK_URL]['id']}", {"level": "sync"})
    for fmt in FORMATS:
        assert cli("drift", str(path), "--format", fmt, env=ENV).exit_code == 2
    assert cli("plan", str(path), "--out", str(tmp_path / "update.json"), env=ENV).exit_code == 0
    out = tmp_path / "imported" / f"{name}.toml"
    assert cli("import", name, "--out", str(out)).exit_code == 0
    assert cli("apply", str(path), "--auto-approve", env=ENV).exit_code == 0

    files = [saved, tmp_path / "update.json", out]
    everything = "\n".join(cli.outputs).encode() + b"".join(f.read_bytes() for f in files)
    for secret in (TOKEN, WEBHOOK_SECRET, WEBHOOK_AUTH):
        assert secret.encode() not in everything, secret
    assert b"hooks.example.com/\xe2\x80\xa6 (HOOK_URL)" in everything  # the masked URL is shown


def test_a_secret_changed_since_the_saved_plan_or_unset_creates_nothing(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("wc")
    heroku.post("/apps", {"name": name})
    path = write_stack(tmp_path, doc(name, [env_hook()]))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved), env=ENV).exit_code == 0
    other = cli("apply", str(saved), env={**ENV, "WEBHOOK_SECRET": "changed-in-between"})
    assert other.exit_code == 1
    assert "not the plan the stack files and live state give now" in other.output
    assert "changed-in-between" not in other.output and WEBHOOK_SECRET not in other.output

    unset = cli("plan", str(path), "--detailed-exitcode", env={**ENV, "WEBHOOK_AUTH": None})
    assert unset.exit_code == 2
    assert "! webhook https://hooks.example.com/… (HOOK_URL): api:build (notify)" in unset.output
    assert "WEBHOOK_AUTH not set: a webhook's secrets are only sent at creation" in unset.output
    assert (
        cli("apply", str(path), "--auto-approve", env={**ENV, "WEBHOOK_AUTH": None}).exit_code == 0
    )
    assert live(heroku, name) == {}

    no_url = cli("plan", str(path), env={**ENV, "HOOK_URL": None})
    assert no_url.exit_code == 1
    assert f"{path}: webhooks[0].url: environment variable HOOK_URL is not set" in no_url.output
    assert "Traceback" not in no_url.output


def test_a_saved_plan_is_stale_once_a_webhook_changes_by_hand(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("wt")
    path = write_stack(tmp_path, doc(name, [ci_hook()]))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    path = write_stack(tmp_path, doc(name, [ci_hook(level="sync")]))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0
    add_by_hand(heroku, name, "https://elsewhere.example.com/h", ["dyno"], "notify")
    result = cli("apply", str(saved))
    assert result.exit_code == 1
    assert f"{name}: webhooks changed since the plan was made" in result.stderr


def test_plan_reads_webhooks_only_for_apps_that_declare_them(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    plain, hooked = unique_name("wn"), unique_name("wd")
    paths = [write_stack(tmp_path, doc(plain)), write_stack(tmp_path, doc(hooked, [ci_hook()]))]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0

    both = plan_requests(cli, emu, *paths)
    assert [s for s in both if "/webhooks" in s] == [f"GET /apps/{hooked}/webhooks"]
    assert_costs_nothing_undeclared(cli, emu, paths[0], webhooks.KIND)


def test_drift_shows_missing_changed_and_undeclared_webhooks(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    declared, bare = unique_name("wa"), unique_name("wb")
    other = "https://other.example.com/hook"
    paths = [
        write_stack(tmp_path, doc(declared, [ci_hook(), ci_hook(url=other)])),
        write_stack(tmp_path, doc(bare)),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    assert cli("drift", *map(str, paths)).exit_code == 0
    hooks = live(heroku, declared)
    heroku.patch(f"/apps/{declared}/webhooks/{hooks[CI_URL]['id']}", {"level": "sync"})
    heroku.request("DELETE", f"/apps/{declared}/webhooks/{hooks[other]['id']}")
    added = add_by_hand(heroku, declared, HOOK_URL, ["api:app"], "notify")
    add_by_hand(heroku, bare, "https://bare.example.com/h", ["dyno"], "sync")
    drift = cli("drift", *map(str, paths))
    assert drift.exit_code == 2, drift.output
    assert (
        f"  ~ webhook {CI_URL}: live api:release (sync) → declared api:release (notify)\n"
        in drift.output
    )
    assert f"  - webhook {other}: declared api:release (notify), missing on Heroku" in drift.output
    assert (
        f"  + webhook https://hooks.example.com/… (id {added[:8]}): on Heroku (api:app (notify)), "
        "not declared  # apply removes it"
    ) in drift.output
    assert (
        "  + webhook https://bare.example.com/… (id " in drift.output
        and "on Heroku (dyno (sync)), not declared  # apply leaves it (webhooks not declared)"
        in drift.output
    )
    assert TOKEN not in drift.output
    assert_plan_empty(cli, paths[1])  # not declared: not managed


def test_import_writes_webhooks_with_a_secret_placeholder_and_plans_empty(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("wi")
    heroku.post("/apps", {"name": name})
    add_by_hand(heroku, name, CI_URL, ["api:release", "api:build"], "notify")
    add_by_hand(heroku, name, HOOK_URL, ["dyno"], "sync")
    out = tmp_path / f"{name}.toml"
    result = cli("import", name, "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert TOKEN not in text and TOKEN not in result.output
    assert "# secret: a placeholder (Heroku never returns it); sent only when a webhook is" in text
    assert "WEBHOOK_URL_2 to it" in text and "set before plan/apply: WEBHOOK_URL_2" in result.output
    assert tomli.loads(text)["webhooks"] == [
        {
            "url": CI_URL,
            "include": ["api:build", "api:release"],
            "level": "notify",
            "secret": {"from_env": "WEBHOOK_SECRET"},
        },
        {
            "url": {"from_env": "WEBHOOK_URL_2"},
            "include": ["dyno"],
            "level": "sync",
            "secret": {"from_env": "WEBHOOK_SECRET_2"},
        },
    ]
    plan_empty(cli, out, {"WEBHOOK_URL_2": HOOK_URL})  # no secret needed: both exist


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        (
            ci_hook(secret="s3cret-in-the-file"),
            'webhooks[0].secret: must be a table like { from_env = "WEBHOOK_SECRET" }: a secret '
            "is never written in a stack file",
        ),
        (
            ci_hook(include=["api:relase"]),
            "webhooks[0].include[0]: must be one of api:addon-attachment, api:addon, api:app, "
            "api:build, api:collaborator, api:domain, api:dyno, api:formation, api:release, "
            'api:sni-endpoint, dyno, got "api:relase"; did you mean `api:release`?',
        ),
        (ci_hook(level="snyc"), 'webhooks[0].level: must be notify or sync, got "snyc"'),
        (ci_hook(include=[]), 'webhooks[0].include: at least one entity, like "api:release"'),
        (ci_hook(url="ftp://x.example.com"), "webhooks[0].url: must be an http(s) URL like"),
        (
            env_hook(url={"from_env": "HOOK_URL", "optional": True}),
            "webhooks[0].url.optional: cannot be optional",
        ),
        (ci_hook(colour="red"), "webhooks[0].colour: unknown key; expected one of `url`"),
    ],
)
def test_validate_explains_bad_webhooks(cli: Cli, tmp_path: Path, hook: Any, message: str) -> None:
    path = write_stack(tmp_path, doc("bad-webhooks", [hook]))
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert message in result.output
    assert "s3cret-in-the-file" not in result.output
    assert "Traceback" not in result.output


def test_validate_refuses_a_url_declared_twice(cli: Cli, tmp_path: Path) -> None:
    hooks = [ci_hook(), ci_hook(include=["dyno"]), env_hook(), env_hook()]
    result = cli("validate", str(write_stack(tmp_path, doc("twice", hooks))), api=False)
    assert result.exit_code == 1
    assert f"webhooks[1].url: {CI_URL} is already webhooks[0].url" in result.output
    assert "webhooks[3].url: from_env HOOK_URL is already webhooks[2].url" in result.output


def test_the_emulator_answers_heroku_shaped_422s_and_keeps_secrets(heroku: Heroku) -> None:
    name = unique_name("we")
    heroku.post("/apps", {"name": name})
    url = f"{heroku.emu.url}/apps/{name}/webhooks"
    good = {"url": CI_URL, "include": ["api:release"], "level": "notify"}
    made = heroku.session.post(url, json=good, timeout=10)
    assert made.status_code == 201
    assert re.fullmatch(r"[0-9a-f]{60}", made.headers["Heroku-Webhook-Secret"])  # made up, once
    chosen = heroku.session.post(url, json={**good, "url": HOOK_URL, "secret": "mine"}, timeout=10)
    assert "Heroku-Webhook-Secret" not in chosen.headers
    assert not {"secret", "authorization"} & set(chosen.json())
    for body, words in (
        ({**good, "level": "often"}, "Level must be one of: notify, sync."),
        ({**good, "url": "https://x.example.com", "include": ["api:relase"]}, "unknown entity"),
        (good, "Url has already been taken"),
        ({**good, "url": "not a url"}, "Url must be a valid http or https URL."),
    ):
        refused = heroku.session.post(url, json=body, timeout=10)
        assert refused.status_code == 422
        assert refused.json()["id"] == "invalid_params" and words in refused.json()["message"]
    made_id = made.json()["id"]
    other_id = made_id[:-1] + ("1" if made_id.endswith("0") else "0")
    missing = heroku.session.get(f"{url}/{other_id}", timeout=10)
    assert missing.status_code == 404 and missing.json()["id"] == "not_found"
    assert emulated.ENTITIES == webhooks.ENTITIES  # the two lists are one


@pytest.mark.skipif(not installed(), reason="the official heroku CLI is not installed")
def test_the_official_cli_sees_and_changes_what_herokustack_applied(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("wo")
    other = "https://other.example.com/hook"
    path = write_stack(tmp_path, doc(name, [ci_hook(level="sync"), ci_hook(url=other)]))
    assert cli("apply", str(path), "--auto-approve", env=ENV).exit_code == 0
    ids = {u: w["id"] for u, w in live(heroku, name).items()}
    added = "https://added.example.com/h"
    home = tmp_path / "home"
    home.mkdir()
    listed, info, add, update, remove = run_heroku_batch(
        emu,
        [
            ["webhooks", "-a", name],
            ["webhooks:info", ids[CI_URL], "-a", name],
            ["webhooks:add", "-i", "api:dyno,api:app", "-l", "notify", "-u", added, "-a", name],
            [
                "webhooks:update",
                ids[CI_URL],
                "-i",
                "api:release",
                "-l",
                "notify",
                "-u",
                CI_URL,
                "-a",
                name,
            ],
            ["webhooks:remove", ids[other], "-a", name],
        ],
        home,
    )
    for done in (listed, info, add, update, remove):
        assert done.returncode == 0, done.stderr
    assert ids[CI_URL] in listed.stdout and CI_URL in listed.stdout and other in listed.stdout
    assert re.search(rf"{re.escape(CI_URL)}\s+api:release\s+sync", listed.stdout)
    assert re.search(r"Level:\s+sync", info.stdout) and re.search(
        r"Include:\s+api:release", info.stdout
    )
    assert "Webhooks Signing Secret" in add.stdout  # Heroku made one up, as no -s was given

    drift = cli("drift", str(path)).output
    assert f"~ webhook {CI_URL}: live api:release (notify) → declared api:release (sync)" in drift
    assert f"- webhook {other}: declared api:release (notify), missing on Heroku" in drift
    assert "+ webhook https://added.example.com/… (id " in drift
    assert "api:app, api:dyno (notify)), not declared  # apply removes it" in drift
    assert cli("apply", str(path), "--auto-approve", env=ENV).exit_code == 0
    assert sorted(live(heroku, name)) == sorted([CI_URL, other])
    assert_plan_empty(cli, path)
