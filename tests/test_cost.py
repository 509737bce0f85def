"""The cost model: prices, price files, the catalog cache, and USD formatting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from live_fixtures import app_info

from herokustack.cost import (
    ADDON_CENTS,
    DYNO_CENTS,
    ECO_PLAN_CENTS,
    CostChange,
    PriceBook,
    catalog_prices,
    change_totals,
    cost_of,
    cost_of_state,
    format_change,
    format_delta,
    format_monthly,
    format_usd,
    markdown_delta,
    parse_usd,
    plan_cost,
    plan_cost_text,
    total_cents,
)
from herokustack.emulator import catalog
from herokustack.errors import HerokustackError
from herokustack.facts import LiveAddon, LiveProcess, LiveState
from herokustack.planner import make_plan
from herokustack.stackfile import Stack, StackFile


def stack(name: str, formation: dict[str, Any], addons: dict[str, Any]) -> StackFile:
    return StackFile.model_validate(
        {
            "app": {"name": name, "environment": "production"},
            "formation": formation,
            "addons": addons,
        }
    )


SHOP = stack(
    "shop",
    {
        "web": {"quantity": 2, "size": "performance-l"},
        "worker": {"quantity": 3, "size": "standard-2x"},
    },
    {
        "database": {"plan": "heroku-postgresql:standard-0"},
        "cache": {"plan": "heroku-redis:premium-0"},
    },
)


# --- formatting -----------------------------------------------------------------------------


def test_usd_formats() -> None:
    assert format_usd(26000) == "$260.00"
    assert format_usd(200000) == "$2,000.00"
    assert format_usd(5) == "$0.05"
    assert format_monthly(26000) == "$260.00/mo"
    assert format_delta(5000) == "+$50.00"
    assert format_delta(-5000) == "-$50.00"
    assert format_delta(0) == "$0.00"
    assert format_change(26000, 31000) == "$260.00/mo → $310.00/mo (+$50.00)"


@settings(max_examples=60)
@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_usd_round_trips_to_the_cent(cents: int) -> None:
    text = format_delta(cents)
    match = re.fullmatch(r"([+-]?)\$([\d,]+)\.(\d\d)", text)
    assert match, text
    sign, dollars, rest = match.groups()
    value = int(dollars.replace(",", "")) * 100 + int(rest)
    assert (-value if sign == "-" else value) == cents
    assert (sign == "+") == (cents > 0)


def test_parse_usd_threshold() -> None:
    assert parse_usd("100") == 100 * 100
    assert parse_usd("$1,250.5") == 1250 * 100 + 50
    for bad in ("-1", "abc", "1.001", "nan", ""):
        with pytest.raises(HerokustackError, match="expected an amount in US dollars"):
            parse_usd(bad)


@settings(max_examples=40)
@given(st.integers(min_value=0, max_value=10**9))
def test_parse_usd_reads_what_format_usd_writes(cents: int) -> None:
    assert parse_usd(format_usd(cents)) == cents


# --- declared stacks ------------------------------------------------------------------------


def test_stack_cost_is_quantity_times_size_plus_addon_plans() -> None:
    cost = cost_of(SHOP, PriceBook.builtin())
    expected = (
        2 * DYNO_CENTS["performance-l"]
        + 3 * DYNO_CENTS["standard-2x"]
        + ADDON_CENTS["heroku-postgresql:standard-0"]
        + ADDON_CENTS["heroku-redis:premium-0"]
    )
    assert cost.cents == expected
    assert cost.unpriced == ()
    web = next(i for i in cost.items if i.name == "web")
    assert (web.kind, web.plan, web.quantity, web.cents) == ("dyno", "performance-l", 2, 100000)


def test_scaling_web_from_2_to_6_performance_l_adds_2000_dollars() -> None:
    prices = PriceBook.builtin()
    before = cost_of_state("shop", [("web", 2, "performance-l")], {}, prices)
    after = cost_of_state("shop", [("web", 6, "Performance-L")], {}, prices)
    assert format_change(before.cents, after.cents) == ("$1,000.00/mo → $3,000.00/mo (+$2,000.00)")


def test_unknown_plan_and_size_are_listed_not_guessed() -> None:
    # A live app can run a size newer than the table; a stack can name any add-on plan.
    spec = stack("odd", {}, {"search": {"plan": "bonsai:sandbox-99"}})
    assert cost_of(spec, PriceBook.builtin()).unpriced == ("bonsai:sandbox-99",)
    live = cost_of_state(
        "odd", [("web", 2, "Quantum-9X")], ["bonsai:sandbox-99"], PriceBook.builtin()
    )
    assert live.cents == 0
    assert set(live.unpriced) == {"quantum-9x", "bonsai:sandbox-99"}


def test_eco_subscription_counts_once_for_all_apps() -> None:
    eco = [stack(f"hobby-{n}", {"web": {"quantity": 1, "size": "eco"}}, {}) for n in range(3)]
    costs = [cost_of(s, PriceBook.builtin()) for s in eco]
    assert [c.cents for c in costs] == [0, 0, 0]
    assert total_cents(costs) == ECO_PLAN_CENTS
    shop = cost_of(SHOP, PriceBook.builtin())
    assert total_cents([shop]) == shop.cents  # no eco dynos: no subscription


# Sizes a stack file accepts together in one app (Heroku does not mix tiers).
sizes = st.sampled_from([s for s in DYNO_CENTS if s.startswith(("standard", "performance"))])
plans = st.sampled_from([*ADDON_CENTS, "nope:plan"])


@settings(max_examples=50)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,8}", fullmatch=True),
        st.tuples(st.integers(0, 50), sizes),
        max_size=4,
    ),
    st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), plans, max_size=4),
)
def test_declared_and_live_state_cost_the_same(
    formation: dict[str, tuple[int, str]], addons: dict[str, str]
) -> None:
    prices = PriceBook.builtin()
    spec = stack(
        "app",
        {t: {"quantity": q, "size": s} for t, (q, s) in formation.items()},
        {k: {"plan": p, "as": f"ADDON_{k.upper()}"} for k, p in addons.items()},
    )
    live_formation = [(t, q, s.upper()) for t, (q, s) in formation.items()]  # as Heroku spells
    live = cost_of_state("app", live_formation, addons, prices)
    assert cost_of(spec, prices) == live
    known = sum(q * DYNO_CENTS[s] for q, s in formation.values())
    assert live.cents == known + sum(ADDON_CENTS.get(p, 0) for p in addons.values())


# --- price files ----------------------------------------------------------------------------


def test_price_file_overrides_the_builtin_table(tmp_path: Path) -> None:
    toml = tmp_path / "prices.toml"
    toml.write_text(
        '[dynos]\n"Performance-L" = 45000\n\n[addons]\n"heroku-redis:premium-0" = 1000\n'
    )
    json_file = tmp_path / "prices.json"
    json_file.write_text(
        '{"dynos": {"performance-l": 45000}, "addons": {"heroku-redis:premium-0": 1000}}'
    )
    for path in (toml, json_file):
        cost = cost_of(SHOP, PriceBook.builtin().with_file(path))
        expected = (
            2 * 45000
            + 3 * DYNO_CENTS["standard-2x"]
            + ADDON_CENTS["heroku-postgresql:standard-0"]
            + 1000
        )
        assert cost.cents == expected
        web = next(i for i in cost.items if i.name == "web")
        assert web.source == "file"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.toml", "[dynos]\nbasic = 7.5\n", "p.toml: dynos.basic: expected a whole number"),
        ("p.toml", "[dynos]\nbasic = -1\n", "p.toml: dynos.basic: expected a whole number"),
        ("p.toml", "[addons]\npapertrail = 700\n", "p.toml: addons.papertrail: expected a `ser"),
        ("p.toml", "dynos = 3\n", "p.toml: dynos: expected a table"),
        ("p.toml", "[dynoz]\nbasic = 700\n", "p.toml: dynoz: unknown key"),
        ("p.toml", "[dynos\n", "p.toml: not valid TOML"),
        ("p.json", '{"dynos": {"basic": "7"}}', "p.json: dynos.basic: expected a whole number"),
        ("p.json", "[1, 2]", "p.json: expected a table"),
        ("p.json", "{", "p.json: not valid JSON"),
    ],
)
def test_bad_price_file_is_one_clear_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(HerokustackError) as info:
        PriceBook.builtin().with_file(path)
    assert str(info.value).startswith(f"{tmp_path / message}")
    assert "\n" not in str(info.value)


def test_missing_price_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(HerokustackError, match=r"nope\.toml: cannot read price file"):
        PriceBook.builtin().with_file(tmp_path / "nope.toml")


# --- the add-on catalog ---------------------------------------------------------------------


class CountingCatalog:
    def __init__(self, plans: dict[str, list[dict[str, Any]]]) -> None:
        self.plans = plans
        self.calls: list[str] = []

    def __call__(self, service: str) -> list[dict[str, Any]]:
        self.calls.append(service)
        return self.plans.get(service, [])


def plan(name: str, cents: int, unit: str = "month", contract: bool = False) -> dict[str, Any]:
    return {"name": name, "price": {"cents": cents, "unit": unit, "contract": contract}}


def test_catalog_price_wins_and_each_service_is_asked_once() -> None:
    catalog = CountingCatalog(
        {
            "heroku-postgresql": [plan("heroku-postgresql:standard-0", 5500)],
            "heroku-redis": [plan("premium-0", 1600)],  # short names are the service's own
        }
    )
    prices = PriceBook.builtin().with_catalog(catalog)
    costs = [cost_of(SHOP, prices) for _ in range(5)]
    assert sorted(catalog.calls) == ["heroku-postgresql", "heroku-redis"]
    dynos = 2 * DYNO_CENTS["performance-l"] + 3 * DYNO_CENTS["standard-2x"]
    assert {c.cents for c in costs} == {dynos + 5500 + 1600}
    assert {i.source for i in costs[0].items if i.kind == "addon"} == {"catalog"}


def test_catalog_missing_plan_falls_back_to_the_table_and_file_beats_catalog(
    tmp_path: Path,
) -> None:
    catalog = CountingCatalog({"heroku-postgresql": [plan("heroku-postgresql:standard-0", 5500)]})
    prices_file = tmp_path / "prices.toml"
    prices_file.write_text('[addons]\n"heroku-postgresql:standard-0" = 4000\n')
    prices = PriceBook.builtin().with_file(prices_file).with_catalog(catalog)
    cost = cost_of(SHOP, prices)
    addons = {i.plan: (i.cents, i.source) for i in cost.items if i.kind == "addon"}
    assert addons == {
        "heroku-postgresql:standard-0": (4000, "file"),
        "heroku-redis:premium-0": (ADDON_CENTS["heroku-redis:premium-0"], "built-in"),
    }


def test_catalog_ignores_contract_and_non_monthly_prices() -> None:
    answer = [
        plan("s:monthly", 700),
        plan("s:hourly", 2, unit="hour"),
        plan("s:contract", 0, contract=True),
        {"name": "s:no-price"},
        {"name": "s:bad", "price": {"cents": "7", "unit": "month"}},
    ]
    assert catalog_prices("s", answer) == {"s:monthly": 700}


# --- cost changes (the plan's hooks) --------------------------------------------------------


def test_change_of_a_scale_and_an_addon_upgrade() -> None:
    prices = PriceBook.builtin()
    before = cost_of_state(
        "shop",
        [("web", 2, "Standard-1X")],
        {"database": "heroku-postgresql:essential-0"},
        prices,
    )
    after = cost_of(
        stack(
            "shop",
            {"web": {"quantity": 3, "size": "standard-1x"}},
            {"database": {"plan": "heroku-postgresql:standard-0"}},
        ),
        prices,
    )
    change = CostChange(before, after)
    # One more standard-1x dyno and essential-0 -> standard-0.
    delta = DYNO_CENTS["standard-1x"] + (
        ADDON_CENTS["heroku-postgresql:standard-0"] - ADDON_CENTS["heroku-postgresql:essential-0"]
    )
    assert change.delta_cents == delta == 7000
    assert change.line() == "cost: $55.00/mo → $125.00/mo (+$70.00)"
    assert change.json() == {"cost_before_cents": 5500, "cost_after_cents": 12500}


def test_plan_totals_count_eco_once_per_side() -> None:
    prices = PriceBook.builtin()
    eco = cost_of_state("a", [("web", 1, "eco")], {}, prices)
    basic = cost_of_state("a", [("web", 1, "basic")], {}, prices)
    other = cost_of_state("b", [("web", 1, "eco")], {}, prices)
    changes = [CostChange(eco, basic), CostChange(other, other)]
    assert change_totals(changes) == (ECO_PLAN_CENTS, DYNO_CENTS["basic"] + ECO_PLAN_CENTS)
    assert change_totals([CostChange(eco, basic)]) == (ECO_PLAN_CENTS, DYNO_CENTS["basic"])


def test_markdown_delta_is_bold_only_above_the_threshold() -> None:
    assert markdown_delta(10001, 10000) == "**+$100.01**"
    assert markdown_delta(10000, 10000) == "+$100.00"
    assert markdown_delta(-50000, 0) == "-$500.00"
    assert markdown_delta(10**9, None) == "+$10,000,000.00"


# --- cost of a plan: live state before, live state + the plan's changes after ---------------


def live_addon(id_: str, plan: str, attachment: str, owner: str = "shop") -> LiveAddon:
    return LiveAddon(
        id=id_,
        name=f"addon-{id_}",
        service=plan.split(":")[0],
        plan=plan,
        state="provisioned",
        owner=owner,
        attachments=(attachment,),
    )


def test_plan_cost_follows_what_apply_would_do() -> None:
    spec = stack(
        "shop",
        {
            "web": {"quantity": 6, "size": "performance-l"},
            "clock": {"quantity": 1, "size": "performance-l"},  # not released yet: deferred
        },
        {"database": {"plan": "heroku-postgresql:standard-2", "as": "DATABASE"}},
    )
    live = LiveState(
        name="shop",
        app=app_info("shop"),
        formation={"web": LiveProcess(type="web", quantity=2, size="performance-l")},
        addons=(
            live_addon("a1", "heroku-postgresql:standard-0", "DATABASE"),
            live_addon("a2", "papertrail:fixa", "PAPERTRAIL"),  # undeclared: destroyed
            live_addon("a3", "heroku-redis:premium-0", "REDIS"),  # undeclared data: refused
            live_addon("a4", "heroku-redis:mini", "SHARED_REDIS", owner="other"),  # billed there
        ),
    )
    stacks = [Stack(path=Path("shop.toml"), spec=spec)]
    plan = make_plan(stacks, {"shop": {}}, {"shop": live})
    change = plan_cost(plan, {"shop": live}, PriceBook.builtin())["shop"]
    pl = DYNO_CENTS["performance-l"]
    redis = ADDON_CENTS["heroku-redis:premium-0"]
    before = 2 * pl + ADDON_CENTS["heroku-postgresql:standard-0"] + ADDON_CENTS["papertrail:fixa"]
    after = 6 * pl + ADDON_CENTS["heroku-postgresql:standard-2"]
    assert (change.before.cents, change.after.cents) == (before + redis, after + redis)
    assert change.line() == f"cost: {format_change(before + redis, after + redis)}"
    assert change.delta_cents == 4 * pl + 20000 - 5000 - 700
    assert change.line().endswith("(+$2,143.00)")


def test_new_app_costs_nothing_before() -> None:
    spec = stack("fresh", {}, {"cache": {"plan": "heroku-redis:mini", "as": "REDIS"}})
    live = LiveState(name="fresh")
    plan = make_plan([Stack(path=Path("f.toml"), spec=spec)], {"fresh": {}}, {"fresh": live})
    change = plan_cost(plan, {"fresh": live}, PriceBook.builtin())["fresh"]
    assert (change.before.cents, change.after.cents) == (0, ADDON_CENTS["heroku-redis:mini"])


def test_unpriced_plans_are_named_in_the_plan_line() -> None:
    before = cost_of_state("x", [], [("search", "bonsai:sandbox-10")], PriceBook.builtin())
    after = cost_of_state("x", [], {}, PriceBook.builtin())
    assert CostChange(before, after).line() == (
        "cost: $0.00/mo → $0.00/mo ($0.00) (no price for bonsai:sandbox-10)"
    )


ATTACH = st.sampled_from(["ALPHA", "BRAVO", "CHARLIE", "DELTA"])
PRO_SIZES = st.sampled_from([s for s in DYNO_CENTS if s.startswith(("standard", "performance"))])
NON_DATA = st.sampled_from(["papertrail:fixa", "papertrail:volmar", "sentry:f1", "scout:chair"])
PTYPE = st.sampled_from(["web", "worker", "clock"])


@settings(max_examples=40, deadline=None)
@given(
    declared=st.dictionaries(PTYPE, st.tuples(st.integers(0, 20), PRO_SIZES), max_size=3),
    running=st.dictionaries(PTYPE, st.tuples(st.integers(0, 20), PRO_SIZES), max_size=3),
    wanted=st.dictionaries(ATTACH, st.sampled_from(sorted(ADDON_CENTS)), max_size=3),
    present=st.dictionaries(ATTACH, NON_DATA, max_size=3),
)
def test_after_apply_the_app_costs_what_its_file_declares(
    declared: dict[str, tuple[int, str]],
    running: dict[str, tuple[int, str]],
    wanted: dict[str, str],
    present: dict[str, str],
) -> None:
    """Once apply has run, each running process type costs what the file declares for it (or
    what it costs now when the file does not mention it: plan leaves it alone); a declared type
    that is not released yet is deferred, so costs nothing; add-ons cost the file's plans."""
    spec = stack(
        "shop",
        {t: {"quantity": q, "size": s} for t, (q, s) in declared.items()},
        {a.lower(): {"plan": p, "as": a} for a, p in wanted.items()},
    )
    live = LiveState(
        name="shop",
        app=app_info("shop"),
        formation={t: LiveProcess(type=t, quantity=q, size=s) for t, (q, s) in running.items()},
        addons=tuple(live_addon(f"id-{a}", p, a) for a, p in present.items()),
    )
    plan = make_plan([Stack(path=Path("shop.toml"), spec=spec)], {"shop": {}}, {"shop": live})
    after = plan_cost(plan, {"shop": live}, PriceBook.builtin())["shop"].after
    dynos = sum(q * DYNO_CENTS[s] for q, s in ({**running, **declared}[t] for t in running))
    assert after.cents == dynos + sum(ADDON_CENTS[p] for p in wanted.values())


