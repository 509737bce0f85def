"""The stack-file model: one TOML file declares one Heroku app.

This module holds the pydantic models (the shape of a stack file) and the loader
(TOML -> merged `extends` chain -> validated model, with every problem reported as
`file: key.path: message`).

Rules that need more than one field (eco dynos at most 1, one dyno tier per app, backups
only on Postgres, unique attachment names, config vars owned by add-ons) raise a
`stack_rules` error carrying every problem with its own key path, so the loader can
report them all at once, each on its own line.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import errno
import functools
import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli
import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from herokustack.errors import HerokustackError, StackFileError

# The section models live with their kinds (herokustack/resources/); re-exported here, where
# the rest of herokustack and the tests have always found them.
from herokustack.resources import KINDS
from herokustack.resources import access as _access
from herokustack.resources import addons as _addons
from herokustack.resources import buildpacks as _buildpacks
from herokustack.resources import certs as _certs
from herokustack.resources import domains as _domains
from herokustack.resources import drains as _drains
from herokustack.resources import features as _features
from herokustack.resources import formation as _formation
from herokustack.resources import webhooks as _webhooks
from herokustack.resources.addons import (  # noqa: F401
    ADDON_CONFIG_VARS,
    ATTACHMENT_PATTERN,
    DATA_SERVICES,
    DEFAULT_ATTACHMENTS,
    PLAN_PATTERN,
    AddonSpec,
    LocalName,
    attachment_name,
    default_attachment,
    owned_config_vars,
)
from herokustack.resources.app import (  # noqa: F401
    APP_NAME_PATTERN,
    CURRENT_STACK,
    STACK_PATTERN,
    STACKS,
    AppSpec,
    Environment,
    Region,
)
from herokustack.resources.backups import BACKUP_AT_PATTERN, Backups  # noqa: F401
from herokustack.resources.base import Loc, Strict, invalid, key_text, rules
from herokustack.resources.config_vars import (  # noqa: F401
    CONFIG_VAR_PATTERN,
    ConfigField,
    ConfigValue,
    ConfigVarName,
    FromEnv,
)
from herokustack.resources.formation import (  # noqa: F401
    DYNO_SIZES,
    PROCESS_TYPE_PATTERN,
    SINGLE_DYNO_SIZES,
    ProcessSpec,
    ProcessType,
)

_invalid = invalid
_rules = rules
_key_text = key_text


class Suppression(Strict):
    """Silences one `herokustack check` rule for this app, with the reason why."""

    id: str = Field(pattern=r"^[A-Z]+[0-9]+$", description='Rule ID, e.g. "HS006".')
    reason: str = Field(min_length=1, description="Why the rule does not apply here.")


class ChecksSpec(Strict):
    """Settings for `herokustack check`."""

    ignore: list[Suppression] = Field(default_factory=list, description="Suppressed rules.")


class StackFile(Strict):
    """A whole stack file after `extends` has been merged."""

    app: AppSpec = Field(description="The app: name, environment, region, stack, maintenance.")
    formation: dict[ProcessType, ProcessSpec] = Field(
        default_factory=dict, description="Dynos per process type (web, worker, ...)."
    )
    addons: dict[LocalName, AddonSpec] = Field(
        default_factory=dict, description="Add-ons, keyed by a local name."
    )
    config: dict[ConfigVarName, ConfigField] = Field(
        default_factory=dict,
        description='Config vars: a string, or { from_env = "VAR" } for a secret.',
    )
    checks: ChecksSpec = Field(
        default_factory=ChecksSpec, description="Settings for `herokustack check`."
    )
    buildpacks: list[_buildpacks.Buildpack] = Field(
        default_factory=list, description=_buildpacks.KIND.section_description
    )
    features: dict[_features.FeatureName, bool] = Field(
        default_factory=dict, description=_features.KIND.section_description
    )
    drains: list[_drains.DrainSpec] | None = Field(
        default=None, description=_drains.KIND.section_description
    )
    domains: list[_domains.Hostname] | None = Field(
        default=None, description=_domains.KIND.section_description
    )
    certificates: list[_certs.CertificateSpec] = Field(
        default_factory=list, description=_certs.KIND.section_description
    )
    webhooks: list[_webhooks.WebhookSpec] = Field(
        default_factory=list, description=_webhooks.KIND.section_description
    )
    access: dict[_access.Email, list[_access.Permission]] = Field(
        default_factory=dict, description=_access.KIND.section_description
    )

    @model_validator(mode="after")
    def _cross_field_rules(self) -> StackFile:
        # The built-in kinds' rules in their order of old (formation first), then the others'.
        builtin = (_formation.KIND, _addons.KIND)
        problems = [*_formation.tier_problems(self), *_addons.attachment_problems(self)]
        for kind in KINDS:
            if kind not in builtin:
                problems += kind.rules(self)
        if problems:
            raise _rules(problems)
        return self


def stack_model() -> type[StackFile]:
    """`StackFile`, with a section for each registered kind that is not one of its fields.

    The built-in kinds' sections are fields of `StackFile` (typed, in the schema's order); a
    kind registered later (see `herokustack.resources.register`) adds its own here.
    """
    added = tuple(k for k in KINDS if k.section and k.section not in StackFile.model_fields)
    return _extended(added) if added else StackFile


@functools.lru_cache(maxsize=16)
def _extended(kinds: tuple[Any, ...]) -> type[StackFile]:
    fields: dict[str, Any] = {
        k.section: (
            k.section_model,
            Field(default_factory=k.section_model, description=k.section_description),
        )
        for k in kinds
    }
    return create_model("StackFile", __base__=StackFile, __doc__=StackFile.__doc__, **fields)


# --- loaded stacks, line numbers ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Source:
    """One file of an `extends` chain: its path, its text and where each key is written."""

    path: Path
    text: str

    @functools.cached_property
    def lines(self) -> dict[Loc, int]:
        return scan_key_lines(self.text)

    def line_of(self, key: str | Loc) -> int | None:
        """Line of `key` in this file, or of its nearest enclosing key written here."""
        loc = parse_key(key) if isinstance(key, str) else key
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


class Stack(BaseModel):
    """A loaded stack file: where it came from, and what it declares."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    spec: StackFile
    # The file and the partials it extends, the file itself first.
    sources: tuple[Source, ...] = ()
    _own: Source | None = PrivateAttr(default=None)

    @property
    def name(self) -> str:
        return self.spec.app.name

    @property
    def text(self) -> str:
        """The raw text of this file (not of its partials), e.g. for `# herokustack:ignore`."""
        return self._source().text

    def _source(self) -> Source:
        if self.sources:
            return self.sources[0]
        if self._own is None:
            text = self.path.read_text(encoding="utf-8") if self.path.is_file() else ""
            self._own = Source(self.path, text)
        return self._own

    def line_of(self, key: str | Loc) -> int | None:
        """Line of `key` ("formation.web.quantity") in this file.

        When the key itself is not written here (e.g. a default, or a table header holds it),
        the line of its nearest enclosing key; None when nothing of it is in this file.
        """
        return self._source().line_of(key)

    def locate(self, key: str | Loc) -> tuple[Path, int | None]:
        """The file of the `extends` chain that sets `key` (child first), and its line."""
        loc = parse_key(key) if isinstance(key, str) else key
        for source in self.sources:
            if loc in source.lines:
                return source.path, source.lines[loc]
        return self.path, self.line_of(loc)


