"""Properties of the stack-file loader: round trips, and no input ever gives a traceback."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herokustack.errors import StackFileError
from herokustack.resources.webhooks import ENTITIES, WebhookSpec
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
    packs = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,5}/[a-z0-9][a-z0-9_-]{0,5}", fullmatch=True)
    urls = st.from_regex(r"https://[a-z]{1,8}\.com/[a-z0-9./-]{0,12}", fullmatch=True)
    buildpacks = draw(st.lists(packs | urls, unique=True, max_size=4))
    feature_names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
    features = draw(st.dictionaries(feature_names, st.booleans(), max_size=3))
    secret = st.none() | st.builds(FromEnv, from_env=var_names)
    hook = st.builds(
        WebhookSpec,
        url=urls | st.builds(FromEnv, from_env=var_names),
        include=st.lists(st.sampled_from(ENTITIES), min_size=1, max_size=3, unique=True),
        level=st.sampled_from(["notify", "sync"]),
        secret=secret,
        authorization=secret,
    )
    hooks = draw(st.lists(hook, max_size=3, unique_by=lambda h: str(h.url)))
    return StackFile(
        app=app,
        formation=draw(formations()),
        addons=addons,
        config=config,
        checks=checks,
        buildpacks=buildpacks,
        features=features,
        webhooks=hooks,
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


# --- fuzzing: mutated real files and hostile `extends` values never give a traceback -----------

EXAMPLES = Path(__file__).resolve().parents[1] / "stacks"
SEEDS = [(EXAMPLES / n).read_bytes() for n in ("production.toml", "staging.toml", "_base.toml")]
# Fragments that reach the limits: huge integers, deep nesting, long strings, odd bytes.
SPLICES = [b"9" * 5000, b"0x" + b"f" * 40, b"[" * 400, b"{a=" * 300, b'"' + b"x" * 40_000 + b'"',
           b"\x00", b"\xff\xfe", b'extends = "../../etc/passwd"\n', b"[a." * 50 + b"b]\n",
           b"\n[[checks.ignore]]\n", b'"""', b"'''", b"\\u0000", b"=", b"."]  # fmt: skip


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        values = [m.end() for m in re.finditer(rb"= ", data)]  # where a value starts
        start = draw(st.sampled_from(values) if values and draw(st.booleans()) else st.just(-1))
        start = start if start >= 0 else draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 40)))
        data[start:end] = draw(st.sampled_from(SPLICES) | st.binary(max_size=12))
    return bytes(data)


def _assert_one_line_problems(root: Path, path: Path) -> None:
    result = check_file(path)
    assert (result.stack is None) == bool(result.problems)
    for problem in result.problems:
        text = str(problem)
        assert "\n" not in text and len(text) < 400, text
        assert text.startswith(str(root)), text  # never a file outside the stack directory


@SETTINGS
@given(data=mutated_files(), partial=mutated_files())
def test_mutated_stack_files_give_a_stack_or_one_line_problems(data: bytes, partial: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "stacks"
        root.mkdir()
        (root / "_base.toml").write_bytes(partial)
        path = root / "app.toml"
        path.write_bytes(data)
        _assert_one_line_problems(root, path)


OUTSIDE = '[app]\nregion = "outside-the-tree"\n'
hostile_names = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["../", "/", "./", "sub/../../", "..\\", "//", "~/", "_base.toml/"]).flatmap(
        lambda prefix: st.text(max_size=12).map(lambda rest: prefix + rest)
    ),
    st.sampled_from(["../_outside.toml", "sub/../../_outside.toml", "_link.toml", "x" * 300]),
)


@SETTINGS
@given(name=hostile_names)
def test_any_extends_value_stays_in_the_tree_and_gives_one_line(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "_outside.toml").write_text(OUTSIDE, encoding="utf-8")
        root = Path(tmp) / "stacks"
        (root / "sub").mkdir(parents=True)
        (root / "_link.toml").symlink_to(Path(tmp) / "_outside.toml")
        path = root / "app.toml"
        text = (
            f"extends = {json.dumps(name)}\n" + '[app]\nname = "acme-x"\nenvironment = "staging"\n'
        )
        path.write_text(text, encoding="utf-8")
        _assert_one_line_problems(root, path)
        assert all("outside-the-tree" not in str(p) for p in check_file(path).problems)
