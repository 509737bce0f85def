"""What `plan` and `apply` share: choose the stacks, reach Heroku (or the local emulator),
read live state and compute the plan. The CLI commands stay thin on top of this."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from herokustack import progress, ratelimit, resources, stackfile
from herokustack.addon_catalog import Catalog, services_of
from herokustack.applier import ApplyOptions, ApplyResult, BatchHook, StepHook, apply_plan
from herokustack.client import HerokuClient, api_key, client_from_options
from herokustack.client import api_url as client_api_url
from herokustack.errors import HerokustackError, StackFileError
from herokustack.facts import LiveState
from herokustack.local import DEFAULT_DATA_PATH, LocalHeroku
from herokustack.planfile import LOCAL
from herokustack.planner import Plan, make_plan
from herokustack.resources import pipelines, planned_kinds, read_apps, team
from herokustack.stackfile import ConfigEntry, Stack

Configs = dict[str, dict[str, ConfigEntry]]
PLAN_KEY_ENV = "HEROKUSTACK_PLAN_KEY"


def plan_pepper(secret: str) -> bytes:
    """The key material of a plan's hashes (`planner.hash_key`), from a secret the reader of a
    plan file does not have: HEROKUSTACK_PLAN_KEY when set (needed when plan and apply run
    with different API keys), else the Heroku API key itself."""
    return hmac.new(secret.encode(), b"herokustack plan pepper", hashlib.sha256).digest()


@dataclasses.dataclass
class Target:
    client: HerokuClient
    local: LocalHeroku | None = None
    pepper: bytes = dataclasses.field(default=b"", repr=False)
    catalog: Catalog = dataclasses.field(init=False, repr=False)
    command: str = "plan"  # what a budget refusal names
    wait_for_rate_limit: bool = False  # --wait-for-rate-limit: pace, never refuse
    estimated: int = 0  # requests the run was estimated to need, so far

    def __post_init__(self) -> None:
        self.catalog = Catalog(self.client)

    def check_budget(self, needed: int) -> None:
        """Refuse (one line, exit 1) a run of about `needed` more requests than Heroku's budget
        holds (`GET /account/rate-limits`, not counted), unless --wait-for-rate-limit."""
        gate = self.client.gate
        self.estimated += needed
        base, total = self.client.requests_spent, self.estimated
        gate.to_go = lambda: max(0, total - (self.client.requests_spent - base))
        remaining = self.client.rate_limit_remaining()
        if remaining is not None:
            gate.set_remaining(remaining)
        ratelimit.check(self.command, needed, remaining, self.wait_for_rate_limit)

    def requests_figures(self) -> dict[str, int | None]:
        """What the run spent of Heroku's budget (the plan document's `requests`)."""
        gate = self.client.gate
        return {"spent": gate.spent, "estimated": self.estimated, "remaining": gate.remaining}

    def read_lives(self, stacks: Sequence[Stack], every_kind: bool = False) -> dict[str, LiveState]:
        """Live state of each stack's app, read in parallel: the kinds its stack file needs
        (`resources.planned_kinds`), or with `every_kind` all of them (drift).

        Locally, an existing app whose formation lacks a declared process type gets a release
        with it (its code "deployed") and is read again.
        """
        if self.local:
            self.local.know(stacks)
        by_name = {s.name: s for s in stacks}
        kinds_for = None if every_kind else (lambda app: planned_kinds(by_name[app].spec))
        teams = {s.name: s.spec.app.team for s in stacks}
        spent = lambda: self.client.requests_spent  # noqa: E731
        with progress.bar("reading", len(by_name), spent) as done:
            lives = read_apps(self.client, list(by_name), kinds_for, teams, done)
        if self.local:
            deployed = self.local.ensure_released(lives)
            if deployed:
                lives.update(read_apps(self.client, deployed, kinds_for, teams))
        return lives


@contextmanager
def open_target(
    local: bool,
    api_url: str | None = None,
    parallelism: int = 8,
    environ: Mapping[str, str] = os.environ,
    data_path: Path = DEFAULT_DATA_PATH,
    *,
    command: str = "plan",
    wait_for_rate_limit: bool = False,
) -> Iterator[Target]:
    """Heroku (or --api-url) with the key from the environment, or the in-process emulator."""
    chosen = environ.get(PLAN_KEY_ENV, "")
    if not local:
        client = client_from_options(api_url, parallelism, environ)
        pepper = plan_pepper(chosen or api_key(environ))
        yield Target(client, None, pepper, command, wait_for_rate_limit)
        return
    with LocalHeroku(data_path, parallelism=parallelism) as emulator:
        assert emulator.client is not None
        pepper = plan_pepper(chosen or emulator.plan_secret())
        yield Target(emulator.client, emulator, pepper, command, wait_for_rate_limit)


def estimate_plan(stacks: Sequence[Stack]) -> int:
    """About how many requests planning these stacks costs: the reads of every app, one
    catalog request per add-on service named, and the teams when a file names one."""
    teams = any(s.spec.app.team for s in stacks)
    services = services_of(stacks)
    return resources.estimate_reads([s.spec for s in stacks]) + len(services) + int(teams)


def estimate_writes(plan: Plan) -> int:
    """About how many requests applying `plan` costs beyond planning it: each write step of
    each app, its guard (one request) and about one request per change."""
    total = 0
    for app_plan in plan.apps:
        changes = [c for c in app_plan.changes if c.is_change]
        for kind in resources.KINDS:
            mine = [c for c in changes if c.resource == kind.resource]
            for step in kind.steps():
                picked = [c for c in mine if step.pick(c)]
                if picked:
                    total += (1 + len(picked)) if step.writes else len(picked)
    return total


def target_name(local: bool, api_url: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """Where a plan is made, as its saved file records it: "local" or the Platform API URL."""
    return LOCAL if local else client_api_url(api_url, environ)


def saved_target(
    recorded: str, local: bool, api_url: str | None, name: str
) -> tuple[bool, str | None]:
    """(local, api_url) to apply a saved plan with: where it was made. --local or --api-url,
    when given, must name that same place."""
    if local and recorded != LOCAL:
        raise HerokustackError(
            f"{name}: planned against {recorded}, not the local emulator: apply it without --local"
        )
    if api_url is not None and recorded == LOCAL:
        raise HerokustackError(
            f"{name}: planned against the local emulator (plan --local): apply it without --api-url"
        )
    if api_url is not None and client_api_url(api_url) != recorded:
        raise HerokustackError(
            f"{name}: planned against {recorded}, not {client_api_url(api_url)}: "
            "apply it without --api-url"
        )
    return recorded == LOCAL, None if recorded == LOCAL else recorded


def select_stacks(paths: Sequence[Path] | None, apps: Iterable[str] | None) -> list[Stack]:
    """The stacks of `paths` (default: stacks/*.toml without partials), limited to `apps`."""
    from herokustack.product import in_stage_order  # a pipeline's apps together, by stage

    stacks = in_stage_order(stackfile.load_stacks(stackfile.stack_paths(paths)))
    wanted = list(dict.fromkeys(apps or ()))
    if not wanted:
        return stacks
    known = {s.name for s in stacks}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise HerokustackError(
            f"--app {unknown[0]}: no stack file declares this app "
            f"(declared: {', '.join(sorted(known)) or 'none'})"
        )
    return [s for s in stacks if s.name in wanted]


def resolve_configs(stacks: Sequence[Stack], environ: Mapping[str, str] = os.environ) -> Configs:
    """Resolved config vars of every stack; one error lists every missing variable."""
    configs: Configs = {}
    problems: list[str] = []
    for stack in stacks:
        try:
            configs[stack.name] = stackfile.resolve_config(stack, environ)
        except StackFileError as exc:
            problems += exc.problems
    if problems:
        raise StackFileError(problems)
    return configs


def compute_plan(
    target: Target,
    stacks: Sequence[Stack],
    configs: Configs,
    allow_destroy: Iterable[str] = (),
) -> Plan:
    """Read live state of every app in parallel, then diff it against the stacks."""
    return plan_with_lives(target, stacks, configs, allow_destroy)[0]


def plan_with_lives(
    target: Target,
    stacks: Sequence[Stack],
    configs: Configs,
    allow_destroy: Iterable[str] = (),
    salt: str | None = None,
    allow_transfer: Iterable[str] = (),
) -> tuple[Plan, dict[str, LiveState]]:
    """The plan and the live states it was computed from (saved plans fingerprint them).

    Every add-on plan the stacks name is checked against the live catalog, and every team an
    app moves into against the account's teams (after reading the apps, whose errors, e.g. a
    wrong --api-url, say more).
    """
    team.check_allow_transfer(allow_transfer, stacks)
    target.check_budget(estimate_plan(stacks))
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The catalog is read while the apps are; it is checked after them (their errors,
        # e.g. a wrong --api-url, say more), so the run waits for the slower of the two.
        pool.submit(target.catalog.prefetch, services_of(stacks))
        lives = target.read_lives(stacks)
    check_allow_destroy(allow_destroy, stacks, lives)
    target.catalog.check(stacks)
    team.check_teams(target.client, stacks, lives)
    lives = pipelines.with_pipelines(target.client, stacks, lives)
    assume = target.local.released_for_new() if target.local else {}
    plan = make_plan(
        stacks,
        configs,
        lives,
        salt=salt,
        pepper=target.pepper,
        allow_destroy=allow_destroy,
        assume_released=assume,
        allow_transfer=allow_transfer,
    )
    return plan, lives


def check_allow_destroy(
    names: Iterable[str], stacks: Sequence[Stack], lives: Mapping[str, LiveState]
) -> None:
    """Each --allow-destroy NAME must name an add-on of the planned apps, as the planner
    matches them: its local name in a stack file, or its name on Heroku. A typo would
    otherwise be accepted silently and the destroy stay refused without a word."""
    known = [local for s in stacks for local in s.spec.addons]
    known += [a.name for s in stacks for a in lives[s.name].addons if a.owner == s.name]
    valid = list(dict.fromkeys(known))
    for name in names:
        if name not in valid:
            given = name if name.isprintable() and len(name) <= 60 else repr(name[:60])
            shown = ", ".join(valid[:10]) + (", ..." if len(valid) > 10 else "")
            raise HerokustackError(
                f"--allow-destroy {given}: no add-on of the planned apps has this name "
                f"(add-ons: {shown or 'none'})"
            )


def run_apply(
    target: Target,
    plan: Plan,
    configs: Configs,
    timeout: float,
    on_step: StepHook | None = None,
    before_write: BatchHook | None = None,
) -> ApplyResult:
    options = ApplyOptions(
        timeout=timeout,
        parallelism=target.client.parallelism,
        on_step=on_step,
        after_create=target.local.deploy if target.local else None,
        before_write=before_write,
    )
    return apply_plan(target.client, plan, configs, options)
