"""`--rate-limit N`: the emulator enforces Heroku's budget of requests (a token bucket)."""

from __future__ import annotations

import time

import httpx
from emu_helpers import HerokuSchema, client_for
from test_command import running

from herokustack.emulator import EmulatorServer
from herokustack.emulator.responses import RateBucket


def test_budget_decreases_then_429_and_rate_limits_is_free(heroku_schema: HerokuSchema) -> None:
    with EmulatorServer(rate_limit=3, rate_per_minute=0) as emu, client_for(emu) as http:
        seen = [int(http.get("/account").headers["RateLimit-Remaining"]) for _ in range(3)]
        assert seen == [2, 1, 0]
        for _ in range(2):  # asked again and again: never counted, never refused
            free = http.get("/account/rate-limits")
            assert free.status_code == 200 and free.json() == {"remaining": 0}
            heroku_schema.check_response("GET", "/account/rate-limits", free.json())
        refused = http.get("/apps")
        assert refused.status_code == 429
        assert refused.json() == {
            "id": "rate_limit",
            "message": "Your account reached the API rate limit\n"
            "Please wait a few minutes before making new requests",
        }
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert emu.throttled_count() == 1
        emu.set_rate_remaining(1)  # refilled: served again
        assert http.get("/account").status_code == 200


def test_budget_refills_per_minute_up_to_its_size() -> None:
    bucket = RateBucket(4500, enforce=True)  # Heroku's: 75 a minute
    bucket.tokens, bucket.stamp = 0.0, time.monotonic() - 60  # spent, a minute ago
    assert bucket.peek() == 75
    bucket.stamp -= 3600
    assert bucket.peek() == 4500  # never more than the budget
    bucket.tokens = 0.2
    assert bucket.seconds_to_token() == 1  # 0.8 of a token at 1.25 a second


def test_the_command_takes_rate_limit() -> None:
    with running("--rate-limit", "2", "--rate-refill", "0") as (url, _):
        auth = {"Authorization": "Bearer herokustack-local"}
        codes = [httpx.get(f"{url}/account", headers=auth).status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_without_rate_limit_the_budget_is_only_reported_and_never_empty() -> None:
    bucket = RateBucket(3)  # not enforced: the default emulator
    assert [bucket.take() for _ in range(5)] == [2, 1, 2, 1, 2]
    assert bucket.throttled == 0 and bucket.peek() > 0