_KEY_PART = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+))\s*|\[(\d+)\]')


def parse_key(key: str) -> Loc:
    """'checks.ignore[0].id' -> ("checks", "ignore", 0, "id"); the inverse of `_key_text`."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(key):
        if key[pos] == ".":
            pos += 1
            continue
        match = _KEY_PART.match(key, pos)
        if not match or match.end() == pos:
            parts.append(key[pos:])
            break
        if match[1] is not None:
            parts.append(json.loads(f'"{match[1]}"'))
        elif match[4] is not None:
            parts.append(int(match[4]))
        else:
            parts.append(match[2] if match[2] is not None else match[3])
        pos = match.end()
    return tuple(parts)


_TOKENS = re.compile(
    r"(?P<nl>\n)|(?P<ws>[ \t\r]+)|(?P<comment>#[^\n]*)"
    r'|(?P<mlb>"""(?:\\[\s\S]|[^\\])*?""""{0,2})'
    r"|(?P<mll>'''[\s\S]*?''''{0,2})"
    r'|(?P<basic>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<literal>'[^'\n]*')"
    r"|(?P<punct>[\[\]{}=,.])"
    r"|(?P<bare>[^\s\[\]{}=,.#]+)"
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    line = 1
    for match in _TOKENS.finditer(text):
        kind, value = match.lastgroup or "", match.group()
        if kind in ("basic", "literal"):
            out.append(("str", _unquote(value) if kind == "basic" else value[1:-1], line))
        elif kind not in ("ws", "comment"):
            out.append((kind, value, line))
        line += value.count("\n")
    return out


def _unquote(value: str) -> str:
    try:
        return str(json.loads(value))
    except ValueError:  # TOML escapes JSON lacks (\U0001F600, \e): close enough for a key
        return value[1:-1]


class _KeyScanner:
    """A light pass over valid TOML recording the first line of every key path."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0
        self.lines: dict[Loc, int] = {}
        self.array_tables: dict[Loc, int] = {}

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.pos] if self.pos < len(self.toks) else ("eof", "", 0)

    def sym(self) -> str:
        """The next token as punctuation; a string token never reads as "[" or "{"."""
        kind, value, _ = self.peek()
        return "<str>" if kind == "str" else value

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        self.pos += 1
        return tok

    def record(self, loc: Loc, line: int) -> None:
        for end in range(1, len(loc) + 1):
            self.lines.setdefault(loc[:end], line)

    def key(self) -> list[str | int]:
        parts: list[str | int] = [self.take()[1]]
        while self.sym() == ".":
            self.take()
            parts.append(self.take()[1])
        return parts

    def run(self) -> dict[Loc, int]:
        table: Loc = ()
        while self.peek()[0] != "eof":
            kind, value, line = self.peek()
            if kind == "nl":
                self.take()
            elif kind != "str" and value == "[":
                table = self.header()
                self.record(table, line)
            else:
                loc = (*table, *self.key())
                self.take()  # "="
                self.value(loc, line)
        return self.lines

    def header(self) -> Loc:
        self.take()
        is_array = self.sym() == "["
        if is_array:
            self.take()
        key = self.key()
        while self.sym() == "]":
            self.take()
        # A key through an array of tables means its latest element: [[a]] then [a.b] -> a[n].b
        loc: list[str | int] = []
        for number, part in enumerate(key, start=1):
            loc.append(part)
            if is_array and number == len(key):
                loc.append(self.array_tables.get(tuple(loc), -1) + 1)
                self.array_tables[tuple(loc[:-1])] = int(loc[-1])
            elif tuple(loc) in self.array_tables:
                loc.append(self.array_tables[tuple(loc)])
        return tuple(loc)

    def value(self, loc: Loc, line: int) -> None:
        self.record(loc, line)
        opener = self.sym()
        self.take()
        if opener == "{":
            self.inline_table(loc)
        elif opener == "[":
            self.array(loc)
        else:
            while self.peek()[0] != "nl" and self.sym() not in (",", "]", "}", ""):
                self.take()

    def inline_table(self, loc: Loc) -> None:
        while self.sym() not in ("}", ""):
            if self.sym() == ",":
                self.take()
                continue
            line = self.peek()[2]
            key = (*loc, *self.key())
            self.take()  # "="
            self.value(key, line)
        self.take()

    def array(self, loc: Loc) -> None:
        index = 0
        while self.sym() not in ("]", ""):
            if self.peek()[0] == "nl" or self.sym() == ",":
                self.take()
                continue
            self.value((*loc, index), self.peek()[2])
            index += 1
        self.take()


