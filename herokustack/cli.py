"""The `herokustack` command line: it only wires the other modules together.

Each command parses its options, calls the module that does the work, renders the
result and turns a `HerokustackError` into one clear message and exit code 1.
"""

# No `from __future__ import annotations`: typer would eval every annotation string at each
# start-up (~6 ms); the annotations here are plain runtime types.
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# herokustack uses no pydantic plugins: without this, the first model pydantic builds scans
# every installed package's entry points for them (importlib.metadata, ~40 ms of each start).
# setdefault: a user who sets the variable (to enable a plugin) keeps their choice.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # after the variable above: typer builds pydantic adapters
from typer._click import exceptions as click_errors
from typer.core import TyperArgument, TyperCommand, TyperGroup

from herokustack.errors import HerokustackError
from herokustack.term import use_color


class _Argument(TyperArgument):
    """An argument shown in help by its metavar alone (typer adds `<list[Path]>` beside it)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.metavar else super().display_type_rich(ctx)


class _Command(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:  # typer.Argument() takes no class to use
                param.__class__ = _Argument


class _Group(TyperGroup):
    """The root command: usage errors become one `error:` line like every other error."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click_errors.NoArgsIsHelpError as exc:  # bare `herokustack`: its help
            typer.echo(exc.format_message())
            code = 0
        except click_errors.ClickException as exc:
            code = usage_error(exc)
        except typer.Abort:  # EOF at a prompt
            error_line("aborted")
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def usage_error(exc: click_errors.ClickException) -> int:
    """`error: no such option: --bogus (see herokustack plan --help)`, exit 1: code 2 would
    read as "changes" to a CI job running `plan --detailed-exitcode`."""
    message = exc.format_message()
    message = message[:1].lower() + message[1:] if message[1:2].islower() else message
    ctx = getattr(exc, "ctx", None)
    hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
    error_line(message.rstrip(".") + hint)
    return 1


app = typer.Typer(
    name="herokustack",
    help="Manage Heroku apps as code: plan and apply TOML stack files.",
    cls=_Group,
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: readable at 80 columns, and no rich import to show it
    pretty_exceptions_enable=False,
)


def command(name: str) -> Any:
    return app.command(name, cls=_Command)


def error_line(message: str) -> None:
    """`error: message` on stderr; the message is printed as-is (it may quote user input)."""
    head = typer.style("error:", fg="red") if use_color(sys.stderr) else "error:"
    typer.echo(f"{head} {message}", err=True)


def note(message: str) -> None:
    typer.echo(message, err=True)


def fail(message: str) -> typer.Exit:
    """Print a user-facing error on stderr and return the Exit(1) to raise."""
    error_line(message)
    return typer.Exit(1)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"herokustack {version('herokustack')}")
        raise typer.Exit()


@app.callback()
def _root(
    _version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_show_version,
        help="Print the version and exit.",
    ),
    no_color: bool = typer.Option(
        False, "--no-color", help="No colours (the same as setting NO_COLOR)."
    ),
) -> None:
    """Manage Heroku apps as code: plan and apply TOML stack files."""
    if no_color:
        os.environ["NO_COLOR"] = "1"  # read by every console, rich's included


# --- commands are registered below, one small function each -------------------------------


# Options several commands share, so that they read the same everywhere.
_PATHS_ARG = typer.Argument(
    None, metavar="PATH", help="Stack files or directories (default: stacks/*.toml)."
)
_APP_OPT = typer.Option(None, "--app", help="Only this app (repeatable).", metavar="NAME")
_LOCAL_OPT = typer.Option(False, "--local", help="Use the local emulator (.herokustack/).")
_URL_OPT = typer.Option(
    None,
    "--api-url",
    metavar="URL",
    help="Platform API URL (default: HEROKU_API_URL, HEROKU_HOST, Heroku).",
)
_PAR_OPT = typer.Option(
    8, "--parallelism", min=1, max=64, metavar="N", help="Apps read/applied at once."
)
_FORMAT_OPT = typer.Option("text", "--format", help="text, json or markdown.", metavar="FORMAT")
_PRICES_OPT = typer.Option(
    None, "--prices", metavar="FILE", help="Monthly prices in cents (TOML or JSON) to use."
)


