"""The client against what it must not trust: ids that are paths, 404s that are not Heroku's
"no such app", 500s and bodies cut short (retried), answers that are not JSON, a long
Retry-After (capped and told). Over real HTTP: the emulator, or a spoiling proxy before it."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from e2e_helpers import Cli, Heroku, stack_doc, unique_name, write_stack
from fault_proxy import FaultProxy, Spoil, always, once
from hypothesis import given
from hypothesis import strategies as st

from herokustack.client import ID_FORMS, ApiError, HerokuClient, InvalidIdError, path_segment
from herokustack.emulator import EmulatorServer
from herokustack.emulator.models import ApiError as Refusal
from herokustack.emulator.responses import UNKNOWN_ROUTE
from herokustack.resources import read_app

CAP = {"HEROKUSTACK_MAX_RETRY_AFTER": "0.05"}  # Retry-After waits stay short in tests


class Seen:
    """The requests the emulator was asked (its observing hook); optionally refusing some."""

    def __init__(self, refuse: Callable[[str, str], Refusal | None] | None = None) -> None:
        self.requests: list[tuple[str, str]] = []
        self.refuse = refuse
        self.lock = threading.Lock()

    def __call__(self, method: str, path: str, body: Any) -> None:
        with self.lock:
            self.requests.append((method, path))
        refusal = self.refuse(method, path) if self.refuse else None
        if refusal is not None:
            raise refusal

    def count(self, method: str, path: str) -> int:
        return self.requests.count((method, path))


def refuse_once(method: str, path: str, refusal: Refusal) -> Callable[[str, str], Refusal | None]:
    done: list[bool] = []

    def refuse(m: str, p: str) -> Refusal | None:
        if done or (m, p) != (method, path):
            return None
        done.append(True)
        return refusal

    return refuse


def new_apps(emu: EmulatorServer, tmp_path: Path, count: int) -> list[tuple[str, Path]]:
    """Apps that exist (straight in the emulator's store) and stack files declaring them."""
    apps = []
    for _ in range(count):
        name = unique_name()
        emu.backend.create_app({"name": name, "region": "us", "stack": "heroku-24"})
        apps.append((name, write_stack(tmp_path, stack_doc(name))))
    return apps


def one_line(text: str) -> str:
    assert text.count("\n") == 1 and text.startswith("error: "), text
    assert "Traceback" not in text
    return text.strip()


# --- ids in URLs -------------------------------------------------------------------------------

SCHEDULE = str(uuid.uuid4())
PATH_IDS: list[tuple[str, Callable[[HerokuClient], Any]]] = [
    ("add-on id", lambda c: c.destroy_addon("some-app", "../../other-app")),
    ("add-on id", lambda c: c.upgrade_addon("some-app", "../../other-app", "heroku-redis:mini")),
    ("database id", lambda c: c.read_schedules("../../apps/other-app")),
    ("database id", lambda c: c.schedule_backups("x/../y", "DATABASE_URL", 2, "UTC")),
    ("backup schedule uuid", lambda c: c.unschedule_backups(SCHEDULE, "../../x")),
    ("app name", lambda c: read_app(c, "../account")),
    ("app name", lambda c: c.update_config("a/b", {"X": "1"})),
    ("app name", lambda c: c.scale("some-app?x=1", [{"type": "web", "quantity": 1}])),
]


@pytest.mark.parametrize(("role", "call"), PATH_IDS)
def test_an_id_that_is_not_herokus_is_refused_before_any_request(
    emu: EmulatorServer, role: str, call: Callable[[HerokuClient], Any]
):
    seen = Seen()
    with emu.observing(seen), pytest.raises(InvalidIdError) as caught:
        call(HerokuClient(emu.url, emu.api_key))
    assert seen.requests == []
    message = str(caught.value)
    assert message.startswith(f"{role} '") and "is not" in message and "\n" not in message


@given(st.sampled_from(sorted(ID_FORMS)), st.text())
def test_a_path_segment_is_one_segment_or_refused(role: str, value: str):
    try:
        segment = path_segment(value, role)
    except InvalidIdError:
        return
    assert "/" not in segment and "?" not in segment and segment not in (".", "..")
    assert unquote(segment) == value


def test_an_edited_addon_id_in_a_saved_plan_deletes_nothing(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name, victim = unique_name(), unique_name("victim")
    emu.backend.create_app({"name": victim})
    doc = stack_doc(name, addons={"logging": {"plan": "papertrail:choklad"}})
    doc["formation"] = {}
    path = write_stack(tmp_path, doc)
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    doc["addons"] = {}
    write_stack(tmp_path, doc)
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0
    plan = json.loads(saved.read_text())
    (destroy,) = [c for c in plan["apps"][0]["changes"] if c["action"] == "destroy"]
    destroy["addon_id"] = f"../../{victim}"
    saved.write_text(json.dumps(plan))

    seen = Seen()
    with emu.observing(seen):
        result = cli("apply", str(saved))
    assert result.exit_code == 1
    assert not [r for r in seen.requests if r[0] != "GET"]
    assert heroku.exists(victim) and "papertrail" in heroku.addons(name)
    assert "Traceback" not in result.output


# --- 404, 401, 403 are not "no such app" ----------------------------------------------------


def test_plan_at_a_wrong_api_path_names_the_url_and_proposes_nothing(cli: Cli, tmp_path: Path):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))
    wrong = f"{cli.emu.url}/nope"
    result = cli("plan", str(path), "--api-url", wrong, api=False)
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert f"{wrong}/" in line and "HTTP 404" in line and "(check --api-url)" in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        (401, None),
        (403, Refusal(403, "forbidden", "You do not have access to the app.")),
        (404, Refusal(404, "not_found", UNKNOWN_ROUTE)),
        (404, Refusal(404, "not_found", "Couldn't find that pipeline.", "pipeline")),
    ],
)
def test_answers_that_are_not_no_such_app_are_errors(
    cli: Cli, emu: EmulatorServer, tmp_path: Path, status: int, refusal: Refusal | None
):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))
    env = {"HEROKU_API_KEY": "not-the-key-4711"} if refusal is None else {}
    seen = Seen(lambda m, p: refusal if p == f"/apps/{name}" else None)
    with emu.observing(seen):
        result = cli("plan", str(path), env=env)
    assert result.exit_code == 1, result.output
    assert f"HTTP {status}" in one_line(result.stderr)
    assert result.stdout == ""