def scan_key_lines(text: str) -> dict[Loc, int]:
    """Where each key path is first written in a TOML text (1-based lines); best effort."""
    scanner = _KeyScanner(text)
    try:
        return scanner.run()
    except (IndexError, ValueError, RecursionError):
        return scanner.lines


# --- problems -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem of a stack file; `str()` is the one line shown to users."""

    file: str
    key: str | None
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.key:
            return f"{self.file}: {self.key}: {self.message}"
        if self.line:
            return f"{self.file}: line {self.line}, column {self.column}: {self.message}"
        return f"{self.file}: {self.message}"

    def located(self) -> str:
        """The line `validate` prints: `file:line: key: message` (`file:line:column:` for a
        syntax error), the form editors and CI annotators jump to; str() when no line."""
        if not self.line:
            return str(self)
        where = f"{self.file}:{self.line}"
        if self.key:
            return f"{where}: {self.key}: {self.message}"
        return (
            f"{where}:{self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _error(problems: Sequence[Problem]) -> StackFileError:
    error = StackFileError([str(p) for p in problems])
    error.details = list(problems)  # type: ignore[attr-defined]
    return error


# What a value must be, by key pattern ("*" stands for a name the user chose); each kind adds
# its own (`Kind.expected`).
_EXPECTED: dict[str, str] = {
    **{pattern: text for kind in KINDS for pattern, text in kind.expected.items()},
    "checks.ignore": 'an array of tables like { id = "HS006", reason = "..." }',
    "checks.ignore.*.id": 'a check ID like "HS006"',
    "checks.ignore.*.reason": "a non-empty reason",
}
_BY_TYPE = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "an array",
}
# Where a name chosen by the user sits in a location (its own key is "*" in patterns).


def _named() -> set[tuple[str, ...]]:
    """Where a name chosen by the user sits in a location (its own key is "*" in patterns)."""
    return {("checks", "ignore")}.union(*(kind.named for kind in KINDS))


def _models_at() -> dict[str, type[BaseModel]]:
    """The model of the table at a key pattern: its keys are the ones an unknown key is
    compared to."""
    found: dict[str, type[BaseModel]] = {"": stack_model()}
    for kind in KINDS:
        found.update(kind.models_at)
    found.update({"checks": ChecksSpec, "checks.ignore.*": Suppression})
    return found


def _expected(pattern: str) -> str | None:
    for kind in KINDS:
        if pattern in kind.expected:
            return kind.expected[pattern]
    return _EXPECTED.get(pattern)


