"""Properties of the stack-file loader: round trips, and no input ever gives a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herokustack.errors import StackFileError
from herokustack.stackfile import (
    DEFAULT_ATTACHMENTS,
    DYNO_SIZES,
    AddonSpec,
    AppSpec,
    Backups,
    ChecksSpec,
    FromEnv,
    ProcessSpec,
    StackFile,
    Suppression,
    attachment_name,
    check_file,
    load_stack,
    owned_config_vars,
    scan_key_lines,
    to_toml,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PLANS = {
    "heroku-postgresql": ["essential-0", "standard-0", "premium-0"],
    "heroku-redis": ["mini", "premium-0"],
    "papertrail": ["choklad"],
    "sentry": ["f1"],
    "scout": ["chair"],
    "memcachier": ["dev"],
}
TIERS = {"eco": ["eco"], "basic": ["basic"], "professional": list(DYNO_SIZES[2:])}
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo"]

names = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
var_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
plain_text = st.text(max_size=30)


@st.composite
def formations(draw: st.DrawFn) -> dict[str, ProcessSpec]:
    sizes = TIERS[draw(st.sampled_from(sorted(TIERS)))]
    most = 1 if sizes[0] in ("eco", "basic") else 100
    procs = draw(st.dictionaries(names, st.just(None), max_size=4))
    return {
        name: ProcessSpec(
            quantity=draw(st.integers(0, most)),
            size=draw(st.sampled_from(sizes)).upper() if draw(st.booleans()) else sizes[0],
        )
        for name in procs
    }


@st.composite
def addon_tables(draw: st.DrawFn) -> dict[str, AddonSpec]:
    addons: dict[str, AddonSpec] = {}
    used: set[str] = set()
    for local in draw(st.lists(names, unique=True, max_size=4)):
        service = draw(st.sampled_from(sorted(PLANS)))
        default = DEFAULT_ATTACHMENTS.get(service, service.upper())
        as_ = None if default not in used and draw(st.booleans()) else local.upper() + "_X"
        if as_ in used:
            continue
        backups = None
        if service == "heroku-postgresql" and draw(st.booleans()):
            at = f"{draw(st.integers(0, 23)):02d}:00"
            backups = Backups(at=at, timezone=draw(st.sampled_from(ZONES)))
        addon = AddonSpec(
            plan=f"{service}:{draw(st.sampled_from(PLANS[service]))}",
            as_=as_,
            backups=backups,
            protect=draw(st.none() | st.booleans()),
            config=draw(st.dictionaries(names, plain_text, max_size=2)),
        )
        addons[local] = addon
        used.add(attachment_name(local, addon))
    return addons


@st.composite
def stack_files(draw: st.DrawFn) -> StackFile:
    app = AppSpec(
        name=draw(st.from_regex(r"[a-z][a-z0-9-]{1,28}[a-z0-9]", fullmatch=True)),
        environment=draw(st.sampled_from(["production", "staging", "review", "development"])),
        region=draw(st.sampled_from(["us", "eu"])),
        stack=f"heroku-{draw(st.integers(10, 99))}",
        maintenance=draw(st.booleans()),
        prune_config=draw(st.booleans()),
    )
    addons = draw(addon_tables())
    draft = StackFile(app=app, addons=addons)
    owned = owned_config_vars(draft)
    values = plain_text | st.builds(FromEnv, from_env=var_names, optional=st.booleans())
    config = draw(st.dictionaries(var_names.filter(lambda v: v not in owned), values, max_size=5))
    ignore = st.builds(
        Suppression,
        id=st.from_regex(r"[A-Z]{1,3}[0-9]{1,4}", fullmatch=True),
        reason=st.text(min_size=1, max_size=20),
    )
    checks = ChecksSpec(ignore=draw(st.lists(ignore, max_size=2)))
    return StackFile(
        app=app, formation=draw(formations()), addons=addons, config=config, checks=checks
    )


@SETTINGS
@given(spec=stack_files())
def test_any_stack_file_dumped_to_toml_loads_back_equal(spec: StackFile) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stack.toml"
        path.write_text(to_toml(spec), encoding="utf-8")
        assert load_stack(path).spec == spec


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_never_give_a_traceback(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stack.toml"
        path.write_bytes(data)
        try:
            load_stack(path)
        except StackFileError as exc:
            assert exc.problems and all(p.startswith(f"{path}: ") for p in exc.problems)


KEYS = [
    "app",
    "name",
    "environment",
    "formation",
    "web",
    "quantity",
    "size",
    "addons",
    "plan",
    "as",
    "backups",
    "at",
    "timezone",
    "config",
    "from_env",
    "optional",
    "checks",
    "ignore",
    "id",
    "reason",
    "extends",
    "region",
    "stack",
    "X-Y",
    "2x",
]
scalars = st.one_of(
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=False),
    plain_text,
    st.sampled_from(["us", "eco", "heroku-24", "02:00", "UTC", "heroku-redis:mini", "DATABASE"]),
)
documents = st.recursive(
    st.dictionaries(st.sampled_from(KEYS), scalars, max_size=4),
    lambda inner: st.dictionaries(
        st.sampled_from(KEYS), inner | scalars | st.lists(inner, max_size=2), max_size=4
    ),
    max_leaves=25,
)


@SETTINGS
@given(doc=documents)
def test_any_toml_document_gives_a_stack_or_one_line_problems(doc: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stack.toml"
        path.write_text(tomli_w.dumps(doc), encoding="utf-8")
        result = check_file(path)
        assert (result.stack is None) == bool(result.problems)
        for problem in result.problems:
            assert "\n" not in str(problem) and str(problem).startswith(f"{path}: ")


def _leaves(doc: Any, loc: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(doc, dict):
        return [leaf for k, v in doc.items() for leaf in _leaves(v, (*loc, k))] or [loc]
    if isinstance(doc, list) and doc and all(isinstance(v, dict) for v in doc):
        return [leaf for i, v in enumerate(doc) for leaf in _leaves(v, (*loc, i))]
    return [loc]


@SETTINGS
@given(doc=st.dictionaries(st.sampled_from(KEYS), documents | scalars, min_size=1, max_size=4))
def test_line_scan_finds_every_key_tomli_w_writes(doc: dict[str, Any]) -> None:
    text = tomli_w.dumps(doc)
    lines = scan_key_lines(text)
    rows = text.split("\n")  # TOML lines end with \n only (not \x85 etc.)
    for leaf in _leaves(doc):
        if not leaf:
            continue
        assert leaf in lines, (leaf, text)
        if isinstance(leaf[-1], str):  # a key (not an array item) is on its own line
            assert leaf[-1] in rows[lines[leaf] - 1], (leaf, text)


@SETTINGS
@given(text=st.text(max_size=200))
def test_line_scan_of_any_text_never_raises(text: str) -> None:
    assert isinstance(scan_key_lines(text), dict)