# --- validate and schema (issue 3): stack files ---------------------------------------------


@command("validate")
def validate_command(
    paths: list[Path] = _PATHS_ARG,
    output: str = _FORMAT_OPT,
) -> None:
    """Check stack files offline.

    TOML syntax, keys, types and Heroku's naming rules; partials too when a directory is named.
    """
    from herokustack import stackfile

    if output not in ("text", "json", "markdown"):
        raise fail(f"--format: unknown format {output!r} (text, json or markdown)")
    try:
        results = stackfile.check_files(stackfile.stack_paths(paths, partials=True))
    except HerokustackError as exc:
        raise fail(str(exc)) from None
    if output == "markdown":
        from herokustack import markdown  # it imports the plan renderers: only when asked

        typer.echo(markdown.validate_markdown(results), nl=False)
    else:
        render = stackfile.validation_json if output == "json" else stackfile.validation_text
        typer.echo(render(results), nl=False)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@command("schema")
def schema_command() -> None:
    """Print the JSON Schema of stack files.

    For editors that complete and check TOML against it: Taplo, Even Better TOML.
    """
    from herokustack import stackfile

    typer.echo(stackfile.schema_text(), nl=False)


# --- check (issue 6): production-readiness rules -------------------------------------------


@command("check")
def check_command(
    paths: list[Path] = _PATHS_ARG,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on warnings too."),
    output: str = typer.Option(
        "text", "--format", help="text, json, markdown or sarif.", metavar="FORMAT"
    ),
    list_rules: bool = typer.Option(False, "--list", help="List every rule and exit."),
    live: bool = typer.Option(False, "--live", help="Also check live state on Heroku."),
    local: bool = typer.Option(False, "--local", help="With --live: the local emulator."),
    api_url: str | None = _URL_OPT,
) -> None:
    """Check stack files against Heroku's production advice.

    Rules HS000-HS014 (--list shows them); --live adds the rules that need live state.
    """
    from herokustack import check_render, checks, session

    if output not in ("text", *check_render.RENDERERS):
        raise fail(f"--format: unknown format {output!r} (text, json, markdown or sarif)")
    if list_rules:
        render_list = check_render.RULE_LISTS.get(output, check_render.render_rule_list)
        typer.echo(render_list(), nl=False)
        return
    try:
        stacks = checks.load(paths or None)
        state = None
        if live:
            with session.open_target(local, api_url) as target:
                state = checks.read_live_state(target.client, stacks)
    except HerokustackError as exc:
        raise fail(str(exc)) from None
    findings = checks.run_checks(stacks, state, include_suppressed=True)
    typer.echo(check_render.render(findings, output), nl=False)
    raise typer.Exit(1 if checks.failed(findings, strict) else 0)


# --- cost (issue 8): declared monthly cost per app, process type and add-on ------------------


@command("cost")
def cost_command(
    paths: list[Path] = _PATHS_ARG,
    output: str = _FORMAT_OPT,
    prices: Path | None = _PRICES_OPT,
    live: bool = typer.Option(
        False, "--live", help="Price add-ons from the live add-on catalog (HEROKU_API_KEY)."
    ),
    local: bool = typer.Option(False, "--local", help="With --live: the local emulator."),
    api_url: str | None = _URL_OPT,
) -> None:
    """Show the monthly cost the stack files declare.

    Per app, process type and add-on, from Heroku's list prices (or --prices).
    """
    import json

    from herokustack import cost, session

    if output not in ("text", "json", "markdown"):
        raise fail(f"--format: unknown format {output!r} (text, json or markdown)")
    try:
        if live:
            with session.open_target(local, api_url) as target:
                costs = cost.declared_costs(paths, prices, lambda: target.client)
        else:
            costs = cost.declared_costs(paths, prices)
    except HerokustackError as exc:
        raise fail(str(exc)) from None
    if output == "json":
        typer.echo(json.dumps(cost.cost_json(costs), indent=2))
    elif output == "markdown":
        typer.echo(cost.cost_markdown(costs), nl=False)
    else:
        from rich.console import Console

        console = Console(highlight=False)
        console.print(cost.cost_table(costs))
        for note in cost.cost_notes(costs):
            console.print(note, markup=False)