def test_a_delete_404_is_already_gone_only_when_it_is_the_addons(emu: EmulatorServer):
    client = HerokuClient(emu.url, emu.api_key, retries=0)
    name = unique_name()
    emu.backend.create_app({"name": name})
    addon = client.create_addon(name, "papertrail:choklad", "PAPERTRAIL", {})
    client.destroy_addon(name, addon.id)
    client.destroy_addon(name, addon.id)  # Heroku's 404 for that add-on: already gone
    for refusal in (
        Refusal(404, "not_found", "Couldn't find that app.", "app"),
        Refusal(404, "not_found", UNKNOWN_ROUTE),
    ):
        with emu.observing(Seen(lambda m, p, r=refusal: r)), pytest.raises(ApiError):
            client.destroy_addon(name, addon.id)


# --- retries ---------------------------------------------------------------------------------


def test_one_get_answered_500_is_retried_in_a_multi_app_plan(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
):
    apps = new_apps(emu, tmp_path, 3)
    target = f"/apps/{apps[1][0]}/config-vars"
    seen = Seen(refuse_once("GET", target, Refusal(500, "internal_server_error", "Oops.")))
    with emu.observing(seen):
        result = cli("plan", *(str(p) for _, p in apps))
    assert result.exit_code == 0, result.output
    assert seen.count("GET", target) == 2
    assert all(name in result.stdout for name, _ in apps)


def test_a_body_cut_short_once_is_read_again(cli: Cli, emu: EmulatorServer, tmp_path: Path):
    apps = new_apps(emu, tmp_path, 2)
    spoiler = once("GET", f"/apps/{apps[0][0]}/addons", Spoil(cut=True))
    with FaultProxy(emu.url, spoiler) as proxy:
        result = cli("plan", *(str(p) for _, p in apps), "--api-url", proxy.url, api=False)
    assert result.exit_code == 0, result.output
    assert all(name in result.stdout for name, _ in apps)


def test_a_body_always_cut_short_is_one_line(cli: Cli, emu: EmulatorServer, tmp_path: Path):
    ((name, path),) = new_apps(emu, tmp_path, 1)
    with FaultProxy(emu.url, always("GET", f"/apps/{name}", Spoil(cut=True))) as proxy:
        result = cli("plan", str(path), "--api-url", proxy.url, api=False)
    assert result.exit_code == 1
    assert f"GET apps/{name}: the answer broke off from" in one_line(result.stderr)


