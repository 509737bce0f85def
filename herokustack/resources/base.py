"""What every kind of Heroku resource provides (`Kind`), and what the kinds share.

A kind (one module of `herokustack.resources`) owns everything herokustack knows of one kind of
resource: its stack-file section model, its live reader and what reading costs, the comparison
that yields `Change`s, its apply steps, its words in plan and drift lines, and its import writer.
The planner, applier, drift, importer and renderers only walk the registry and call these hooks;
the defaults below are what a kind gets when it says nothing.

Nothing here imports the HTTP client (`validate` imports the kinds, and must stay quick): the
client, the stack file and the applier are types only.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from herokustack.errors import HerokustackError

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import ConfigEntry, Stack, StackFile

Loc = tuple[str | int, ...]
Action = Literal["create", "update", "destroy", "refused", "deferred"]
NEXT_DEPLOY = "takes effect at next deploy"


# --- stack-file models --------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, populate_by_name=True, defer_build=True
    )


def invalid(reason: str) -> PydanticCustomError:
    """A value error; the loader shows `reason` followed by the value it got."""
    return PydanticCustomError("invalid", reason, {"reason": reason})


def rules(problems: list[tuple[Loc, str]]) -> PydanticCustomError:
    """Problems of a rule across fields, each with its own key path (one line each)."""
    text = "; ".join(f"{key_text(loc)}: {msg}" for loc, msg in problems)
    return PydanticCustomError("stack_rules", text, {"problems": problems})


def key_text(loc: Iterable[str | int]) -> str:
    """("checks", "ignore", 0, "id") -> 'checks.ignore[0].id'; odd keys are quoted."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            quoted = part if _is_bare(part) else json.dumps(part)
            text += f".{quoted}" if text else quoted
    return text


def _is_bare(part: str) -> bool:
    return bool(_BARE_KEY.match(part))


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


# --- changes -----------------------------------------------------------------------------------


class _RegisteredResource:
    """Change.resource: the `resource` of a registered kind ("app", "addon", ...).

    Validated against the registry, and its JSON Schema lists the registered names, so that a
    kind registered later (by a test, or the next issue) is accepted without editing this.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_known_resource, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        from herokustack.resources import resource_names

        return {"enum": list(resource_names()), "title": "Resource", "type": "string"}


def _known_resource(value: str) -> str:
    from herokustack.resources import resource_names

    names = resource_names()
    if value not in names:
        quoted = [repr(n) for n in names]
        expected = ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
        raise PydanticCustomError(
            "literal_error", "Input should be {expected}", {"expected": expected}
        )
    return value


class Change(BaseModel):
    """One change to one field of one resource of one app."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    app: str
    action: Action
    resource: Annotated[str, _RegisteredResource()]
    name: str = Field(description="App name, add-on local name, config key or process type.")
    field: str | None = None
    before: Any = None
    after: Any = None
    sensitive: bool = Field(default=False, description="Values hidden: never in the plan.")
    note: str | None = None
    addon_id: str | None = Field(default=None, description="The live add-on concerned.")
    attachment: str | None = None
    value_hash: str | None = Field(
        default=None, description="Keyed hash (HMAC-SHA256) of a secret's value."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="What apply needs more.")

    @property
    def is_change(self) -> bool:
        """Whether apply would change something (refused and deferred ones do not)."""
        return self.action in ("create", "update", "destroy")


def secret_hash(key: bytes, name: str, value: str) -> str:
    """Keyed hash of a secret config value (`key` from `planner.hash_key`)."""
    return hmac.new(key, f"{name}\0{value}".encode(), hashlib.sha256).hexdigest()


def field_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each top-level field that differs, in the order of `after`."""
    from deepdiff import DeepDiff  # not needed by `validate`: imported when planning
    from deepdiff.helper import NotPresent

    tree = DeepDiff(dict(before), dict(after), view="tree")
    found: dict[str, tuple[Any, Any]] = {}
    for kind in ("values_changed", "type_changes", "dictionary_item_added"):
        for level in tree.get(kind, []):
            key = str(level.path(output_format="list")[0])
            old = None if isinstance(level.t1, NotPresent) else before.get(key)
            found[key] = (old, after.get(key))
    return [(k, *found[k]) for k in after if k in found]


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """`; did you mean preboot?` for the closest of `known`, or nothing."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def listed(names: Sequence[str], most: int) -> str:
    """The first `most` names, `, …` when there are more: a message stays one line."""
    return ", ".join(names[:most]) + (", …" if len(names) > most else "")


