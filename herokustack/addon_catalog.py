"""The live add-on catalog: the plans each add-on service sells, read once per service per run.

`plan` and `apply` check every add-on plan the stack files name against it before planning,
so a plan Heroku does not sell (`heroku-redis:mega-9000`) is an error at plan time, naming the
file, the key and the closest plans, instead of a 422 at apply after other changes were made.
The same answers price the plan (`cost`), so the check costs nothing more when cost is shown.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from herokustack.client import HerokuClient
from herokustack.cost import ADDON_CENTS, catalog_fetch
from herokustack.errors import HerokustackError, StackFileError
from herokustack.resources.base import did_you_mean, listed
from herokustack.stackfile import Stack

MAX_LISTED = 6  # plan names listed in one message
MAX_PARALLEL = 8  # catalog requests at once


def services_of(stacks: Sequence[Stack]) -> set[str]:
    """The add-on services the stack files name."""
    return {a.service for stack in stacks for a in stack.spec.addons.values()}


class Catalog:
    """`GET /addon-services/{service}/plans`, cached per service for one run."""

    def __init__(self, client: HerokuClient) -> None:
        self._fetch = catalog_fetch(client)
        self._plans: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        # Why the catalog could not be read (e.g. a key without access): asked once per run.
        self.error: HerokustackError | None = None

    def plans_of(self, service: str) -> list[dict[str, Any]]:
        """The service's plans ([] for a service Heroku does not have)."""
        with self._lock:
            if self.error is not None:
                raise self.error
            if service not in self._plans:
                try:
                    self._plans[service] = self._fetch(service)
                except HerokustackError as exc:
                    self.error = exc
                    raise
            return self._plans[service]

    def read(self, services: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        wanted = sorted(set(services))
        self.prefetch(wanted)
        return {service: self.plans_of(service) for service in wanted}

    def prefetch(self, services: Iterable[str]) -> None:
        """Read the services not read yet all at once: one request each, in parallel, so a
        run naming five services waits one round trip, not five."""
        with self._lock:
            todo = [] if self.error else sorted(set(services) - set(self._plans))
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(todo))) as pool:
            results = list(pool.map(self._fetch_or_error, todo))
        with self._lock:
            for service, found in zip(todo, results, strict=True):
                if isinstance(found, HerokustackError):
                    self.error = self.error or found
                else:
                    self._plans.setdefault(service, found)

    def _fetch_or_error(self, service: str) -> list[dict[str, Any]] | HerokustackError:
        try:
            return self._fetch(service)
        except HerokustackError as exc:
            return exc

    def check(self, stacks: Sequence[Stack]) -> None:
        """Raise StackFileError listing every add-on plan of `stacks` the catalog lacks.

        A catalog that cannot be read (`error` says why) checks nothing: the plan goes on and
        the caller says so, since apply still makes creates and upgrades before any destroy.
        """
        self.prefetch(services_of(stacks))
        try:
            problems = [p for stack in stacks for p in self.problems(stack)]
        except HerokustackError:
            return
        if problems:
            raise StackFileError(list(dict.fromkeys(problems)))

    def note(self) -> str | None:
        """One line for stderr when the catalog could not be read."""
        if self.error is None:
            return None
        return (
            f"note: {self.error} (add-on plans are not checked against the catalog; "
            "prices come from the built-in table)"
        )

    def problems(self, stack: Stack) -> list[str]:
        found = []
        for local, spec in stack.spec.addons.items():
            names = [str(p.get("name") or "") for p in _cheapest_first(self.plans_of(spec.service))]
            if spec.plan in names:
                continue
            key = f"addons.{local}.plan"
            found.append(f"{stack.locate(key)[0]}: {key}: {_why(spec.plan, spec.service, names)}")
        return found


def _cheapest_first(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def cents(plan: dict[str, Any]) -> int:
        price = plan.get("price")
        value = price.get("cents") if isinstance(price, dict) else None
        return value if isinstance(value, int) else 0

    return sorted(plans, key=lambda p: (cents(p), str(p.get("name") or "")))


def _why(plan: str, service: str, names: list[str]) -> str:
    if not names:
        known = sorted({p.split(":", 1)[0] for p in ADDON_CENTS})
        return f"Heroku has no add-on service {service!r}{did_you_mean(service, known)}"
    short = [n.split(":", 1)[-1] for n in names]
    wanted = plan.split(":", 1)[-1]
    close = difflib.get_close_matches(wanted, short, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"{service} has no plan {wanted!r}{hint} (its plans: {listed(short, MAX_LISTED)})"