def _pattern(loc: Loc) -> str:
    out: list[str] = []
    named = _named()
    for part in loc:
        out.append("*" if tuple(out) in named else str(part))
    return ".".join(out)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return "a date/time"


def _unknown_key(loc: Loc) -> str:
    model = _models_at().get(_pattern(loc[:-1]))
    keys = [f.alias or name for name, f in model.model_fields.items()] if model else []
    if model is stack_model():
        keys.append("extends")
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean `{close[0]}`?"
    return "unknown key; expected one of " + ", ".join(f"`{k}`" for k in keys)


def _message(err: Mapping[str, Any], loc: Loc) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    pattern = _pattern(loc)
    expected = _expected(pattern) or _BY_TYPE.get(kind) or str(err.get("msg", "invalid"))
    reason = (err.get("ctx") or {}).get("reason") or f"must be {expected}"
    if _hidden(pattern) and isinstance(err.get("input"), str | int | float):
        return reason  # a config value may be a secret written in clear: never echo it
    given = err.get("input")
    return f"{reason}, got {_show(given)}" + _did_you_mean(pattern, given)


def _hidden(pattern: str) -> bool:
    """Whether a value at `pattern` may be a secret (config values, the kinds' hidden ones)."""
    hidden = ("config.", *(p for kind in KINDS for p in kind.hidden_values))
    return pattern.startswith(hidden)


def _did_you_mean(pattern: str, given: Any) -> str:
    """A near valid value, for the closed lists where a typo is likely ("prod", "standrd-1x")."""
    choices = next((k.choices[pattern] for k in KINDS if pattern in k.choices), None)
    if not choices or not isinstance(given, str) or not given:
        return ""
    typed = given.lower()
    prefixed = [c for c in choices if c.startswith(typed)]
    if len(prefixed) == 1:
        return f"; did you mean `{prefixed[0]}`?"
    close = difflib.get_close_matches(typed, choices, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _clean(loc: Sequence[str | int]) -> Loc:
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith("@")))


def _validation_problems(exc: ValidationError) -> list[tuple[Loc, str, bool]]:
    """(location, message, is-missing) for every error, rules expanded one per line."""
    out: list[tuple[Loc, str, bool]] = []
    for err in exc.errors(include_url=False):
        loc = _clean(err["loc"])
        if err["type"] == "stack_rules":
            out += [((*loc, *sub), msg, False) for sub, msg in err["ctx"]["problems"]]
        else:
            key_loc = loc[:-1] if loc and loc[-1] == "[key]" else loc
            out.append((key_loc, _message(err, loc), err["type"] == "missing"))
    return out


# --- the loader --------------------------------------------------------------------------------


@dataclasses.dataclass
class FileResult:
    """What validating one file found: its stack (None for partials or on error), problems."""

    path: Path
    stack: Stack | None
    problems: list[Problem]
    partial: bool

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def what(self) -> str:
        """ "partial", or the app a valid stack file declares ("" when invalid)."""
        return "partial" if self.partial else self.stack.name if self.stack else ""


def is_partial(path: Path) -> bool:
    """Files starting with "_" are partials: shared by other files through `extends`."""
    return path.name.startswith("_")


def default_stack_paths(root: Path = Path("stacks")) -> list[Path]:
    """Every stack file of `root` (`*.toml`), partials excluded, sorted."""
    return sorted(p for p in Path(root).glob("*.toml") if not is_partial(p))


def stack_paths(paths: Sequence[Path] | None, partials: bool = False) -> list[Path]:
    """`paths`, else the stack files of stacks/; HerokustackError when there are none.

    A directory stands for its stack files (`*.toml`, sorted, as `ruff check dir/`); its
    partials too when `partials` (validate checks them, plan has no app for them).
    """
    if not paths:
        found = default_stack_paths()
        if not found:
            raise HerokustackError("no stack files found: pass paths, or add stacks/*.toml")
        return found
    return [p for path in paths for p in _expand(Path(path), partials)]


def _expand(path: Path, partials: bool) -> list[Path]:
    if not path.is_dir():
        return [path]
    found = sorted(p for p in path.glob("*.toml") if partials or not is_partial(p))
    if not found:
        what = "*.toml" if partials else "*.toml stack files (partials _*.toml aside)"
        raise HerokustackError(f"{_display(path)}: directory has no {what}")
    return found


def _display(path: Path) -> str:
    text = os.path.normpath(path)
    return text if text.isprintable() else json.dumps(text)  # keeps every problem on one line


# Bounds on what a stack file may hold. A real one is a few KB and four tables deep; anything
# far beyond is refused in one line before it reaches the costly paths of the parser and model.
MAX_FILE_BYTES = 1_000_000
MAX_STRING_CHARS = 32_768  # Heroku's limit for all the config vars of one app together
MAX_KEY_CHARS = 128
MAX_DEPTH = 16  # the deepest valid key is 4 levels (addons.NAME.backups.at)
MAX_EXTENDS_CHARS = 255  # the longest file name of common file systems
INT64 = (-(2**63), 2**63 - 1)  # TOML integers are 64-bit
_BEYOND_INT64 = "is an integer beyond the 64 bits of TOML integers"


