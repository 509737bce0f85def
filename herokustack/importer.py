"""`herokustack import`: read a live app and write the stack file that declares it as it is.

The file is built as a plain TOML document, each kind of resource writing its part
(`Kind.import_into`), checked by loading it back into a `StackFile` (with its partial, when
`--extends` is given), then written with tomlkit in a fixed key order with a comment for
everything that was left out.

Secrets: config values go into the file only for names the user lists with `--inline-config`,
and never, without `--force`, for a name or value that `herokustack check` would flag as a
literal secret (HS011). Every other config var becomes `{ from_env = "NAME" }`. Config vars set
by add-ons are left out (the add-on owns them). Notes and errors name config vars, never values.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

import tomli
import tomlkit
from pydantic import ValidationError

from herokustack import cost, resources
from herokustack.client import HerokuClient
from herokustack.facts import LiveState
from herokustack.resources import read_apps
from herokustack.resources.base import ImportProblem
from herokustack.stackfile import (
    Environment,
    StackFile,
    declared_app,
    deep_merge,
    default_stack_paths,
    is_partial,
    merged_document,
    plural,
    stack_model,
)

ENVIRONMENTS = get_args(Environment)


@dataclasses.dataclass(frozen=True)
class ImportOptions:
    environment: str | None = None  # None: the partial's, else guessed from the app name
    inline: frozenset[str] = frozenset()  # config vars written with their live value
    force: bool = False  # inline even values that look like secrets
    extends: str | None = None  # the `extends` value written in the file
    base: Mapping[str, Any] | None = None  # the partial's merged document


@dataclasses.dataclass
class Imported:
    """One imported app: the file text, the model it loads to, and what was left out."""

    name: str
    text: str
    spec: StackFile
    notes: list[str]  # left out on purpose (also written as comments)
    warnings: list[str]  # differences plan will show (e.g. the partial declares more)


# --- reading -------------------------------------------------------------------------------


def list_app_names(client: HerokuClient) -> list[str]:
    """Every app the account can see, sorted (GET /apps, following Next-Range pages)."""
    return sorted(str(doc["name"]) for doc in client.get_list("apps"))


def load_partial(path: Path) -> dict[str, Any]:
    """The merged document of a partial and the partials it extends (checked like validate)."""
    if not is_partial(path):
        raise ImportProblem(f"--extends {path}: not a partial (its name must start with _)")
    return merged_document(path)


# --- live state -> document ----------------------------------------------------------------


class Builder:
    """Builds the full stack-file document of one live app, kind by kind (`Kind.import_into`),
    and notes what it leaves out, by section (written as comments there)."""

    def __init__(self, live: LiveState, options: ImportOptions) -> None:
        assert live.app is not None
        self.live = live
        self.options = options
        self.base: Mapping[str, Any] = options.base or {}
        self.notes: dict[str, list[str]] = {section: [] for section in _sections()}
        self.shared: dict[str, Any] = {}  # what one kind leaves for a later one

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)

    def build(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for kind in resources.KINDS:
            kind.import_into(self, doc)
        if "checks" in self.base:
            doc["checks"] = self.base["checks"]
        return doc


def _sections() -> list[str]:
    """The sections of a stack file that kinds write, in the file's order."""
    owned = {k.section for k in resources.KINDS if k.section}
    return [name for name in stack_model().model_fields if name in owned]


# --- what a partial already says -------------------------------------------------------------


def difference(
    full: Mapping[str, Any], minimal: Mapping[str, Any], base: Mapping[str, Any]
) -> dict[str, Any]:
    """What a file extending `base` must write so that it merges to `full`.

    `full` holds every value explicitly, `minimal` the same without defaults. A key the partial
    sets is written when its value differs; any other key only when it is not a default.
    """
    out: dict[str, Any] = {}
    for key, value in full.items():
        if key not in base:
            if key in minimal:
                out[key] = minimal[key]
            continue
        if isinstance(value, dict) and isinstance(base[key], dict):
            sub = difference(value, minimal.get(key) or {}, base[key])
            if sub:
                out[key] = sub
        elif value != base[key]:
            out[key] = minimal.get(key, value) if isinstance(value, dict) else value
    return out