def test_catalog_is_asked_once_per_service_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor
    from time import sleep

    class Slow(CountingCatalog):
        def __call__(self, service: str) -> list[dict[str, Any]]:
            sleep(0.05)  # long enough for every thread to ask before the first answer
            return super().__call__(service)

    catalog = Slow({"heroku-postgresql": [plan("heroku-postgresql:standard-0", 5500)]})
    prices = PriceBook.builtin().with_catalog(catalog)
    with ThreadPoolExecutor(8) as pool:
        costs = list(pool.map(lambda _: cost_of(SHOP, prices), range(16)))
    assert sorted(catalog.calls) == ["heroku-postgresql", "heroku-redis"]
    assert len({c.cents for c in costs}) == 1


def test_plan_cost_text_and_totals_for_the_renderers() -> None:
    prices = PriceBook.builtin()
    changes = {
        "shop": CostChange(
            cost_of_state("shop", [("web", 2, "performance-l")], {}, prices),
            cost_of_state("shop", [("web", 6, "performance-l")], {}, prices),
        ),
        "blog": CostChange(
            cost_of_state("blog", [("web", 1, "eco")], {}, prices),
            cost_of_state("blog", [("web", 1, "basic")], {}, prices),
        ),
    }
    pl, basic = DYNO_CENTS["performance-l"], DYNO_CENTS["basic"]
    assert cost_plan_text_lines(changes) == [
        "shop: cost: $1,000.00/mo → $3,000.00/mo (+$2,000.00)",
        "blog: cost: $0.00/mo → $7.00/mo (+$7.00)",
        "total: $1,005.00/mo → $3,007.00/mo (+$2,002.00)",  # eco plan: $5 before, none after
    ]
    assert changes["shop"].json() == {"cost_before_cents": 2 * pl, "cost_after_cents": 6 * pl}
    before, after = 2 * pl + ECO_PLAN_CENTS, 6 * pl + basic
    assert change_totals(changes.values()) == (before, after)


def cost_plan_text_lines(changes: dict[str, CostChange]) -> list[str]:
    return plan_cost_text(changes).splitlines()


def test_builtin_table_and_emulator_catalog_price_heroku_data_plans_alike() -> None:
    """One source: `plan` offline and `--local` give every Heroku data plan the same price."""
    served = {
        plan.name: plan.cents
        for service in catalog.SERVICES
        if service.name in ("heroku-postgresql", "heroku-redis")
        for plan in service.plans
    }
    assert {k: v for k, v in ADDON_CENTS.items() if k in served} == served
    assert all(cents > 0 for cents in served.values())  # no real plan is priced at $0
    assert {"heroku-postgresql:standard-9", "heroku-postgresql:premium-9"} <= served.keys()
    assert {"heroku-redis:mini", "heroku-redis:premium-14"} <= served.keys()
    assert {size.name.lower(): size.cents for size in catalog.DYNO_SIZES} == DYNO_CENTS