class _Unreadable(Exception):
    """A file that is not read, with the reason (one line)."""


def _read_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES, else _Unreadable or OSError.

    Only regular files are opened (a FIFO would block, a device never end); the file is opened
    non-blocking and checked again once open, in case it was replaced in between.
    """
    _check_regular(os.stat(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    with os.fdopen(os.open(path, flags), "rb") as handle:
        _check_regular(os.fstat(handle.fileno()))
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _Unreadable(_too_big())
    return data


def _check_regular(info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError
    if not stat.S_ISREG(info.st_mode):
        raise _Unreadable("is not a regular file (a FIFO, socket or device), not a stack file")
    if info.st_size > MAX_FILE_BYTES:
        raise _Unreadable(_too_big(info.st_size))


def _too_big(size: int | None = None) -> str:
    given = f"is {size:,} bytes" if size else "is too large"
    return f"{given}: a stack file may hold at most {MAX_FILE_BYTES:,} bytes"


def _read(path: Path) -> tuple[Source | None, dict[str, Any], list[Problem]]:
    name = _display(path)
    try:
        data = _read_bytes(path)
        text = data.decode("utf-8")
    except FileNotFoundError:
        return None, {}, [Problem(name, None, "file not found")]
    except IsADirectoryError:
        msg = f"is a directory, not a stack file (name its files: {name}/*.toml)"
        return None, {}, [Problem(name, None, msg)]
    except _Unreadable as exc:
        return None, {}, [Problem(name, None, str(exc))]
    except UnicodeDecodeError as exc:
        return None, {}, [_not_utf8(name, exc)]
    except OSError as exc:
        return None, {}, [Problem(name, None, _os_reason(exc, "cannot read: "))]
    except ValueError:  # a NUL in the name
        return None, {}, [Problem(name, None, "cannot read: the file name holds a NUL character")]
    if data.startswith(codecs.BOM_UTF8):  # TOML parsers reject it as an "invalid statement"
        msg = "invalid TOML: the file starts with a byte order mark; save it as UTF-8 without BOM"
        return None, {}, [Problem(name, None, msg, 1, 1)]
    try:
        doc = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        reason = str(getattr(exc, "msg", exc))
        msg = f"invalid TOML: {reason[:1].lower()}{reason[1:]}"
        where = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        return None, {}, [Problem(name, None, msg, *where)]
    except RecursionError:  # tomli's guard against nesting deeper than it parses
        msg = "invalid TOML: tables, arrays or inline tables nested too deeply"
        return None, {}, [Problem(name, None, msg)]
    except ValueError:  # int() refuses integers of more than 4300 digits
        return None, {}, [_huge_integer(name, text)]
    source = Source(path, text)
    found = _bound_problems(doc)
    if found:
        return None, {}, [Problem(name, _cut(_key_text(k)), m, source.line_of(k)) for k, m in found]
    return source, doc, []


def _os_reason(exc: OSError, prefix: str) -> str:
    if exc.errno == errno.ELOOP:
        return "is a loop of symbolic links"
    return prefix + str(exc.strerror or exc)


def _huge_integer(name: str, text: str) -> Problem:
    """The integer tomli could not even convert: its key, found from the line it is on."""
    match = re.search(r"[0-9][0-9_]{4000,}", text)
    line = text.count("\n", 0, match.start()) + 1 if match else None
    keys = sorted((loc for loc, at in scan_key_lines(text).items() if at == line), key=len)
    key = _cut(_key_text(keys[-1])) if keys else None  # the deepest key of that line
    return Problem(name, key, _BEYOND_INT64, line)


def _bound_problems(doc: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Keys, strings, integers and nesting beyond the bounds above (the first few found)."""
    problems: list[tuple[Loc, str]] = []
    todo: list[tuple[Loc, Any]] = [((), doc)]
    while todo and len(problems) < 5:
        loc, value = todo.pop()
        if len(loc) > MAX_DEPTH:
            problems.append((loc, f"nested more than {MAX_DEPTH} tables or arrays deep"))
        elif isinstance(value, dict):
            long = [key for key in value if len(key) > MAX_KEY_CHARS]
            msg = f"holds a key of {max(map(len, long), default=0):,} characters, more than"
            problems += [(loc, f"{msg} {MAX_KEY_CHARS}")] if long else []
            todo += reversed([((*loc, k), v) for k, v in value.items() if k not in long])
        elif isinstance(value, list):
            todo += reversed([((*loc, i), item) for i, item in enumerate(value)])
        elif isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            msg = f"is a string of {len(value):,} characters, more than {MAX_STRING_CHARS:,}"
            problems.append((loc, msg))
        elif isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            problems.append((loc, _BEYOND_INT64))
    return problems