# --- plan and apply (issue 4): live state against the stack files --------------------------


_WAIT_OPT = typer.Option(
    False,
    "--wait-for-rate-limit",
    help="When Heroku's request budget is short, wait for it (with progress) instead of "
    "refusing to start.",
)


@command("plan")
def plan_command(
    paths: list[Path] = _PATHS_ARG,
    apps: list[str] = _APP_OPT,
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0 when no changes, 2 when changes, 1 on error."
    ),
    output: str = _FORMAT_OPT,
    local: bool = _LOCAL_OPT,
    api_url: str | None = _URL_OPT,
    parallelism: int = _PAR_OPT,
    out: Path | None = typer.Option(
        None, "--out", help="Save the plan to apply later (herokustack apply FILE).", metavar="FILE"
    ),
    changed_since: str | None = typer.Option(
        None,
        "--changed-since",
        metavar="REF",
        help="Only stack files changed since this git ref (or extending a changed partial).",
    ),
    with_checks: bool = typer.Option(
        True, "--checks/--no-checks", help="Show check findings of the apps that change."
    ),
    with_cost: bool = typer.Option(True, "--cost/--no-cost", help="Show monthly cost per app."),
    prices: Path | None = _PRICES_OPT,
    cost_warn_above: str | None = typer.Option(
        None, "--cost-warn-above", metavar="USD", help="Warn when monthly cost grows by more."
    ),
    allow_destroy: list[str] = typer.Option(
        None,
        "--allow-destroy",
        metavar="NAME",
        help="Plan destroying this protect = false add-on (repeatable; saved with --out).",
    ),
    allow_transfer: list[str] = typer.Option(
        None,
        "--allow-transfer",
        metavar="APP",
        help="Plan moving this app of a team to the team its file names (repeatable).",
    ),
    wait_for_rate_limit: bool = _WAIT_OPT,
) -> None:
    """Show what would change on Heroku to match the stack files.

    Exits 0, or with --detailed-exitcode 2 when something would change; 1 on any error.
    """
    from herokustack import ci, session

    try:
        ci.check_format(output)
        warn = ci.warn_cents(cost_warn_above)
        run = ci.make_plan(
            paths,
            apps,
            changed_since,
            lambda: session.open_target(
                local, api_url, parallelism, wait_for_rate_limit=wait_for_rate_limit
            ),
            with_catalog=with_cost,
            allow_destroy=allow_destroy or (),
            where=session.target_name(local, api_url),
            allow_transfer=allow_transfer or (),
        )
        more = ci.extras(
            run, with_checks=with_checks, with_cost=with_cost, prices=prices, warn_above=warn
        )
        code = 2 if detailed_exitcode and run.plan.has_changes else 0
        doc = ci.document(run, code, more)
        saved = ci.write_plan(out, doc) if out is not None else None
    except HerokustackError as exc:
        raise fail(str(exc)) from None
    for text in (run.note, more.warning(), saved):
        if text:
            note(text)
    typer.echo(ci.plan_output(run, output, doc, more), nl=False)
    raise typer.Exit(code)


