"""A saved plan is untrusted: an edited plan file is never applied, whatever was edited; a weak
secret cannot be guessed from it; an add-on plan Heroku does not sell fails at plan time."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import Cli, Heroku, converge, refusing_plan, stack_doc, unique_name, write_stack
from reliability_figures import record

from herokustack import planfile
from herokustack.planner import hash_key, secret_hash
from herokustack.session import plan_pepper

Doc = dict[str, Any]


@contextmanager
def writes_to(emu: Any) -> Iterator[list[str]]:
    seen: list[str] = []
    with emu.observing(lambda m, p, b: seen.append(f"{m} {p}") if m != "GET" else None):
        yield seen


@pytest.fixture()
def reviewed(cli: Cli, emu: Any, tmp_path: Path) -> tuple[str, Path, Path]:
    """A converged app, then a reviewed plan: scale web, upgrade Redis, add a config var."""
    name = unique_name("tp")
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    doc["formation"]["web"]["quantity"] = 3
    doc["addons"]["redis"]["plan"] = "heroku-redis:premium-0"
    doc["config"]["FEATURE_X"] = "on"
    write_stack(tmp_path, doc)
    saved = tmp_path / "plan.json"
    planned = cli("plan", str(path), "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    return name, path, saved


def _change(doc: Doc, resource: str) -> Doc:
    return next(c for c in doc["apps"][0]["changes"] if c["resource"] == resource)


def _set(resource: str, field: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        _change(doc, resource)[field] = value

    return edit


def _add_destroy(doc: Doc) -> None:
    other = copy.deepcopy(_change(doc, "addon"))
    other.update(action="destroy", addon_id="../../OTHER-APP", after=None, name="database")
    doc["apps"][0]["changes"].insert(0, other)


def _top(key: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: doc.__setitem__(key, value)


# Each edit, and a fragment of the one-line reason apply gives for refusing it.
TAMPERS: dict[str, tuple[Callable[[Doc], None], str]] = {
    "upgrade made a destroy": (
        _set("addon", "action", "destroy"),
        'change 1 (addon redis): action is "destroy" in the file, "update" now',
    ),
    "scale to 50": (
        _set("formation", "after", 50),
        "change 3 (formation web): after is 50 in the file, 3 now",
    ),
    "another app's add-on id": (
        _set("addon", "addon_id", "../../OTHER-APP"),
        'change 1 (addon redis): addon_id is "../../OTHER-APP" in the file',
    ),
    "an added destroy": (_add_destroy, "change 1 (addon redis): action is"),
    "a dropped change": (
        lambda doc: doc["apps"][0]["changes"].pop(),
        "2 changes in the file, 3 now",
    ),
    "another value": (
        _set("config", "after", "off"),
        'change 2 (config FEATURE_X): after is "off" in the file, "on" now',
    ),
    "another app": (
        lambda doc: doc["apps"][0].update(app="someone-elses-app"),
        "someone-elses-app: no fingerprint of its live state in the plan",
    ),
    "allow_destroy added": (_top("allow_destroy", ["redis"]), "its signature does not match"),
    "exit code": (_top("exit_code", 2), "its signature does not match"),
    "salt": (_top("salt", "0" * 32), "or its salt or target was edited"),
    "signature": (_top("signature", "0" * 64), "its signature does not match"),
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_an_edited_plan_file_is_refused_and_nothing_is_written(
    tamper: str, reviewed: tuple[str, Path, Path], cli: Cli, emu: Any, heroku: Heroku
):
    name, _path, saved = reviewed
    edit, reason = TAMPERS[tamper]
    doc = json.loads(saved.read_text())
    edit(doc)
    edited = saved.with_name("edited.json")
    edited.write_text(json.dumps(doc))
    before = (heroku.formation(name), heroku.addons(name).keys(), heroku.config(name))

    with writes_to(emu) as writes:
        result = cli("apply", str(edited))
    record("tampered saved plans", refused=int(result.exit_code == 1), writes=len(writes),
           tracebacks=int("Traceback" in result.output))  # fmt: skip
    assert result.exit_code == 1, result.output
    assert writes == []
    assert "nothing was changed" in result.stderr and reason in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert (heroku.formation(name), heroku.addons(name).keys(), heroku.config(name)) == before

    applied = cli("apply", str(saved))  # the reviewed plan itself still applies
    assert applied.exit_code == 0, applied.output
    assert heroku.formation(name)["web"][0] == 3


def test_a_plan_made_with_another_key_is_refused(
    reviewed: tuple[str, Path, Path], cli: Cli, emu: Any
):
    _name, _path, saved = reviewed
    with writes_to(emu) as writes:
        result = cli("apply", str(saved), env={"HEROKUSTACK_PLAN_KEY": "another-key"})
    assert result.exit_code == 1 and writes == []
    assert "made with another key than this apply has" in result.stderr
    assert "give both the same HEROKUSTACK_PLAN_KEY" in result.stderr


WORDS = [f"{w}{n}" for w in ("password", "sunshine", "dragon", "letmein", "qwerty") for n in
         range(2000)]  # fmt: skip
WEAK = "sunshine12"


def _guesses(salt: str, name: str) -> Iterator[tuple[str, set[str]]]:
    """What an attacker with only the file can compute for each word: the format-1 hash, and
    keyed hashes under every key they could know (none, the salt, the emulator's public key)."""
    keys = [hash_key(salt, b""), salt.encode(), hash_key(salt, plan_pepper(""))]
    for word in WORDS:
        digests = {hashlib.sha256(f"{salt}\0{name}\0{word}".encode()).hexdigest()}
        digests |= {secret_hash(k, name, word) for k in keys}
        digests |= {hmac.new(k, f"config.{name}\0{json.dumps(word)}".encode(), "sha256")
                    .hexdigest() for k in keys}  # fmt: skip
        yield word, digests


def test_a_dictionary_attack_on_a_weak_secret_in_a_plan_file_fails(
    cli: Cli, emu: Any, tmp_path: Path
):
    """The secret is in the word list; 10,000 guesses × 7 constructions find nothing, while the
    same search with the key that apply has finds it at once (so the search itself works)."""
    name = unique_name("da")
    path = write_stack(tmp_path, stack_doc(name))
    saved = tmp_path / "plan.json"
    assert WEAK in WORDS
    assert cli("plan", str(path), "--out", str(saved), env={"APP_SECRET": WEAK}).exit_code == 0
    doc = json.loads(saved.read_text())
    found_in_file = {c["value_hash"] for c in doc["apps"][0]["changes"] if c["value_hash"]}
    found_in_file |= {d for f in doc["live"] for d in f["parts"].values()}
    assert found_in_file

    cracked = [w for w, digests in _guesses(doc["salt"], "SECRET_KEY") if digests & found_in_file]
    assert cracked == []

    key = hash_key(doc["salt"], plan_pepper(emu.api_key))  # what apply (and Heroku) hold
    with_key = [w for w in WORDS if secret_hash(key, "SECRET_KEY", w) in found_in_file]
    assert with_key == [WEAK]


def test_an_add_on_plan_heroku_does_not_sell_fails_at_plan_time(cli: Cli, emu: Any, tmp_path: Path):
    name = unique_name("np")
    doc = stack_doc(name)
    doc["addons"]["redis"]["plan"] = "heroku-redis:mega-9000"
    doc["addons"]["cache"] = {"plan": "heroku-rediss:mini", "as": "CACHE"}
    path = write_stack(tmp_path, doc)
    with writes_to(emu) as writes:
        for command in (["plan"], ["apply", "--auto-approve"]):
            result = cli(*command, str(path))
            assert result.exit_code == 1, result.output
            lines = result.stderr.strip().splitlines()
            assert lines[0].startswith(
                f"error: {path}: addons.redis.plan: heroku-redis has no plan 'mega-9000'"
            ), lines
            assert "(its plans: mini, premium-0" in lines[0]
            assert lines[1] == (
                f"{path}: addons.cache.plan: Heroku has no add-on service 'heroku-rediss'; "
                "did you mean heroku-redis?"
            )
    assert writes == []


def test_a_create_heroku_refuses_comes_before_any_destroy(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    """Logging moves from papertrail to another plan while an old add-on is removed: the
    refused create stops the app before the destroy, so nothing is lost."""
    name = unique_name("od")
    doc = stack_doc(name)
    doc["addons"]["errors"] = {"plan": "sentry:f1"}
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    del doc["addons"]["errors"]
    doc["addons"]["redis"]["plan"] = "heroku-redis:premium-0"
    write_stack(tmp_path, doc)

    with refusing_plan(emu, name, "heroku-redis:premium-0"):
        result = cli("apply", str(path), "--auto-approve")
    assert result.exit_code == 1
    report = result.stdout[result.stdout.index(f"{name}: FAILED") :]
    assert "- add-on" in report[report.index("  not done:") :]
    assert "sentry" in heroku.addons(name)  # not destroyed
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert "sentry" not in heroku.addons(name)
    assert heroku.addons(name)["heroku-redis"]["plan"]["name"] == "heroku-redis:premium-0"


def test_the_signature_covers_every_byte_that_matters():
    doc: Doc = {"format_version": 2, "apps": [], "salt": "s"}
    key = b"k" * 32
    signed = planfile.sign(dict(doc), key)
    parsed = planfile.PlanDocument.model_construct(signature=signed["signature"])
    parsed._raw = signed
    assert planfile.signed_by(parsed, key)
    assert not planfile.signed_by(parsed, b"x" * 32)
    parsed._raw = {**signed, "salt": "t"}
    assert not planfile.signed_by(parsed, key)