def _cut(text: str, most: int = 100) -> str:
    """A key path or value kept short enough for one line."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _not_utf8(name: str, exc: UnicodeDecodeError) -> Problem:
    line = exc.object[: exc.start].count(b"\n") + 1
    column = exc.start - exc.object.rfind(b"\n", 0, exc.start)
    return Problem(name, None, "invalid TOML: the file is not UTF-8 text", line, column)


@dataclasses.dataclass
class _Chain:
    """A file and the partials it extends (child first), as far as they could be read."""

    sources: list[Source] = dataclasses.field(default_factory=list)
    docs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    broken: Path | None = None  # the file of the chain that could not be read or parsed


def _read_chain(path: Path) -> _Chain:
    """The file and the partials it extends, confined to the tree of the file's directory.

    `extends` is relative to the file that writes it, and must stay within the directory of
    the first file (the stack file being loaded) and its subdirectories, symbolic links
    resolved: a stack file never makes herokustack read, or echo, a file elsewhere.
    """
    chain = _Chain()
    real_root = _real(path.parent)
    seen: list[Path] = []
    while True:
        source, doc, problems = _read(path)
        if source is None:
            chain.problems, chain.broken = problems, path
            return chain
        chain.sources.append(source)
        chain.docs.append(doc)
        seen.append(_real(path))
        parent = doc.pop("extends", None)
        if parent is None:
            return chain
        link = _link(chain.sources, parent, real_root, seen)
        if isinstance(link, Problem):
            chain.problems = [link]
            return chain
        path = link


def _link(
    sources: Sequence[Source], parent: Any, real_root: Path, seen: Sequence[Path]
) -> Path | Problem:
    """The partial an `extends` value names, or the problem with it (on the `extends` key)."""
    source = sources[-1]
    name, line = _display(source.path), source.line_of(("extends",))
    problem = _extends_problem(parent)
    if problem is not None:
        return Problem(name, "extends", problem, line)
    target = source.path.parent / parent
    if not _real(target).is_relative_to(real_root):
        root = _display(sources[0].path.parent)
        where = "the current directory" if root == "." else f"{root}/"
        msg = f"{_show(parent)} is outside {where} (partials must be in the stack file's "
        msg += "directory or below)"
        return Problem(name, "extends", msg, line)
    if _real(target) in seen:
        first = sources[0]
        names = [_display(s.path) for s in sources] + [_display(target)]
        msg = "cycle: " + " → ".join(_cut(n, 60) for n in names)
        return Problem(_display(first.path), "extends", msg, first.line_of(("extends",)))
    problem = _link_problem(target)
    if problem is not None:
        return Problem(name, "extends", problem, line)
    return target


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _extends_problem(value: Any) -> str | None:
    """What is wrong with an `extends` value by itself (None: a relative file name)."""
    wanted = 'must be the file name of a partial, like "_base.toml"'
    if not isinstance(value, str) or not value:
        return f"{wanted}, got {_show(value)}"
    if not value.isprintable():
        return f"{wanted}, without control characters, got {_show(value)}"
    if len(value) > MAX_EXTENDS_CHARS:
        return f"{wanted}, got {len(value):,} characters (at most {MAX_EXTENDS_CHARS})"
    if Path(value).is_absolute() or value.startswith(("/", "\\")):
        return f'must be relative to this file (like "_base.toml"), got {_show(value)}'
    return None


def _link_problem(target: Path) -> str | None:
    """Why `extends` cannot name `target`, as seen from the extending file (None: a file)."""
    shown = _cut(_display(target), 60)
    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        return f"extends {shown}, which does not exist"
    except OSError as exc:
        return f"extends {shown}, which {_os_reason(exc, 'cannot be read: ')}"
    if stat.S_ISDIR(info.st_mode):
        return f"extends {shown}, which is a directory, not a stack file"
    if not stat.S_ISREG(info.st_mode):
        return f"extends {shown}, which is not a regular file (a FIFO, socket or device)"
    return None


def extends_chain(path: Path) -> list[Path]:
    """The files of `path`'s `extends` chain, resolved, the file first; at a broken link it
    ends with the file that could not be read, when that is in the tree (for --changed-since)."""
    chain = _read_chain(Path(path))
    files = [_real(s.path) for s in chain.sources]
    if chain.broken is not None and _real(chain.broken) not in files:
        files.append(_real(chain.broken))
    return files


def deep_merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key, the child wins; any other value (arrays too) is replaced."""
    merged = dict(base)
    for key, value in child.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged


def _attribute(sources: Sequence[Source], loc: Loc, missing: bool) -> tuple[str, int | None]:
    """The file to blame for a problem at `loc`: the one that writes the key, child first."""
    if not missing:
        for source in sources:
            if loc in source.lines:
                return _display(source.path), source.lines[loc]
    return _display(sources[0].path), sources[0].line_of(loc) if loc else None


