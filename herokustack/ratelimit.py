"""Heroku's request budget, seen from herokustack: what a run will spend, what remains, and a
gate that never sends a request the budget has no room for.

Heroku gives an account 4,500 requests, regained at about 75 a minute, shared by every tool
and person using it; each answer tells what remains (`RateLimit-Remaining`), and
`GET /account/rate-limits` (not counted) tells it any time. Before reading, `plan` and
`apply` estimate what they will spend (`resources.estimate_reads`, then the writes) and refuse
in one line when it is more than remains, unless `--wait-for-rate-limit`. During every run the
client's `RateGate` keeps the requests in flight within what remains: when nothing is left it
waits, asking `/account/rate-limits` again as the budget refills, and says so on stderr.

Nothing here imports requests: `validate` stays light.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from herokustack.errors import HerokustackError

REFILL_PER_MINUTE = 75.0  # Heroku: 4,500 an hour
TELL_EVERY = 10.0  # seconds between two "waiting" lines
MAX_POLL = 10.0  # seconds between two looks at /account/rate-limits while waiting
WAIT_FLAG = "--wait-for-rate-limit"


class BudgetError(HerokustackError):
    """The run would spend more requests than the account has left."""


def minutes_to(needed: int, remaining: int, per_minute: float = REFILL_PER_MINUTE) -> int:
    """Whole minutes until `needed` requests are available, `remaining` being there now."""
    return max(0, math.ceil((needed - remaining) / per_minute)) if per_minute > 0 else 0


def refusal(what: str, needed: int, remaining: int, per_minute: float = REFILL_PER_MINUTE) -> str:
    """`this plan needs about 2,130 requests; 1,200 remain, refilling at 75/min: about 13 min`"""
    return (
        f"this {what} needs about {needed:,} requests; {remaining:,} remain, refilling at "
        f"{per_minute:g}/min: about {minutes_to(needed, remaining, per_minute)} min "
        f"({WAIT_FLAG} waits for them)"
    )


def check(what: str, needed: int, remaining: int | None, wait: bool) -> None:
    """Refuse (BudgetError) when `needed` is over `remaining`, unless the run may wait."""
    if remaining is not None and needed > remaining and not wait:
        raise BudgetError(refusal(what, needed, remaining))


class RateGate:
    """Keeps the requests sent within the budget Heroku last reported.

    `acquire` before each counted request takes one from `remaining`; `release` after it
    lowers `remaining` to what the answer's RateLimit-Remaining leaves for the requests still
    in flight (never raises it: answers come back out of order, and an old one would). When
    nothing remains and nothing is in flight, it asks `poll` (`GET /account/rate-limits`, not
    counted), and while that says nothing is left, waits as long as a request's refill takes
    (75 a minute) and asks again, telling `notify` every TELL_EVERY seconds. `spent` counts
    the requests let through.
    """

    def __init__(
        self,
        poll: Callable[[], int | None],
        notify: Callable[[str], None] | None,
        per_minute: float = REFILL_PER_MINUTE,
    ) -> None:
        self.poll = poll
        self.notify = notify
        self.per_minute = per_minute
        self.remaining: int | None = None  # unknown (not gated) until an answer or a poll tells
        self.inflight = 0
        self.spent = 0
        self.waited = 0.0  # seconds spent waiting for the budget
        self.to_go: Callable[[], int | None] = lambda: None  # requests the run still needs
        self._polling = False
        self._told = 0.0
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            while self.remaining is not None and self.remaining < 1:
                if self._polling or self.inflight:
                    self._cond.wait(0.5)  # an answer, or the poll under way, will tell
                    continue
                self._refill()
            if self.remaining is not None:
                self.remaining -= 1
            self.inflight += 1
            self.spent += 1

    def release(self, remaining: str | None) -> None:
        with self._cond:
            self.inflight = max(0, self.inflight - 1)
            told = remaining.strip() if remaining else ""
            if told.isdigit() and len(told) < 10:
                left = int(told) - self.inflight
                self.remaining = left if self.remaining is None else min(self.remaining, left)
            self._cond.notify_all()

    def set_remaining(self, remaining: int | None) -> None:
        with self._cond:
            self.remaining = remaining
            self._cond.notify_all()

    def _refill(self) -> None:
        """Called holding the lock, nothing left, nothing in flight: ask what remains, and
        while nothing does, wait a request's refill and ask again."""
        self._polling = True
        self._cond.release()
        try:
            found = self.poll()
            while found is not None and found < 1:
                self._tell(found)
                pause = min(MAX_POLL, max(0.2, 60 / self.per_minute))
                start = time.monotonic()
                time.sleep(pause)
                self.waited += time.monotonic() - start
                found = self.poll()
        finally:
            self._cond.acquire()
            self._polling = False
        # A server that does not tell: let one through (a 429 would be waited for as asked).
        self.remaining = found if found is not None else 1
        self._cond.notify_all()

    def _tell(self, remaining: int) -> None:
        now = time.monotonic()
        if self.notify is None or now - self._told < TELL_EVERY:
            return
        self._told = now
        wanted = max(1, self.to_go() or 1)
        minutes = minutes_to(wanted, remaining, self.per_minute)
        self.notify(
            f"waiting for Heroku's rate limit: {remaining:,} requests remain, "
            f"about {wanted:,} to go, refilling at {self.per_minute:g}/min"
            + (f": about {minutes} min" if minutes else "")
            + f" ({self.spent:,} sent so far)"
        )