@command("apply")
def apply_command(
    paths: list[Path] = typer.Argument(
        None,
        metavar="PATH",
        help="Stack files or directories (default: stacks/*.toml), or one saved plan.",
    ),
    apps: list[str] = _APP_OPT,
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Apply without asking."),
    allow_destroy: list[str] = typer.Option(
        None,
        "--allow-destroy",
        metavar="NAME",
        help="Allow destroying this protect = false add-on (repeatable).",
    ),
    allow_transfer: list[str] = typer.Option(
        None,
        "--allow-transfer",
        metavar="APP",
        help="Allow moving this app of a team to the team its file names (repeatable).",
    ),
    output: str = _FORMAT_OPT,
    local: bool = _LOCAL_OPT,
    api_url: str | None = _URL_OPT,
    parallelism: int = _PAR_OPT,
    timeout: float = typer.Option(
        900.0, "--timeout", min=1, metavar="SECONDS", help="How long to wait for add-ons."
    ),
    plan_file: Path | None = typer.Option(
        None, "--plan", metavar="FILE", help="Apply this saved plan (from plan --out)."
    ),
    wait_for_rate_limit: bool = _WAIT_OPT,
) -> None:
    """Change Heroku to match the stack files (or a saved plan).

    Shows the plan and asks first, unless --auto-approve; a saved plan is applied without
    asking, as it was reviewed when made.
    """
    from herokustack import ci

    target_options = {
        "local": local,
        "api_url": api_url,
        "parallelism": parallelism,
        "command": "apply",
        "wait_for_rate_limit": wait_for_rate_limit,
    }
    try:
        ci.check_format(output)
        saved = ci.saved_plan_path(paths, plan_file)
        if saved is not None:
            if apps or allow_destroy or allow_transfer:
                raise HerokustackError(ci.SAVED_PLAN_OPTIONS)
            done = ci.apply_saved(saved, output, target_options, timeout)
        else:
            done = ci.apply_files(
                paths,
                apps,
                allow_destroy or (),
                output,
                target_options,
                timeout,
                auto_approve,
                allow_transfer or (),
            )
    except HerokustackError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(0 if done is None or done.ok else 1)


# --- import and drift (issue 7): adopt live apps, notice hand-made changes ----------------