def show(value: Any) -> str:
    """A value in a plan line: on/off for booleans, strings as they are, else JSON."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        return value
    return json.dumps(value)


class ImportProblem(HerokustackError):
    """The live app cannot be written as a stack file (or not as asked): one clear line."""


# --- what the generic modules hand to the kinds ------------------------------------------------


@dataclasses.dataclass
class PlanContext:
    """One app being planned: its stack file, resolved config, live state, and the changes so far.

    `shared` holds what one kind leaves for a later one (e.g. the add-ons kept, for backups).
    """

    stack: Stack
    config: Mapping[str, ConfigEntry]
    live: LiveState
    key: bytes
    allow_destroy: frozenset[str]
    assume_released: frozenset[str]
    changes: list[Change] = dataclasses.field(default_factory=list)
    shared: dict[str, Any] = dataclasses.field(default_factory=dict)
    allow_transfer: frozenset[str] = frozenset()  # apps --allow-transfer lets change team

    @property
    def spec(self) -> StackFile:
        return self.stack.spec

    @property
    def name(self) -> str:
        return self.stack.name

    def add(self, action: Action, resource: str, name: str, **kwargs: Any) -> None:
        self.changes.append(
            Change(app=self.name, action=action, resource=resource, name=name, **kwargs)
        )


@dataclasses.dataclass(frozen=True)
class Step:
    """One write step of apply: `run` gets the app's run and the kind's changes `pick` takes.

    Steps of every kind run in `order` (see `applier`); `writes` False for a step that only
    waits (no stale check before it).
    """

    order: int
    title: str
    run: Callable[[AppRun, list[Change]], None]
    pick: Callable[[Change], bool] = lambda change: True
    writes: bool = True


@dataclasses.dataclass
class DriftContext:
    """One app whose drift is being told: its stack file, live state, plan and prices."""

    stack: Stack
    live: LiveState
    changes: Sequence[Change]
    prices: Any  # cost.FallbackPrices


# --- the kind ------------------------------------------------------------------------------------


class Kind:
    """One kind of Heroku resource. Subclasses set the names and override the hooks they need."""

    name: ClassVar[str]  # in the registry, e.g. "formation"
    resource: ClassVar[str]  # `Change.resource` of its changes, e.g. "formation"
    label: ClassVar[str]  # how a line of text names it, e.g. "add-on"
    read_cost: ClassVar[str] = "no request"  # what reading it costs, per app
    always_read: ClassVar[bool] = False  # read for every planned app, declared or not
    after: ClassVar[tuple[str, ...]] = ()  # kinds whose facts `read` uses
    # The stack-file section it owns: a field of `StackFile` (the built-in kinds) or, for a kind
    # registered later, a section added to it, of type `section_model` (its default: empty).
    section: ClassVar[str | None] = None
    section_model: ClassVar[Any] = None
    section_description: ClassVar[str] = ""
    # Validation messages: what a value at a key pattern must be, the models whose keys an
    # unknown key is compared to, where a user-chosen name sits, and closed lists of values.
    expected: ClassVar[Mapping[str, str]] = {}
    models_at: ClassVar[Mapping[str, type[BaseModel]]] = {}
    named: ClassVar[frozenset[tuple[str, ...]]] = frozenset()
    choices: ClassVar[Mapping[str, Sequence[str]]] = {}
    # Key patterns ("drains.*.url") whose values are secrets: a validation message never echoes
    # them.
    hidden_values: ClassVar[frozenset[str]] = frozenset()
    quote_values: ClassVar[bool] = False  # drift shows its values as JSON strings
    # Apply's guard reads the app itself again before this kind's batch only when its parts
    # need it: a kind without its own `read`, or one that says so here.
    fresh_needs_app: ClassVar[bool] = False

    # -- stack file --------------------------------------------------------------------------

    def declared(self, spec: StackFile) -> bool:
        """Whether the stack file declares anything of this kind (then plan reads it)."""
        return bool(self.section and getattr(spec, self.section, None))

    def wants_undeclared(self, spec: StackFile) -> bool:
        """Whether a prune option asks plan for what the file does not declare."""
        return False

    def for_stack(self, spec: StackFile) -> Kind:
        """This kind as `plan` reads it for one stack file: itself, or a copy that reads only
        what the file declares (a kind whose reads depend on more than `declared`)."""
        return self

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        """Problems across fields of the whole file, each with its key path."""
        return []

    def resolved_values(self, spec: StackFile) -> list[tuple[Loc, Any]]:
        """Values of this kind (other than config vars) that may come from the environment: a
        string, or a `FromEnv` read when planning, by key path. `resolve_config` resolves them
        with the config vars, into the same mapping under their key text (`drains[0].url`),
        which no config var name can be; plan and apply find them there."""
        return []

    def unique_values(self, spec: StackFile) -> list[tuple[Loc, str]]:
        """Values no two stack files may both declare (custom domains), with their key paths."""
        return []

    # -- live state ---------------------------------------------------------------------------

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        """This kind's facts of an existing app: `LiveState` fields (or its own name) -> value.

        `facts` holds what the kinds of `after` read. Costs `read_cost` requests.
        """
        return {}

    def facts(self, live: LiveState) -> Any:
        """What `read` found, for a kind without a field of its own in `LiveState`."""
        return live.extra.get(self.name)

    @property
    def reads(self) -> bool:
        """Whether this kind reads live state itself (it has its own `read`)."""
        return type(self).read is not Kind.read

    def estimate(self, spec: StackFile) -> int:
        """About how many requests `read` costs for an app whose stack file is `spec` (the
        request budget): one for a kind that reads, unless it says otherwise."""
        return 1 if self.reads else 0

    # An account-wide reader (optional): the facts of many apps from a few paged list requests
    # (`GET /apps`, `GET /addons`) instead of one request per app. `read_apps` asks it only for
    # apps that exist, and reads per app (`read`) any app it does not answer for.

    def read_many(
        self, client: HerokuClient, apps: Sequence[str], hints: Mapping[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """The facts `read` would give, by app, for those of `apps` it found (`{}`: none; it
        may decline when one request per app would cost fewer). `hints` maps app -> declared
        team (for team lists)."""
        return {}

    def estimate_many(self, specs: Sequence[StackFile]) -> int | None:
        """About how many requests `read_many` costs for these apps; None: it is not used."""
        return None

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        """Add the changes that make the live app match the file (`ctx.add`)."""

    # -- apply --------------------------------------------------------------------------------

    def steps(self) -> Sequence[Step]:
        return ()

    # -- text ---------------------------------------------------------------------------------

    def what(self, change: Change) -> str:
        """The thing a plan line is about: `formation web`, `add-on database (DATABASE)` (the
        attachment name, when a change has one other than its name)."""
        what = f"{self.label} {change.name}"
        if change.attachment not in (None, change.name):
            what += f" ({change.attachment})"
        return what

    def body(self, change: Change) -> str:
        """What happens to it: `: 1 → 2`, ` quantity: 1 → 2`."""
        field = f" {change.field}" if change.field else ""
        if change.action == "create":
            return f"{field}: {show(change.after)}"
        if change.action == "destroy" or (change.action == "refused" and change.after is None):
            return f"{field}: {show(change.before)}"
        return f"{field}: {show(change.before)} → {show(change.after)}"

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        """The drift a planned change shows (`DriftItem` fields), None for none."""
        if change.action == "create":
            return {"kind": "missing", "declared": change.after}
        return {
            "kind": "changed",
            "live": change.before,
            "declared": change.after,
            "note": change.note if change.action == "refused" else None,
        }

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        """Drift the planner leaves alone (e.g. undeclared things apply leaves as they are);
        may also complete `items` (the `DriftItem`s so far)."""
        return []

    def drift_what(self, resource_name: str, field: str | None) -> str:
        """The thing a drift line is about: `formation web quantity`."""
        return f"{self.label} {resource_name}" + (f" {field}" if field else "")

    def absent_app_drift(self, stack: Stack) -> list[dict[str, Any]]:
        """Drift of an app that does not exist at all (told by the kind that owns the app)."""
        return []

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        """Write what the live app has of this kind into the stack-file document `doc`."""

    def import_minimal(self, full: Mapping[str, Any], minimal: dict[str, Any]) -> None:
        """Put back into the file's values (defaults left out) a default worth saying."""

    def import_table(self, values: Mapping[str, Any], notes: Sequence[str]) -> Any:
        """The TOML table of this kind's section (tomlkit), its notes as comments."""
        model = self.section_model
        keys = model_keys(model) if isinstance(model, type) and issubclass(model, BaseModel) else []
        return toml_table(values, keys, notes)

    def write_section(self, doc: Any, values: Mapping[str, Any], notes: Sequence[str]) -> None:
        """Add this kind's section to the tomlkit document (not at all when empty)."""
        if values or notes:
            assert self.section
            doc[self.section] = self.import_table(values, notes)

    def env_names(self, spec: StackFile) -> list[str]:
        """Environment variables the stack needs set before plan and apply."""
        return []

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        """Each part of the app's live state of this kind, as plain values (fingerprints)."""
        return {}

    def touched_parts(self, change: Change) -> list[str]:
        """The parts one change writes."""
        return [f"{self.resource}.{change.name}"]

    def part_label(self, name: str) -> str:
        return f"{self.label} {name}".strip()

    def fresh_parts(
        self, client: HerokuClient, app: str, base: LiveState, changes: Sequence[Change]
    ) -> dict[str, Any]:
        """The parts `changes` (this kind's, about to be written) touch, read again now;
        `base` is the app as just read (the app itself only), or with no app when this kind
        reads for itself and does not set `fresh_needs_app`."""
        facts = self.read(client, app, {})
        return self.parts(base.with_facts(facts)) if facts else {}