def leftovers(full: Mapping[str, Any], base: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Keys the partial sets that the live app does not have (a file cannot unset them)."""
    found: list[str] = []
    for key, value in base.items():
        path = f"{prefix}{key}"
        if key not in full:
            found.append(path)
        elif isinstance(value, dict) and isinstance(full[key], dict):
            found += leftovers(full[key], value, f"{path}.")
    return found


# --- the whole import --------------------------------------------------------------------------


def import_live(live: LiveState, options: ImportOptions | None = None) -> Imported:
    """The stack file of one live app (see the module docstring for what goes in)."""
    options = options or ImportOptions()
    builder = Builder(live, options)
    document = builder.build()
    spec = _validate(live.name, document)
    base = options.base or {}
    full = spec.model_dump(by_alias=True, exclude_none=True)
    minimal = spec.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    for kind in resources.KINDS:
        kind.import_minimal(full, minimal)
    child = difference(full, minimal, base) if base else minimal
    child.setdefault("app", {})["name"] = live.name  # the name says which app a file is
    warnings = [
        f"{options.extends} declares {key}, which app {live.name} does not have: plan will show it"
        for key in leftovers(full, base)
    ]
    notes = [text for section in builder.notes.values() for text in section]
    text = render(child, builder.notes, options.extends, warnings)
    written = tomli.loads(text)
    written.pop("extends", None)
    loaded = _validate(live.name, deep_merge(base, written))
    if not warnings and loaded != spec:
        raise ImportProblem(f"app {live.name}: the written file would not describe the app")
    return Imported(live.name, text, spec, notes, warnings)


def _validate(name: str, document: Mapping[str, Any]) -> StackFile:
    try:
        return stack_model().model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("@"))
        # The message never quotes the input: it may be a live config value.
        raise ImportProblem(f"app {name}: cannot be declared: {where}: {first['msg']}") from None


# --- rendering ----------------------------------------------------------------------------------


def render(
    child: Mapping[str, Any],
    notes: Mapping[str, Sequence[str]],
    extends: str | None,
    warnings: Sequence[str] = (),
) -> str:
    """Tidy TOML: the kinds' sections in the file's order; comments for what was left out."""
    doc = tomlkit.document()
    app_name = child["app"]["name"]
    doc.add(tomlkit.comment(f"Imported from Heroku app {app_name} by `herokustack import`."))
    for warning in warnings:
        doc.add(tomlkit.comment(f"warning: {warning}"))
    if extends:
        doc["extends"] = extends
    owners = {k.section: k for k in resources.KINDS if k.section}
    sections = _sections()
    for section in sections:
        owners[section].write_section(doc, child.get(section) or {}, notes.get(section, ()))
    for key in child:
        if key not in sections:
            doc[key] = child[key]
    return tomlkit.dumps(doc)


# --- files ------------------------------------------------------------------------------------


def partial_for(extends: str, out_dir: Path) -> tuple[str, Path]:
    """(the `extends` value to write, the partial's path) for an --extends option.

    The value is relative to the written file, like `extends` itself; a path that only exists
    relative to the current directory is accepted and rewritten relative to the file.
    """
    given = Path(extends)
    beside = out_dir / extends
    if not given.is_absolute() and beside.is_file():
        found, value = beside, extends
    elif given.is_file():
        found, value = given, Path(os.path.relpath(given, out_dir)).as_posix()
    else:
        raise ImportProblem(f"--extends {extends}: no such partial (looked in {out_dir} and .)")
    if not Path(os.path.realpath(found)).is_relative_to(os.path.realpath(out_dir)):
        raise ImportProblem(
            f"--extends {extends}: the partial must be in {out_dir}/ or below, where the file "
            "is written (a stack file cannot extend a file elsewhere)"
        )
    return value, found


def write_file(path: Path, text: str) -> None:
    """Write `text` to `path` (import_apps has already refused or skipped existing files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --- the command ------------------------------------------------------------------------------


@dataclasses.dataclass
class ImportRequest:
    """What `herokustack import` was asked (see its options)."""

    app: str | None = None
    all_apps: bool = False
    out: Path | None = None  # a file (a directory with --all); Path("-") is stdout
    environment: str | None = None
    extends: str | None = None
    inline: frozenset[str] = frozenset()
    force: bool = False
    overwrite: bool = False


@dataclasses.dataclass
class Written:
    name: str
    path: Path | None  # None: printed on stdout
    imported: Imported | None = None
    skipped: str | None = None  # why nothing was written
    error: str | None = None
    monthly: cost.AppCost | None = None  # what the imported app costs a month


def config_names(items: Iterable[str] | None) -> frozenset[str]:
    """The config var names of repeated `--inline-config A,B` options."""
    return frozenset(n.strip() for item in items or () for n in item.split(",") if n.strip())


def check_request(request: ImportRequest) -> None:
    if request.all_apps == bool(request.app):
        raise ImportProblem("name one APP, or pass --all (not both)")
    if request.environment and request.environment not in ENVIRONMENTS:
        raise ImportProblem(f"--environment: must be one of {', '.join(ENVIRONMENTS)}")
    if request.all_apps and request.out == Path("-"):
        raise ImportProblem("--all writes one file per app: --out must be a directory")
    if request.all_apps and request.inline:
        raise ImportProblem("--inline-config names config vars of one app: not with --all")


def _target_path(request: ImportRequest, name: str) -> Path:
    if request.all_apps:
        return (request.out or Path("stacks")) / f"{name}.toml"
    return request.out or Path("stacks") / f"{name}.toml"


def import_apps(client: HerokuClient, request: ImportRequest) -> list[Written]:
    """Import one app (or every visible app with --all) and write the files."""
    check_request(request)
    names = list_app_names(client) if request.all_apps else [str(request.app)]
    todo = {name: _target_path(request, name) for name in names}
    results: dict[str, Written] = {}
    elsewhere = declared_elsewhere(todo)
    for name, path in todo.items():
        why = None
        if name in elsewhere:
            why = f"{elsewhere[name]} already declares app {name}"
            if not request.all_apps:
                why += f" (to refresh that file: --out {elsewhere[name]} --overwrite)"
        elif path != Path("-") and path.exists() and not request.overwrite:
            why = f"{path} already exists (pass --overwrite to replace it)"
        if why and not request.all_apps:
            raise ImportProblem(why)
        if why:
            results[name] = Written(name, path, skipped=why)
    options = _options(request, todo)
    lives = read_apps(client, [n for n in names if n not in results])  # every kind
    prices = cost.FallbackPrices.live(client)
    for name in names:
        if name not in results:
            results[name] = done = _import_one(lives[name], todo[name], options[name], request)
            done.monthly = prices.cost_of(done.imported.spec) if done.imported else None
    return [results[n] for n in names]


def declared_elsewhere(todo: Mapping[str, Path]) -> dict[str, Path]:
    """The apps of `todo` that another stack file of their target directory already declares.

    Two files declaring one app make every command fail, so import never writes the second;
    printing to stdout (`-`) writes nothing and is always allowed.
    """
    owners: dict[str, Path] = {}
    for directory in sorted({p.parent for p in todo.values() if p != Path("-")}):
        for path in default_stack_paths(directory):
            name = declared_app(path) or ""
            target = todo.get(name)
            if target is not None and target.parent == directory and not _same(path, target):
                owners.setdefault(name, path)
    return owners


def _same(path: Path, other: Path) -> bool:
    return os.path.realpath(path) == os.path.realpath(other)


def _options(request: ImportRequest, todo: Mapping[str, Path]) -> dict[str, ImportOptions]:
    options: dict[str, ImportOptions] = {}
    for name, path in todo.items():
        extends, base = None, None
        if request.extends:
            out_dir = Path(".") if path == Path("-") else path.parent
            extends, partial = partial_for(request.extends, out_dir)
            base = load_partial(partial)
        options[name] = ImportOptions(
            request.environment, request.inline, request.force, extends, base
        )
    return options


def _import_one(
    live: LiveState, path: Path, options: ImportOptions, request: ImportRequest
) -> Written:
    try:
        if not live.exists:
            raise ImportProblem(f"app {live.name}: not found (or not visible to this API key)")
        imported = import_live(live, options)
    except ImportProblem as exc:
        if not request.all_apps:
            raise
        return Written(live.name, path, error=str(exc))
    if path == Path("-"):
        return Written(live.name, None, imported)
    write_file(path, imported.text)
    return Written(live.name, path, imported)


def from_env_names(spec: StackFile) -> list[str]:
    """Environment variables a stack needs set before plan and apply."""
    return sorted({name for kind in resources.KINDS for name in kind.env_names(spec)})


def report_lines(written: Sequence[Written]) -> list[str]:
    """What import tells on stderr: files written, variables to set, notes, warnings."""
    lines: list[str] = []
    for item in written:
        if item.error:
            lines.append(f"✗ {item.name}: {item.error}")
            continue
        if item.skipped:
            lines.append(f"- {item.name}: skipped: {item.skipped}")
            continue
        assert item.imported is not None
        where = item.path or "stdout"
        lines.append(f"✓ {item.name} → {where}")
        if item.monthly is not None:
            lines.append(f"  monthly cost: {_monthly(item.monthly)}")
        names = from_env_names(item.imported.spec)
        if names:
            lines.append("  set before plan/apply: " + ", ".join(names))
        lines += [f"  warning: {w}" for w in item.imported.warnings]
    if len(written) > 1:
        done = sum(1 for w in written if w.imported)
        costs = [w.monthly for w in written if w.monthly is not None]
        total = f", {cost.format_monthly(cost.total_cents(costs))} in all" if costs else ""
        lines.append(f"{done} of {plural(len(written), 'app')} imported{total}")
    return lines


def _monthly(app: cost.AppCost) -> str:
    unpriced = f" (no price for {', '.join(app.unpriced)})" if app.unpriced else ""
    eco = " + the account's eco plan" if app.uses_eco else ""
    return f"{cost.format_monthly(app.cents)}{eco}{unpriced}"
