"""Executes a `Plan` exactly, app by app in parallel, in a safe order within each app.

Order within an app: create app → maintenance ON → update app → add-ons (in parallel) →
config vars (one PATCH) → wait for add-ons to be provisioned → backup schedules → formation
(one batch PATCH) → maintenance OFF. Refused and deferred changes are never executed.

When a step fails, that app stops there; the others go on. Ctrl-C stops every app before its
next step (the step under way finishes). The result says, per app, which changes were done and
which were not. Nothing is stored locally: re-running apply plans again
from live state and so converges from wherever a run stopped.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from herokustack.client import HerokuClient
from herokustack.errors import HerokustackError
from herokustack.planner import AppPlan, Change, Plan, secret_hash
from herokustack.stackfile import ConfigEntry

StepHook = Callable[[str, str], None]  # (app, what is happening now)
CreatedHook = Callable[[str], None]  # called with the app name right after it is created
# Called before each write batch with (app, step, its changes); raises to stop that app there.
BatchHook = Callable[[str, str, list[Change]], None]


class ApplyError(HerokustackError):
    """A step of apply failed; the message names the step and never holds a secret."""


@dataclasses.dataclass
class AppOutcome:
    app: str
    done: list[Change] = dataclasses.field(default_factory=list)
    failed: list[Change] = dataclasses.field(default_factory=list)
    not_done: list[Change] = dataclasses.field(default_factory=list)
    error: str | None = None

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
        runner = _AppApplier(client, plan.hash_key, app_plan, config.get(app_plan.app, {}), opts)
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


class _AppApplier:
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
        self.addon_ids: dict[str, str] = {}  # attachment -> id of add-ons created in this run
        self.waited = False
        self.untried: list[Change] = []  # of the failing step: not even attempted
        self.outcome = AppOutcome(self.app)

    def pick(self, resource: str, when: Callable[[Change], bool] = lambda c: True) -> list[Change]:
        return [c for c in self.changes if c.resource == resource and when(c)]

    def steps(self) -> list[tuple[str, list[Change], Callable[[list[Change]], None]]]:
        def on(c: Change) -> bool:
            return bool(c.after)

        return [
            ("create app", self.pick("app", lambda c: c.action == "create"), self.create_app),
            ("maintenance on", self.pick("maintenance", on), self.maintenance),
            ("update app", self.pick("app", lambda c: c.action == "update"), self.update_app),
            ("add-ons", self.pick("addon"), self.addons),
            ("config vars", self.pick("config"), self.config_vars),
            ("wait for add-ons", self.pick("addon", lambda c: c.action != "destroy"), self.wait),
            ("backup schedules", self.pick("backup"), self.backups),
            ("formation", self.pick("formation"), self.formation),
            ("maintenance off", self.pick("maintenance", lambda c: not c.after), self.maintenance),
        ]

    def run(self) -> AppOutcome:
        steps = [s for s in self.steps() if s[1]]
        for index, (title, changes, action) in enumerate(steps):
            if self.opts.stop.is_set():
                self.outcome.error = f"{title}: interrupted (Ctrl-C) before this step"
                return self.stop_at(title, steps[index:])
            self.step(title)
            try:
                if self.opts.before_write and title != "wait for add-ons":
                    self.opts.before_write(self.app, title, changes)
                action(changes)
            except HerokustackError as exc:
                self.outcome.error = f"{title}: {exc}"
                tried = [c for c in changes if c not in self.untried]
                self.outcome.failed += [c for c in tried if c not in self.outcome.done]
                self.outcome.not_done += self.untried
                return self.stop_at(title, steps[index + 1 :])
            self.outcome.done += [c for c in changes if c not in self.outcome.done]
        self.step("done")
        return self.outcome

    def stop_at(self, title: str, later: list[tuple[str, list[Change], Any]]) -> AppOutcome:
        # An add-on change is also in "wait for add-ons": list each change once.
        for _, changes, _ in later:
            self.outcome.not_done += [c for c in changes if not self.reported(c)]
        self.step(f"stopped at {title}")
        return self.outcome

    def reported(self, change: Change) -> bool:
        out = self.outcome
        return change in out.done or change in out.failed or change in out.not_done

    def step(self, text: str) -> None:
        if self.opts.on_step:
            self.opts.on_step(self.app, text)

    # -- the steps -------------------------------------------------------------------------------

    def create_app(self, changes: list[Change]) -> None:
        after = changes[0].after
        self.client.create_app(self.app, after["region"], after["stack"])
        if self.opts.after_create:
            self.opts.after_create(self.app)

    def update_app(self, changes: list[Change]) -> None:
        fields = {c.field: c.after for c in changes if c.field}
        self.client.update_app(self.app, **fields)

    def maintenance(self, changes: list[Change]) -> None:
        self.client.update_app(self.app, maintenance=bool(changes[0].after))

    def addons(self, changes: list[Change]) -> None:
        # Creates and upgrades first, destroys last, so that a create Heroku refuses never
        # follows a destroy. A replacement cannot wait: its new add-on takes the attachment
        # name of the old one (unique per app), so it is created right after that destroy.
        destroys = [c for c in changes if c.action == "destroy"]
        freed = {c.attachment for c in destroys}
        replacing = [c for c in changes if c.action == "create" and c.attachment in freed]
        first = [c for c in changes if c.action != "destroy" and c not in replacing]
        batches = [first, destroys, replacing]
        for index, batch in enumerate(batches):
            try:
                self.parallel(batch, self.addon)
            except ApplyError:
                self.untried = [c for later in batches[index + 1 :] for c in later]
                raise

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

    def addon(self, change: Change) -> None:
        attachment = change.attachment or change.name
        if change.action == "create":
            config = change.params.get("config", {})
            created = self.client.create_addon(self.app, change.after, attachment, config)
            self.addon_ids[attachment] = created.id
        elif change.action == "update":
            assert change.addon_id
            self.client.upgrade_addon(self.app, change.addon_id, change.after)
        else:
            assert change.addon_id
            self.client.destroy_addon(self.app, change.addon_id)

    def config_vars(self, changes: list[Change]) -> None:
        body: dict[str, str | None] = {}
        for change in changes:
            body[change.name] = None if change.action == "destroy" else self.value(change)
        self.client.update_config(self.app, body)

    def value(self, change: Change) -> str:
        if not change.sensitive:
            return str(change.after)
        entry = self.config.get(change.name)
        if entry is None or secret_hash(self.key, change.name, entry.value) != change.value_hash:
            raise ApplyError(
                f"config.{change.name}: the secret's value is not the one planned "
                "(its environment variable changed or is missing)"
            )
        return entry.value

    def wait(self, _changes: list[Change]) -> None:
        """Poll the add-ons with backoff until none is provisioning, or the timeout."""
        self.waited = True
        start = time.monotonic()
        delay = self.opts.poll_first
        while True:
            pending = [a for a in self.client.list_addons(self.app) if a.state == "provisioning"]
            if not pending:
                return
            if self.opts.stop.is_set():
                raise ApplyError("interrupted (Ctrl-C) while add-ons were provisioning")
            waited = time.monotonic() - start
            names = ", ".join(a.name for a in pending)
            if waited + delay > self.opts.timeout:
                raise ApplyError(
                    f"add-ons still provisioning after {waited:.0f}s: {names} "
                    "(raise --timeout, or run apply again later)"
                )
            self.step(f"waiting for add-ons to be provisioned ({names}, {waited:.0f}s)")
            time.sleep(delay)
            delay = min(delay * 1.6, self.opts.poll_max)

    def backups(self, changes: list[Change]) -> None:
        if not self.waited:  # a database may still be provisioning from an earlier run
            self.wait([])
        for change in changes:
            addon_id = change.addon_id or self.addon_ids.get(change.attachment or "")
            if not addon_id:
                addon_id = self.find_addon_id(change.attachment or "")
            params: dict[str, Any] = change.params
            if change.action == "destroy":
                self.client.unschedule_backups(addon_id, params["uuid"])
            else:
                self.client.schedule_backups(
                    addon_id, params["schedule_name"], params["hour"], params["timezone"]
                )
            self.outcome.done.append(change)

    def find_addon_id(self, attachment: str) -> str:
        addon = self.client.find_addon(self.app, attachment)
        if addon is None:
            raise ApplyError(f"no add-on is attached as {attachment}")
        return addon.id

    def formation(self, changes: list[Change]) -> None:
        updates: dict[str, dict[str, Any]] = {}
        for change in changes:
            entry = updates.setdefault(change.name, {"type": change.name})
            if change.field:
                entry[change.field] = change.after
            else:
                entry.update(change.after)
        self.client.scale(self.app, list(updates.values()))