# --- TOML writing for import -------------------------------------------------------------------


def toml_comments(table: Any, notes: Iterable[str]) -> None:
    import tomlkit

    for text in notes:
        table.add(tomlkit.comment(text))


def toml_table(values: Mapping[str, Any], order: Sequence[str], notes: Iterable[str] = ()) -> Any:
    """A table with `order`'s keys first, the others sorted; tables in it written inline."""
    import tomlkit

    table = tomlkit.table()
    toml_comments(table, notes)
    for key in [*order, *sorted(set(values) - set(order))]:
        if key in values:
            table[key] = toml_inline(values[key]) if isinstance(values[key], dict) else values[key]
    return table


def write_tables(
    doc: Any,
    section: str,
    entries: Sequence[Mapping[str, Any]],
    model: type[BaseModel],
    notes: Iterable[str],
) -> None:
    """`[[section]]` tables after a blank line and `notes`, each entry's keys in `model`'s
    field order, tables in them written inline; nothing when there is no entry."""
    import tomlkit

    if not entries:
        return
    doc.add(tomlkit.nl())
    toml_comments(doc, notes)
    tables = tomlkit.aot()
    for entry in entries:
        tables.append(toml_table(entry, [k for k in model.model_fields if k in entry]))
    doc[section] = tables


def toml_inline(values: Mapping[str, Any]) -> Any:
    """An inline table written `{ a = 1, b = "x" }`, the style of the README and examples."""
    import tomlkit

    table = tomlkit.inline_table()
    table.update(values)
    # tomlkit writes new inline tables without inner spaces; a parsed one keeps them.
    return tomlkit.parse(f"v = {{ {table.as_string()[1:-1]} }}\n")["v"]


def model_keys(model: type[BaseModel]) -> list[str]:
    """The keys of a model as a stack file writes them (aliases), in field order."""
    return [f.alias or name for name, f in model.model_fields.items()]