# --- answers that are not JSON, or not Heroku's ----------------------------------------------

HTML = b"<html><body>Bad gateway, try later</body></html>" * 20


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (
            Spoil(200, HTML, {"Content-Type": "text/html"}),
            f"answer is not JSON (text/html, {len(HTML)} bytes)",
        ),
        (Spoil(200, b"[" * 100_000), "answer is not JSON (no Content-Type, 100000 bytes)"),
        (Spoil(200, b"[]"), "answer is not a JSON object (a list)"),
        (Spoil(200, b'{"id": "x"}'), "answer is not what Heroku answers (no 'name' field)"),
        (Spoil(200, b'{"name": 1, "id": []}'), "answer is not what Heroku answers"),
    ],
)
def test_an_answer_that_is_not_herokus_is_one_line(
    cli: Cli, emu: EmulatorServer, tmp_path: Path, spoil: Spoil, expected: str
):
    ((name, path),) = new_apps(emu, tmp_path, 1)
    with FaultProxy(emu.url, always("GET", f"/apps/{name}", spoil)) as proxy:
        result = cli("plan", str(path), "--api-url", proxy.url, api=False)
    assert result.exit_code == 1
    assert one_line(result.stderr).startswith(f"error: GET apps/{name}: {expected}")
    assert result.stdout == ""


def test_apply_reports_what_was_done_when_an_answer_is_not_json(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))
    spoiler = once("POST", f"/apps/{name}/addons", Spoil(body=HTML, headers={"Content-Type": "x"}))
    with FaultProxy(emu.url, spoiler) as proxy:
        result = cli("apply", str(path), "--auto-approve", "--api-url", proxy.url, api=False)
    assert result.exit_code == 1
    assert f"{name}: FAILED at add-ons" in result.stdout and "  not done:" in result.stdout
    assert "answer is not JSON" in result.stdout and "Traceback" not in result.output
    again = cli("apply", str(path), "--auto-approve")
    assert again.exit_code == 0, again.output
    assert len(heroku.get(f"/apps/{name}/addons")) == 3  # the spoilt one was not made twice


def test_a_body_over_the_limit_is_not_read(emu: EmulatorServer):
    for _ in range(3):
        emu.backend.create_app({"name": unique_name()})
    client = HerokuClient(emu.url, emu.api_key, max_body=500)
    with pytest.raises(ApiError, match=r"^GET apps: answer is larger than allowed \(500 bytes\)"):
        client.get_list("apps")


# --- Retry-After -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_a_long_retry_after_is_capped_and_told(
    cli: Cli, emu: EmulatorServer, tmp_path: Path, status: int
):
    ((name, path),) = new_apps(emu, tmp_path, 1)
    spoil = Spoil(status, b'{"id": "rate_limit", "message": "Wait."}', {"Retry-After": "100"})
    with FaultProxy(emu.url, once("GET", f"/apps/{name}", spoil)) as proxy:
        result = cli("plan", str(path), "--api-url", proxy.url, api=False, env=CAP)
    assert result.exit_code == 0, result.output
    told = "Heroku asked to wait 100 s (Retry-After); waiting 0.05 s (HEROKUSTACK_MAX_RETRY_AFTER)…"
    assert told in result.stderr


def test_a_post_answered_429_waits_the_capped_retry_after_then_sends_again(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name = unique_name()
    doc = stack_doc(name, addons={}, formation={})
    path = write_stack(tmp_path, doc)
    spoil = Spoil(429, b'{"id": "rate_limit", "message": "Slow down."}', {"Retry-After": "100"})
    seen = Seen()
    with FaultProxy(emu.url, once("POST", "/apps", spoil)) as proxy, emu.observing(seen):
        args = ("apply", str(path), "--auto-approve", "--api-url", proxy.url)
        result = cli(*args, api=False, env=CAP)
    assert result.exit_code == 0, result.output
    assert "Heroku asked to wait 100 s (Retry-After); waiting 0.05 s" in result.stderr
    assert seen.count("POST", "/apps") == 1 and heroku.exists(name)


def test_a_bad_retry_after_cap_is_one_line(cli: Cli, tmp_path: Path):
    path = write_stack(tmp_path, stack_doc(unique_name()))
    result = cli("plan", str(path), env={"HEROKUSTACK_MAX_RETRY_AFTER": "soon"})
    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        "error: HEROKUSTACK_MAX_RETRY_AFTER: not a number of seconds from 0 to 86400: 'soon'"
    )