@command("import")
def import_command(
    app_name: str = typer.Argument(None, metavar="APP", help="The Heroku app to import."),
    environment: str | None = typer.Option(
        None,
        "--environment",
        metavar="NAME",
        help="production, staging, review or development (default: guessed from the name).",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        metavar="PATH",
        help="File to write (default stacks/APP.toml; - for stdout); with --all a directory.",
    ),
    extends: str | None = typer.Option(
        None, "--extends", metavar="FILE", help="Partial to extend: write only what differs."
    ),
    inline_config: list[str] = typer.Option(
        None,
        "--inline-config",
        metavar="NAME,...",
        help="Config vars to write with their live value (non-secrets only).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Inline even config vars that look like secrets."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing files."),
    all_apps: bool = typer.Option(False, "--all", help="Import every app the key can see."),
    pipeline: str | None = typer.Option(
        None,
        "--pipeline",
        metavar="NAME",
        help="Import a pipeline's apps, with a partial _NAME.toml of what they share.",
    ),
    local: bool = _LOCAL_OPT,
    api_url: str | None = _URL_OPT,
) -> None:
    """Write the stack file of a live app.

    The file declares what the app has, so that plan shows no change; secrets stay
    `from_env` references.
    """
    from herokustack import importer, session

    if pipeline is not None:
        return _import_pipeline(pipeline, app_name, all_apps, out, overwrite, local, api_url)
    names = importer.config_names(inline_config)
    request = importer.ImportRequest(
        app_name, all_apps, out, environment, extends, names, force, overwrite
    )
    try:
        importer.check_request(request)
        with session.open_target(local, api_url) as target:
            written = importer.import_apps(target.client, request)
    except HerokustackError as exc:
        raise fail(str(exc)) from None
    for line in importer.report_lines(written):
        note(line)
    for item in written:
        if item.path is None and item.imported:
            typer.echo(item.imported.text, nl=False)
    raise typer.Exit(1 if any(w.error for w in written) else 0)


def _import_pipeline(
    name: str,
    app_name: str | None,
    all_apps: bool,
    out: Path | None,
    overwrite: bool,
    local: bool,
    api_url: str | None,
) -> None:
    from herokustack import importer, pipeline_import, session

    if app_name or all_apps:
        raise fail("--pipeline imports the pipeline's apps: name no APP, and no --all")
    try:
        with session.open_target(local, api_url) as target:
            partial, written = pipeline_import.import_pipeline(target.client, name, out, overwrite)
    except HerokustackError as exc:
        raise fail(str(exc)) from None
    note(f"✓ pipeline {name}: what its apps share → {partial}")
    for line in importer.report_lines(written):
        note(line)


@command("drift")
def drift_command(
    paths: list[Path] = _PATHS_ARG,
    apps: list[str] = _APP_OPT,
    output: str = _FORMAT_OPT,
    local: bool = _LOCAL_OPT,
    api_url: str | None = _URL_OPT,
    parallelism: int = _PAR_OPT,
    wait_for_rate_limit: bool = _WAIT_OPT,
) -> None:
    """Report where live apps differ from their stack files.

    Exits 2 when they do, 0 when they match, 1 on any error.
    """
    from herokustack import drift, session

    if output not in drift.FORMATS:
        raise fail(f"--format: unknown format {output!r} (text, json or markdown)")
    try:
        stacks = session.select_stacks(paths, apps)
        with session.open_target(
            local, api_url, parallelism, command="drift", wait_for_rate_limit=wait_for_rate_limit
        ) as target:
            report = drift.detect_drift(target, stacks)
    except HerokustackError as exc:
        raise fail(str(exc)) from None
    typer.echo(drift.RENDERERS[output](report), nl=False)
    raise typer.Exit(2 if report.has_drift else 0)


# --- emulator (issue 2): a local Heroku Platform API and Postgres data API ----------------


@command("emulator")
def emulator_command(
    host: str = typer.Option(
        "127.0.0.1", "--host", metavar="ADDRESS", help="Address to listen on (loopback)."
    ),
    port: int = typer.Option(
        5000, "--port", min=0, max=65535, metavar="N", help="Port (0: any free one)."
    ),
    data: Path | None = typer.Option(
        None, "--data", dir_okay=False, metavar="FILE", help="SQLite state (default: in memory)."
    ),
    latency: float = typer.Option(
        0.0, "--latency", min=0, metavar="MS", help="Delay per request, in ms."
    ),
    fail_rate: float = typer.Option(
        0.0, "--fail-rate", min=0, max=1, metavar="RATE", help="Fraction answered 503 or 429."
    ),
    provision_delay: float = typer.Option(
        0.0,
        "--provision-delay",
        min=0,
        metavar="SECONDS",
        help="How long new Postgres/Redis stay provisioning.",
    ),
    seed: int | None = typer.Option(
        None, "--seed", metavar="N", help="Makes --fail-rate deterministic."
    ),
    api_key: list[str] = typer.Option(
        None,
        "--api-key",
        metavar="KEY",
        help="Accepted API key (repeatable; env HEROKUSTACK_EMULATOR_API_KEYS).",
    ),
    rate_limit: int | None = typer.Option(
        None,
        "--rate-limit",
        min=1,
        metavar="N",
        help="Enforce a budget of N requests (Heroku: 4500), answering 429 when spent.",
    ),
    rate_refill: float | None = typer.Option(
        None,
        "--rate-refill",
        min=0,
        metavar="PER_MIN",
        help="Requests the budget regains a minute (default: N/60, as Heroku's 75).",
    ),
) -> None:
    """Serve a local emulator of the Heroku API until Ctrl-C."""
    from herokustack.emulator import server

    keys = server.api_keys_from(api_key, dict(os.environ))
    if host not in ("127.0.0.1", "localhost", "::1"):
        note(f"warning: listening on {host}, beyond loopback")
    emu = server.EmulatorServer(
        str(data) if data else None,
        latency,
        fail_rate,
        provision_delay,
        seed,
        keys,
        host,
        port,
        rate_limit=rate_limit,
        rate_per_minute=rate_refill,
    )
    server.serve(emu, lambda line: typer.echo(line))


def main(argv: Sequence[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="herokustack")
    except HerokustackError as exc:
        error_line(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        note("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
