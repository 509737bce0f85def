"""`herokustack import`: read a live app and write the stack file that declares it as it is.

The file is built as a plain TOML document (`build_document`), checked by loading it back into
a `StackFile` (with its partial, when `--extends` is given), then written with tomlkit in a
fixed key order with a comment for everything that was left out.

Secrets: config values go into the file only for names the user lists with `--inline-config`,
and never, without `--force`, for a name or value that `herokustack check` would flag as a
literal secret (HS011). Every other config var becomes `{ from_env = "NAME" }`. Config vars set
by add-ons are left out (the add-on owns them). Notes and errors name config vars, never values.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

import tomli
import tomlkit
from pydantic import ValidationError

from herokustack import cost
from herokustack.checks import secret_reason
from herokustack.client import POSTGRES, HerokuClient, LiveAddon, LiveState
from herokustack.errors import HerokustackError
from herokustack.planner import managed_schedules
from herokustack.stackfile import (
    CONFIG_VAR_PATTERN,
    DYNO_SIZES,
    STACK_PATTERN,
    Backups,
    Environment,
    Region,
    StackFile,
    declared_app,
    deep_merge,
    default_attachment,
    default_stack_paths,
    is_partial,
    merged_document,
    plural,
)

REGIONS = get_args(Region)
ENVIRONMENTS = get_args(Environment)
# Web first, then worker, then the other process types alphabetically.
PROCESS_ORDER = ("web", "worker")
APP_KEYS = ("name", "environment", "region", "stack", "maintenance", "prune_config")
ADDON_KEYS = ("plan", "as", "backups", "protect", "config")


class ImportProblem(HerokustackError):
    """The live app cannot be written as a stack file (or not as asked): one clear line."""


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


def guess_environment(app_name: str) -> str:
    """staging / review / development when the name says so, else production."""
    words = set(re.split(r"[-_]", app_name))
    if words & {"staging", "stage", "stg"}:
        return "staging"
    if words & {"review", "pr"}:
        return "review"
    if words & {"dev", "development", "sandbox"}:
        return "development"
    return "production"


# --- live state -> document ----------------------------------------------------------------


class _Builder:
    """Builds the full stack-file document of one live app, and notes what it leaves out."""

    def __init__(self, live: LiveState, options: ImportOptions) -> None:
        assert live.app is not None
        self.live = live
        self.info = live.app
        self.options = options
        self.base: Mapping[str, Any] = options.base or {}
        self.notes: dict[str, list[str]] = {"app": [], "formation": [], "addons": [], "config": []}
        self.owned: dict[str, str] = {}  # config var -> who owns it (for comments)

    def note(self, section: str, text: str) -> None:
        self.notes[section].append(text)

    def build(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"app": self.app()}
        doc["formation"] = self.formation()
        doc["addons"] = self.addons()
        doc["config"] = self.config()
        if "checks" in self.base:
            doc["checks"] = self.base["checks"]
        return doc

    def app(self) -> dict[str, Any]:
        info, name = self.info, self.live.name
        if info.region not in REGIONS:
            raise ImportProblem(
                f"app {name}: region {info.region!r} (a Private Space?) cannot be declared: "
                "stack files support the us and eu regions"
            )
        if not re.fullmatch(STACK_PATTERN, info.build_stack):
            raise ImportProblem(
                f"app {name}: stack {info.build_stack!r} cannot be declared: stack files "
                "support the heroku-NN stacks"
            )
        base_app = self.base.get("app") or {}
        environment = self.options.environment or base_app.get("environment")
        if environment is None:
            environment = guess_environment(name)
            self.note("app", "environment: guessed from the app name (see --environment)")
        table = {
            "name": name,
            "environment": environment,
            "region": info.region,
            "stack": info.build_stack,
            "maintenance": info.maintenance,
        }
        if "prune_config" in base_app:
            table["prune_config"] = base_app["prune_config"]
        return table

    def formation(self) -> dict[str, Any]:
        table: dict[str, Any] = {}
        for ptype in _process_order(self.live.formation):
            process = self.live.formation[ptype]
            if process.size not in DYNO_SIZES:
                raise ImportProblem(
                    f"app {self.live.name}: formation.{ptype}: dyno size {process.size!r} "
                    "cannot be declared (stack files support " + ", ".join(DYNO_SIZES) + ")"
                )
            table[ptype] = {"quantity": process.quantity, "size": process.size}
        if not table:
            self.note("formation", "no process types yet: declare them once code is deployed")
        return table

    # -- add-ons -------------------------------------------------------------------------------

    def addons(self) -> dict[str, Any]:
        table: dict[str, Any] = {}
        base_names = _base_attachments(self.base)
        for addon in sorted(self.live.addons, key=_addon_order):
            if addon.owner != self.live.name:
                self.attached_from_elsewhere(addon)
                continue
            if not addon.attachments:
                self.note("addons", f"add-on {addon.name} ({addon.plan}) has no attachment here")
                continue
            attachment = addon.attachments[0]
            local = base_names.get(attachment) or attachment.lower()
            table[local] = self.addon(addon, attachment, local)
            for var in addon.config_vars:
                self.owned.setdefault(var, f"is owned by add-on {local}")
            for other in addon.attachments[1:]:
                self.note("addons", f"add-on {local} is also attached as {other} (not managed)")
        if table:
            self.note(
                "addons",
                "add-on provisioning options (`config`) cannot be read from Heroku",
            )
        return table

    def addon(self, addon: LiveAddon, attachment: str, local: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"plan": addon.plan}
        if attachment != default_attachment(addon.service):
            spec["as"] = attachment
        base = (self.base.get("addons") or {}).get(local) or {}
        for key in ("protect", "config"):  # not readable from Heroku: the partial's stand
            if key in base:
                spec[key] = base[key]
        if addon.service == POSTGRES:
            backups = self.backups(addon, attachment, local)
            if backups:
                spec["backups"] = backups
        return spec

    def backups(self, addon: LiveAddon, attachment: str, local: str) -> dict[str, str] | None:
        schedules = list(self.live.schedules.get(addon.id, ()))
        mine = managed_schedules(schedules, attachment)
        if not mine:
            return None
        schedule = mine[0]
        for other in schedules:
            if other is not schedule:
                self.note("addons", f"addons.{local}: backup schedule {other.name} not managed")
        backups = {"at": f"{schedule.hour:02d}:00", "timezone": schedule.timezone}
        try:
            Backups.model_validate(backups)
        except ValidationError:
            self.note("addons", f"addons.{local}: backups at {backups['at']} "
                      f"{schedule.timezone!r} cannot be declared")  # fmt: skip
            return None
        return backups

    def attached_from_elsewhere(self, addon: LiveAddon) -> None:
        names = ", ".join(addon.attachments) or "no name"
        self.note(
            "addons",
            f"{names}: add-on {addon.name} ({addon.plan}) of app {addon.owner} is attached "
            "here; declare it in that app's stack file",
        )
        for var in addon.config_vars:
            self.owned.setdefault(var, f"is owned by add-on {addon.name} of app {addon.owner}")

    # -- config --------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        base_config = self.base.get("config") or {}
        self.check_inline(base_config)
        table: dict[str, Any] = {}
        for key in sorted(self.live.config):
            if key in self.owned:
                self.note("config", f"{key} {self.owned[key]}")
            elif not re.fullmatch(CONFIG_VAR_PATTERN, key):
                self.note("config", f"config var {key!r} cannot be declared (not a valid name)")
            else:
                table[key] = self.config_value(key, base_config.get(key))
        return table

    def config_value(self, key: str, base: Any) -> Any:
        value = self.live.config[key]
        if key in self.options.inline:
            return value
        if isinstance(base, dict) and "from_env" in base:
            return base  # the partial already says where the secret comes from
        if isinstance(base, str) and base == value:
            return base  # the partial already holds this literal value
        return {"from_env": key}

    def check_inline(self, base_config: Mapping[str, Any]) -> None:
        for key in sorted(self.options.inline):
            if key not in self.live.config:
                raise ImportProblem(
                    f"--inline-config {key}: app {self.live.name} has no such config var"
                )
            if key in self.owned:
                raise ImportProblem(f"--inline-config {key}: {key} {self.owned[key]}")
            reason = secret_reason(key, self.live.config[key])
            if reason and not self.options.force:
                raise ImportProblem(
                    f"--inline-config {key}: refusing to write {key} into the file: it would be "
                    f"a literal {reason} (HS011); it stays from_env unless you pass --force"
                )


def _process_order(formation: Mapping[str, Any]) -> list[str]:
    first = [p for p in PROCESS_ORDER if p in formation]
    return first + sorted(p for p in formation if p not in PROCESS_ORDER)


def _addon_order(addon: LiveAddon) -> tuple[str, str]:
    return (addon.attachments[0] if addon.attachments else "~", addon.name)


def _base_attachments(base: Mapping[str, Any]) -> dict[str, str]:
    """Attachment name -> local name of the add-ons a partial declares."""
    found: dict[str, str] = {}
    for local, table in (base.get("addons") or {}).items():
        if not isinstance(table, dict):
            continue
        name = table.get("as")
        if not name and isinstance(table.get("plan"), str):
            name = default_attachment(table["plan"].split(":", 1)[0])
        if name:
            found.setdefault(name, local)
    return found


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
    builder = _Builder(live, options)
    document = builder.build()
    spec = _validate(live.name, document)
    base = options.base or {}
    full = spec.model_dump(by_alias=True, exclude_none=True)
    minimal = spec.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    for ptype, process in minimal.get("formation", {}).items():
        process["size"] = full["formation"][ptype]["size"]  # the size matters: always say it
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
        return StackFile.model_validate(document)
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
    """Tidy TOML: app, formation, add-ons, config; comments for what was left out."""
    doc = tomlkit.document()
    app_name = child["app"]["name"]
    doc.add(tomlkit.comment(f"Imported from Heroku app {app_name} by `herokustack import`."))
    for warning in warnings:
        doc.add(tomlkit.comment(f"warning: {warning}"))
    if extends:
        doc["extends"] = extends
    doc["app"] = _table(child["app"], APP_KEYS, notes.get("app", ()))
    sections = (
        ("formation", _formation_table),
        ("addons", _addons_table),
        ("config", _config_table),
    )
    for section, make in sections:
        values, comments = child.get(section) or {}, notes.get(section, ())
        if section == "addons" and values:
            # A super table ([addons.x] only) has no body of its own to hold comments.
            doc.add(tomlkit.nl())
            _comments(doc, comments)
        if values or comments:
            doc[section] = make(values, comments)
    for key in child:
        if key not in ("app", "formation", "addons", "config"):
            doc[key] = child[key]
    return tomlkit.dumps(doc)


def _comments(table: Any, notes: Iterable[str]) -> None:
    for text in notes:
        table.add(tomlkit.comment(text))


def _table(values: Mapping[str, Any], order: Sequence[str], notes: Iterable[str] = ()) -> Any:
    table = tomlkit.table()
    _comments(table, notes)
    for key in [*order, *sorted(set(values) - set(order))]:
        if key in values:
            table[key] = _inline(values[key]) if isinstance(values[key], dict) else values[key]
    return table


def _inline(values: Mapping[str, Any]) -> Any:
    """An inline table written `{ a = 1, b = "x" }`, the style of the README and examples."""
    table = tomlkit.inline_table()
    table.update(values)
    # tomlkit writes new inline tables without inner spaces; a parsed one keeps them.
    return tomlkit.parse(f"v = {{ {table.as_string()[1:-1]} }}\n")["v"]


def _formation_table(values: Mapping[str, Any], notes: Iterable[str]) -> Any:
    table = tomlkit.table()
    _comments(table, notes)
    for ptype in _process_order(values):
        process = values[ptype]
        table[ptype] = _inline({k: process[k] for k in ("quantity", "size") if k in process})
    return table


def _addons_table(values: Mapping[str, Any], notes: Iterable[str]) -> Any:
    table = tomlkit.table(is_super_table=bool(values))
    for local in sorted(values):
        table[local] = _table(values[local], ADDON_KEYS)
    if not values:
        _comments(table, notes)
    return table


def _config_table(values: Mapping[str, Any], notes: Iterable[str]) -> Any:
    table = tomlkit.table()
    for key in sorted(values):
        value = values[key]
        table[key] = _inline(value) if isinstance(value, dict) else value
    _comments(table, notes)
    return table


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
    lives = client.read_apps([n for n in names if n not in results])
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
    return sorted({v.from_env for v in spec.config.values() if not isinstance(v, str)})


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
