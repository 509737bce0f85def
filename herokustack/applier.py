"""Executes a `Plan` exactly, app by app in parallel, in a safe order within each app.

Each kind of resource (herokustack/resources/) gives its steps, each with its place in the
order (`Step.order`); within an app they run in that order. Today: create app → maintenance ON
→ update app → add-ons (in parallel) → config vars (one PATCH) → wait for add-ons to be
provisioned → backup schedules → formation (one batch PATCH) → domains (removed, then added)
→ ACM → maintenance OFF. Refused and deferred changes are never executed. What Heroku answers
that the user must act on (a new domain's DNS target) is kept as the app's `notes`.

When a step fails, that app stops there; the others go on. Ctrl-C stops every app before its
next step (the step under way finishes). The result says, per app, which changes were done and
which were not. Nothing is stored locally: re-running apply plans again
from live state and so converges from wherever a run stopped.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from herokustack import resources
from herokustack.client import HerokuClient
from herokustack.errors import HerokustackError
from herokustack.planner import AppPlan, Change, Plan
from herokustack.resources.base import Step
from herokustack.stackfile import ConfigEntry

StepHook = Callable[[str, str], None]  # (app, what is happening now)
CreatedHook = Callable[[str], None]  # called with the app name right after it is created
# Called before each write batch with (app, step, its changes); raises to stop that app there.
BatchHook = Callable[[str, str, list[Change]], None]


class ApplyError(HerokustackError):
    """A step of apply failed; the message names the step and never holds a secret."""


@dataclasses.dataclass(frozen=True)
class Note:
    """What Heroku answered to a change that the user must act on (a new domain's DNS target):
    `text` for people, `data` for the JSON output."""

    resource: str
    name: str
    text: str
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class AppOutcome:
    app: str
    done: list[Change] = dataclasses.field(default_factory=list)
    failed: list[Change] = dataclasses.field(default_factory=list)
    not_done: list[Change] = dataclasses.field(default_factory=list)
    error: str | None = None
    notes: list[Note] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclasses.dataclass
class ApplyResult:
    apps: list[AppOutcome]

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.apps)


@dataclasses.dataclass
class ApplyOptions:
    timeout: float = 900.0  # seconds to wait for add-ons to be provisioned, per app
    parallelism: int = 8
    on_step: StepHook | None = None
    after_create: CreatedHook | None = None
    poll_first: float = 0.2
    poll_max: float = 10.0
    before_write: BatchHook | None = None
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)


def apply_plan(
    client: HerokuClient,
    plan: Plan,
    config: Mapping[str, Mapping[str, ConfigEntry]],
    options: ApplyOptions | None = None,
) -> ApplyResult:
    """Apply every app of `plan`; `config` holds the resolved config (secrets) by app."""
    opts = options or ApplyOptions()
    todo = [a for a in plan.apps if a.has_work]
    if not todo:
        return ApplyResult([])

    def run(app_plan: AppPlan) -> AppOutcome:
        runner = AppRun(client, plan.hash_key, app_plan, config.get(app_plan.app, {}), opts)
        return runner.run()

    with ThreadPoolExecutor(max_workers=min(opts.parallelism, len(todo))) as pool:
        futures = [pool.submit(run, app_plan) for app_plan in todo]
        try:
            # Short waits keep the main thread able to take Ctrl-C.
            while wait(futures, timeout=0.2).not_done:
                pass
        except KeyboardInterrupt:
            opts.stop.set()  # each app stops before its next step; the report says where
            wait(futures)
        return ApplyResult([f.result() for f in futures])


class AppRun:
    """Applying one app: what the kinds' steps get (the client, the app, its resolved config,
    the options), and `shared`, where one step leaves what a later one needs."""

    def __init__(
        self,
        client: HerokuClient,
        key: bytes,
        app_plan: AppPlan,
        config: Mapping[str, ConfigEntry],
        opts: ApplyOptions,
    ) -> None:
        self.client = client
        self.key = key
        self.app = app_plan.app
        self.changes = [c for c in app_plan.changes if c.is_change]
        self.config = config
        self.opts = opts
        self.shared: dict[str, Any] = {}
        self.untried: list[Change] = []  # of the failing step: not even attempted
        self.outcome = AppOutcome(self.app)

    def each(self, changes: Sequence[Change], one: Callable[[AppRun, Change], None]) -> None:
        """Apply `changes` one at a time, in order, each with `one`: each is done once it
        returns; when one fails, the rest are untried and the error goes on."""
        for index, change in enumerate(changes):
            try:
                one(self, change)
            except HerokustackError:
                self.untried += changes[index + 1 :]
                raise
            self.outcome.done.append(change)

    def steps(self) -> list[tuple[Step, list[Change]]]:
        """Every kind's steps in their order, each with the changes it takes."""
        found = [
            (step, [c for c in self.changes if c.resource == kind.resource and step.pick(c)])
            for kind in resources.KINDS
            for step in kind.steps()
        ]
        return sorted(found, key=lambda item: item[0].order)

    def run(self) -> AppOutcome:
        steps = [s for s in self.steps() if s[1]]
        for index, (step, changes) in enumerate(steps):
            title = step.title
            if self.opts.stop.is_set():
                self.outcome.error = f"{title}: interrupted (Ctrl-C) before this step"
                return self.stop_at(title, steps[index:])
            self.step(title)
            try:
                if self.opts.before_write and step.writes:
                    self.opts.before_write(self.app, title, changes)
                step.run(self, changes)
            except HerokustackError as exc:
                self.outcome.error = f"{title}: {exc}"
                tried = [c for c in changes if c not in self.untried]
                self.outcome.failed += [c for c in tried if c not in self.outcome.done]
                self.outcome.not_done += self.untried
                return self.stop_at(title, steps[index + 1 :])
            self.outcome.done += [c for c in changes if c not in self.outcome.done]
        self.step("done")
        return self.outcome

    def stop_at(self, title: str, later: list[tuple[Step, list[Change]]]) -> AppOutcome:
        # A change may be in two steps (an add-on's: "wait for add-ons"): list each once.
        for _, changes in later:
            self.outcome.not_done += [c for c in changes if not self.reported(c)]
        self.step(f"stopped at {title}")
        return self.outcome

    def reported(self, change: Change) -> bool:
        out = self.outcome
        return change in out.done or change in out.failed or change in out.not_done

    def step(self, text: str) -> None:
        if self.opts.on_step:
            self.opts.on_step(self.app, text)

    # -- for the steps -------------------------------------------------------------------------

    def note(self, change: Change, text: str, **data: Any) -> None:
        """Tell the user what Heroku answered to `change` (shown with the apply result)."""
        self.outcome.notes.append(Note(change.resource, change.name, text, data))

    def parallel(self, changes: list[Change], action: Callable[[Change], None]) -> None:
        if not changes:
            return
        errors: list[str] = []

        def one(change: Change) -> None:
            try:
                action(change)
                self.outcome.done.append(change)
            except HerokustackError as exc:
                errors.append(str(exc))

        with ThreadPoolExecutor(max_workers=min(4, len(changes))) as pool:
            list(pool.map(one, changes))
        if errors:
            raise ApplyError("; ".join(errors))