def _as_underscore_problems(doc: Mapping[str, Any]) -> list[tuple[Loc, str, bool]]:
    # `as_` is the Python name of `as`; in a stack file only `as` is allowed.
    addons = doc.get("addons")
    if not isinstance(addons, dict):
        return []
    return [
        (("addons", name, "as_"), "unknown key; did you mean `as`?", False)
        for name, table in addons.items()
        if isinstance(table, dict) and "as_" in table
    ]


def check_file(path: Path) -> FileResult:
    """Load and validate one file; every problem is collected, nothing is raised."""
    return _check(Path(path))[0]


def merged_document(path: Path) -> dict[str, Any]:
    """The document of `path` with its `extends` chain merged, checked as `validate` checks it.

    For a partial this is what a file extending it starts from. StackFileError lists every
    problem.
    """
    result, merged = _check(Path(path))
    if result.problems:
        raise _error(list({str(p): p for p in result.problems}.values()))
    return merged


def _check(path: Path) -> tuple[FileResult, dict[str, Any]]:
    partial = is_partial(path)
    chain = _read_chain(path)
    sources, docs, problems = chain.sources, chain.docs, chain.problems
    if problems:
        return FileResult(path, None, problems, partial), {}
    merged: dict[str, Any] = {}
    for doc in reversed(docs):
        merged = deep_merge(merged, doc)
    found = _as_underscore_problems(merged)
    spec = None
    try:
        spec = stack_model().model_validate(merged)
    except ValidationError as exc:
        found += _validation_problems(exc)
    if partial:  # a partial may leave out anything; the files extending it complete it
        found = [p for p in found if not p[2]]
    for loc, message, missing in found:
        file, line = _attribute(sources, loc, missing)
        problems.append(Problem(file, _key_text(loc) or None, message, line))
    if problems or spec is None or partial:
        return FileResult(path, None, problems, partial), merged
    stack = Stack(path=path, spec=spec, sources=tuple(sources))
    return FileResult(path, stack, [], partial), merged


def check_files(paths: Sequence[Path]) -> list[FileResult]:
    """Validate many files, and check that no two of them declare the same app."""
    results = [check_file(path) for path in paths]
    owners: dict[str, Path] = {}
    for result in results:
        if result.stack is None:
            continue
        name = result.stack.name
        if name in owners and owners[name].resolve() != result.path.resolve():
            msg = f'"{name}" is also declared by {_display(owners[name])}'
            line = result.stack.line_of("app.name")
            result.problems.append(Problem(_display(result.path), "app.name", msg, line))
            result.stack = None
        owners.setdefault(name, result.path)
    _shared_values(results)
    return results


def _shared_values(results: Sequence[FileResult]) -> None:
    """A value two stack files declare that only one app may have (`Kind.unique_values`, a
    custom domain): a problem of the second file, naming the first."""
    for kind in KINDS:
        owners: dict[str, tuple[Path, Loc]] = {}
        for result in results:
            if result.stack is None:
                continue
            stack = result.stack
            for loc, value in kind.unique_values(stack.spec):
                first = owners.setdefault(value, (result.path, loc))
                if first[0].resolve() != result.path.resolve():
                    where = f"{_display(first[0])} ({_key_text(first[1])})"
                    msg = f"{value} is also declared by {where}"
                    path, line = stack.locate(loc)
                    result.problems.append(Problem(_display(path), _key_text(loc), msg, line))
                    result.stack = None


def declared_app(path: Path) -> str | None:
    """The app name a stack file writes (itself or through `extends`), even when the file has
    other problems; None for a partial or a file that cannot be read."""
    if is_partial(path):
        return None
    for doc in _read_chain(Path(path)).docs:  # the file first: its name wins
        app = doc.get("app")
        if isinstance(app, dict) and isinstance(app.get("name"), str):
            return str(app["name"])
    return None


def load_stack(path: Path) -> Stack:
    """Load one stack file (its `extends` chain merged); StackFileError lists every problem."""
    result = check_file(path)
    if result.stack is None:
        raise _error(result.problems or [_not_an_app(path)])
    return result.stack


def _not_an_app(path: Path) -> Problem:
    return Problem(_display(path), None, "is a partial (its name starts with _), not an app")


def load_stacks(paths: Sequence[Path]) -> list[Stack]:
    """Load many stack files; one StackFileError lists the problems of all of them."""
    results = check_files(paths)
    problems: list[Problem] = []
    for result in results:
        if result.stack is None and not result.problems:
            result.problems.append(_not_an_app(result.path))
        problems += [p for p in result.problems if p not in problems]
    if problems:
        raise _error(problems)
    return [r.stack for r in results if r.stack is not None]


