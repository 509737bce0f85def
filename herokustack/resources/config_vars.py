"""Config vars: the `[config]` table (a string, or `{ from_env = "VAR" }` for a secret).

Reading them is one request (GET /apps/{app}/config-vars); from then on their values are
secrets to the client (redacted from every message). A sensitive change carries a keyed hash of
the new value, never the value; a live value that looks like a secret is never shown.
`app.prune_config` unsets what the file does not declare (and no add-on sets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Discriminator, Field, StringConstraints, Tag

from herokustack.resources import addons
from herokustack.resources.base import (
    Action,
    Change,
    DriftContext,
    ImportProblem,
    Kind,
    PlanContext,
    Step,
    Strict,
    secret_hash,
    toml_comments,
    toml_inline,
)
from herokustack.secrets_rule import secret_reason

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import StackFile

CONFIG_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
ConfigVarName = Annotated[str, StringConstraints(pattern=CONFIG_VAR_PATTERN)]
HIDDEN = "(sensitive)"  # a value drift does not show

# The field of [app] this kind owns (`AppSpec` composes it).
PRUNE_FIELD: Any = Field(
    default=False,
    description="Unset config vars that are on Heroku but not in this file.",
)


class FromEnv(Strict):
    """A config value read from the environment when planning: a secret, never printed or stored."""

    from_env: str = Field(
        pattern=CONFIG_VAR_PATTERN, description="Name of the environment variable to read."
    )
    optional: bool = Field(
        default=False, description="When the variable is not set, leave the config var out."
    )


ConfigValue = str | FromEnv


def _config_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "@str"
    if isinstance(value, dict | FromEnv):
        return "@env"
    return None


# The tags ("@str", "@env") appear in error locations; the loader drops them.
ConfigField = Annotated[
    Annotated[str, Tag("@str")] | Annotated[FromEnv, Tag("@env")],
    Discriminator(
        _config_kind,
        custom_error_type="config_value",
        custom_error_message="must be a string or a from_env table",
    ),
]


def undeclared_config(spec: StackFile, live: LiveState) -> list[str]:
    """Live config vars the file does not declare and no add-on sets, sorted.

    A declared key never counts, even an optional secret left out this time.
    """
    owned = addons.owned_config_vars(spec)
    for addon in live.addons:
        owned.update(addon.config_vars)
    return [k for k in sorted(live.config) if k not in spec.config and k not in owned]


def _write(run: AppRun, changes: list[Change]) -> None:
    body: dict[str, str | None] = {}
    for change in changes:
        body[change.name] = None if change.action == "destroy" else _value(run, change)
    run.client.update_config(run.app, body)


def _value(run: AppRun, change: Change) -> str:
    from herokustack.applier import ApplyError

    if not change.sensitive:
        return str(change.after)
    entry = run.config.get(change.name)
    if entry is None or secret_hash(run.key, change.name, entry.value) != change.value_hash:
        raise ApplyError(
            f"config.{change.name}: the secret's value is not the one planned "
            "(its environment variable changed or is missing)"
        )
    return entry.value


def _quoted(value: Any) -> str:
    import json

    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


class ConfigVars(Kind):
    name = "config_vars"
    resource = "config"
    label = "config"
    read_cost = "1 request: GET /apps/{app}/config-vars"
    always_read = True
    section = "config"
    quote_values = True
    expected = {
        "config": "a table of config vars",
        "config.*": 'a string or a table like { from_env = "VAR" }',
        "config.*.[key]": "a config var name: letters, digits and _, not starting with a digit",
        "config.*.from_env": "an environment variable name: letters, digits and _, "
        "not starting with a digit",
    }
    models_at = {"config.*": FromEnv}
    named = frozenset({("config",)})

    def wants_undeclared(self, spec: StackFile) -> bool:
        return spec.app.prune_config

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {"config": client.read_config(app)}

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        live = ctx.live.config
        for key, entry in ctx.config.items():
            if not re.fullmatch(CONFIG_VAR_PATTERN, key):
                continue  # another kind's value (drains[0].url): see Kind.resolved_values
            if key in live and live[key] == entry.value:
                continue
            action: Action = "update" if key in live else "create"
            if entry.sensitive:
                note = "(sensitive value changed)" if action == "update" else "(sensitive)"
                digest = secret_hash(ctx.key, key, entry.value)
                ctx.add(action, self.resource, key, sensitive=True, note=note, value_hash=digest)
            elif key in live and secret_reason(key, live[key]):
                # The file's value is in git already; the live one may be a real secret.
                note = "live value hidden: it looks like a secret"
                ctx.add(action, self.resource, key, after=entry.value, note=note)
            else:
                ctx.add(action, self.resource, key, before=live.get(key), after=entry.value)
        if ctx.spec.app.prune_config:
            for key in undeclared_config(ctx.spec, ctx.live):
                note = "not in the stack file (prune_config)"
                ctx.add("destroy", self.resource, key, sensitive=True, note=note)

    def steps(self) -> list[Step]:
        return [Step(50, "config vars", _write)]

    # -- text ---------------------------------------------------------------------------------

    def body(self, change: Change) -> str:
        if change.sensitive:
            if change.action == "destroy":
                return ""
            if change.action == "create":
                return " = (sensitive)"
            return " (sensitive value changed)"
        if change.action == "create":
            return f" = {_quoted(change.after)}"
        if change.action == "destroy":
            return ""
        before = "(hidden)" if change.before is None else _quoted(change.before)
        return f": {before} → {_quoted(change.after)}"

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.action == "destroy":  # prune_config: a live var the file does not declare
            return {"kind": "undeclared", "note": "apply unsets it (prune_config)"}
        item = super().drift_item(change, ctx)
        # The planner leaves out a live value that looks like a secret (set by hand).
        hidden = change.action == "update" and change.before is None and not change.sensitive
        if item and hidden:
            item["live"] = HIDDEN
        return item

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        if ctx.stack.spec.app.prune_config:
            return []  # the planner already reports them (apply would unset them)
        return [
            {
                "kind": "undeclared",
                "name": key,
                "sensitive": True,
                "note": "apply leaves it (prune_config = false)",
            }
            for key in undeclared_config(ctx.stack.spec, ctx.live)
        ]

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        base_app = builder.base.get("app") or {}
        if "prune_config" in base_app:
            doc["app"]["prune_config"] = base_app["prune_config"]
        base_config = builder.base.get("config") or {}
        owned: dict[str, str] = builder.shared.setdefault("owned", {})
        self._check_inline(builder, owned)
        table: dict[str, Any] = {}
        for key in sorted(builder.live.config):
            if key in owned:
                builder.note("config", f"{key} {owned[key]}")
            elif not re.fullmatch(CONFIG_VAR_PATTERN, key):
                builder.note("config", f"config var {key!r} cannot be declared (not a valid name)")
            else:
                table[key] = self._value(builder, key, base_config.get(key))
        doc["config"] = table

    def _value(self, builder: Builder, key: str, base: Any) -> Any:
        value = builder.live.config[key]
        if key in builder.options.inline:
            return value
        if isinstance(base, dict) and "from_env" in base:
            return base  # the partial already says where the secret comes from
        if isinstance(base, str) and base == value:
            return base  # the partial already holds this literal value
        return {"from_env": key}

    def _check_inline(self, builder: Builder, owned: Mapping[str, str]) -> None:
        live, options = builder.live, builder.options
        for key in sorted(options.inline):
            if key not in live.config:
                raise ImportProblem(
                    f"--inline-config {key}: app {live.name} has no such config var"
                )
            if key in owned:
                raise ImportProblem(f"--inline-config {key}: {key} {owned[key]}")
            reason = secret_reason(key, live.config[key])
            if reason and not options.force:
                raise ImportProblem(
                    f"--inline-config {key}: refusing to write {key} into the file: it would be "
                    f"a literal {reason} (HS011); it stays from_env unless you pass --force"
                )

    def import_table(self, values: Mapping[str, Any], notes: Sequence[str]) -> Any:
        import tomlkit

        table = tomlkit.table()
        for key in sorted(values):
            value = values[key]
            table[key] = toml_inline(value) if isinstance(value, dict) else value
        toml_comments(table, notes)
        return table

    def env_names(self, spec: StackFile) -> list[str]:
        return sorted({v.from_env for v in spec.config.values() if not isinstance(v, str)})

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        return {f"config.{key}": value for key, value in live.config.items()}


KIND = ConfigVars()
