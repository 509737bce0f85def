"""Fingerprints of live state: a change to a part the plan touches is found and named; other
changes, and none, are not; values never appear in a fingerprint."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from herokustack.facts import LiveAppInfo, LiveProcess, LiveState
from herokustack.planfile import LiveFingerprint, changed_parts, live_parts, stale_message
from herokustack.planner import Change, hash_key

KEY = hash_key("0123456789abcdef", b"unit-test pepper")
names = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
keys = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
values = st.text(min_size=1, max_size=20)


def state(formation: dict[str, int], config: dict[str, str], exists: bool = True) -> LiveState:
    if not exists:
        return LiveState(name="app1")
    info = LiveAppInfo(
        name="app1", id="i", region="us", stack="heroku-24", build_stack="heroku-24",
        maintenance=False,
    )  # fmt: skip
    procs = {t: LiveProcess(type=t, quantity=q, size="standard-1x") for t, q in formation.items()}
    return LiveState(name="app1", app=info, formation=procs, config=config)


def recorded(live: LiveState) -> LiveFingerprint:
    return LiveFingerprint(app="app1", exists=live.exists, parts=live_parts(live, KEY))


def touching(resource: Any, name: str) -> Change:
    return Change(app="app1", action="update", resource=resource, name=name)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(names, st.integers(0, 100), min_size=1, max_size=4),
    st.dictionaries(keys, values, min_size=1, max_size=4),
    st.data(),
)
def test_a_changed_touched_part_is_named_and_nothing_else(
    formation: dict[str, int], config: dict[str, str], data: st.DataObject
):
    before = state(formation, config)
    ptype = data.draw(st.sampled_from(sorted(formation)))
    key = data.draw(st.sampled_from(sorted(config)))
    new_value = data.draw(values.filter(lambda v: v != config[key]))
    after = state({**formation, ptype: formation[ptype] + 1}, {**config, key: new_value})
    plan = [touching("config", key), touching("formation", ptype)]
    now = live_parts(after, KEY)

    assert changed_parts(recorded(before), now, plan) == [f"config.{key}", f"formation.{ptype}"]
    assert changed_parts(recorded(before), live_parts(before, KEY), plan) == []
    untouched = [touching("maintenance", "app1")]
    assert changed_parts(recorded(before), now, untouched) == []
    parts = recorded(before).parts  # names and keyed digests only, never a value
    assert set(parts) == {"app", "team", "maintenance"} | {f"formation.{t}" for t in formation} | {
        f"config.{k}" for k in config
    }
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in parts.values())
    assert (
        live_parts(before, hash_key("0123456789abcdef", b"another pepper"))[f"config.{key}"]
        != parts[f"config.{key}"]
    )


def test_created_or_deleted_app_is_named():
    absent, present = state({}, {}, exists=False), state({"web": 1}, {"A": "1"})
    create = [Change(app="app1", action="create", resource="app", name="app1")]
    parts = changed_parts(recorded(absent), live_parts(present, KEY), create)
    assert parts == ["app"]
    gone = changed_parts(recorded(present), live_parts(absent, KEY), [touching("formation", "web")])
    assert stale_message("app1", gone) == (
        "app1: the app was created, deleted or moved (region, stack) since the plan was made"
    )