# --- config values -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConfigEntry:
    """A resolved config var; `sensitive` ones came from the environment and are never shown."""

    value: str
    sensitive: bool = False

    def __repr__(self) -> str:
        shown = "'***'" if self.sensitive else repr(self.value)
        return f"ConfigEntry(value={shown}, sensitive={self.sensitive})"


def resolve_config(stack: Stack, environ: Mapping[str, str]) -> dict[str, ConfigEntry]:
    """The config vars of a stack with `from_env` values read from `environ`, and the other
    kinds' `resolved_values` under their key text (`drains[0].url`).

    A missing variable is an error naming the file, key and variable (never a value), unless
    the entry is `optional`, in which case the config var is left out.
    """
    resolved: dict[str, ConfigEntry] = {}
    problems: list[Problem] = []
    values: list[tuple[Loc, Any]] = [(("config", k), v) for k, v in stack.spec.config.items()]
    values += [found for kind in KINDS for found in kind.resolved_values(stack.spec)]
    for loc, value in values:
        key = str(loc[1]) if loc[0] == "config" else _key_text(loc)
        if isinstance(value, str):
            resolved[key] = ConfigEntry(value, sensitive=False)
        elif value.from_env in environ:
            resolved[key] = ConfigEntry(environ[value.from_env], sensitive=True)
        elif not value.optional:
            path, line = stack.locate(loc)
            msg = f"environment variable {value.from_env} is not set"
            problems.append(Problem(_display(path), _key_text(loc), msg, line))
    if problems:
        raise _error(problems)
    return resolved


# --- schema and dumping ------------------------------------------------------------------------


def stack_json_schema() -> dict[str, Any]:
    """The JSON Schema of a stack file, for editors (Taplo / Even Better TOML).

    Generated from `StackFile`; `extends` is added and no key is required, because any key
    may come from a partial: `herokustack validate` checks completeness after merging.
    """
    schema = stack_model().model_json_schema(by_alias=True, schema_generator=_TomlSchema)
    _for_editors(schema)
    extends = {
        "type": "string",
        "title": "Extends",
        "description": 'A partial stack file to start from, e.g. "_base.toml" (the path is '
        "relative to this file, and stays in the stack file's directory or below). Tables are "
        "merged key by key; this file wins.",
    }
    schema["properties"] = {"extends": extends, **schema["properties"]}
    schema["title"] = "herokustack stack file"
    schema["description"] = (
        "One Heroku app as code (herokustack). Keys may come from the partial named by "
        "`extends`; `herokustack validate` checks the merged result."
    )
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


class _TomlSchema(GenerateJsonSchema):
    """TOML has no null: an optional key is simply left out, so `null` is never offered."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None:
            del json_schema["default"]
        return json_schema


def _for_editors(node: Any) -> None:
    """No key is required (a partial may hold it); user-chosen names must match their pattern."""
    if isinstance(node, dict):
        node.pop("required", None)
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _for_editors(value)
    elif isinstance(node, list):
        for value in node:
            _for_editors(value)


def schema_text() -> str:
    """The schema as committed in `herokustack/stack.schema.json`."""
    return json.dumps(stack_json_schema(), indent=2, ensure_ascii=False) + "\n"


def to_toml(spec: StackFile) -> str:
    """A stack file text that loads back to `spec` (defaults and empty tables left out)."""
    data = spec.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    return tomli_w.dumps(data)


# --- reports for `herokustack validate` ----------------------------------------------------------


def _summary(result: FileResult) -> str:
    if result.problems:
        return f"✗ {_display(result.path)}"
    return f"✓ {_display(result.path)} ({result.what})"


def validation_text(results: Sequence[FileResult]) -> str:
    """✓ per valid file; ✗ and one line per problem for the others; a summary line."""
    lines: list[str] = []
    for result in results:
        lines.append(_summary(result))
        lines += [f"  {problem.located()}" for problem in result.problems]
    lines.append(validation_summary(results))
    return "\n".join(lines) + "\n"


def validation_summary(results: Sequence[FileResult]) -> str:
    """ "3 files valid", or "1 of 3 files invalid, 2 problems"."""
    bad = sum(1 for r in results if r.problems)
    if not bad:
        return f"{plural(len(results), 'file')} valid"
    count = sum(len(r.problems) for r in results)
    return f"{bad} of {plural(len(results), 'file')} invalid, {plural(count, 'problem')}"


def plural(count: int, noun: str) -> str:
    """ "1 file", "2 files"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def validation_json(results: Sequence[FileResult]) -> str:
    """The same as JSON: {"valid": bool, "files": [{path, app, partial, valid, problems}]}."""
    files = [
        {
            "path": _display(r.path),
            "app": r.stack.name if r.stack else None,
            "partial": r.partial,
            "valid": r.ok,
            "problems": [{**p.as_dict(), "text": str(p)} for p in r.problems],
        }
        for r in results
    ]
    doc = {"valid": all(r.ok for r in results), "files": files}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
