"""Monthly cost of stack files and of live apps, in integer US cents.

A `PriceBook` answers "how much per month" for a dyno size or an add-on plan. Its prices come,
highest precedence first, from a price file (`--prices FILE`), from the live add-on catalog
(`GET /addon-services/{service}/plans`, fetched at most once per service per run), and from the
built-in table below. `cost_of` prices a declared stack file, `cost_of_live` an app as Heroku
runs it, `cost_after` that app once a plan's changes are applied and `plan_cost` a whole plan:
all go through `cost_of_state`, so before and after come from the same code.
"""

from __future__ import annotations

import json
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from rich.table import Table

from herokustack.client import ApiError, HerokuClient
from herokustack.emulator import catalog
from herokustack.errors import HerokustackError
from herokustack.facts import LiveAddon, LiveState
from herokustack.planner import Change, Plan
from herokustack.stackfile import StackFile, load_stacks, stack_paths

# Built-in monthly prices in US cents (the maximum for a dyno running the whole month).
# Dyno sizes and Heroku's own data plans (heroku-postgresql, heroku-redis) come from the
# emulator's catalog, so that `plan` and `--local` price them alike: see the sources and where
# to update them in `herokustack/emulator/catalog.py` (DYNO_SIZES, POSTGRES_PLANS,
# REDIS_PLANS). Third-party add-on plans below: https://elements.heroku.com/addons/<service>.
# Compiled on PRICES_DATE. Prices change: the live catalog (`--live`) and a price file
# (`--prices`) override this table.
#
# Eco is not priced per dyno: it is one $5/month subscription per account that gives 1000 dyno
# hours shared by every eco dyno of the account. We count each eco dyno at $0 and add the
# subscription once per run (see `ECO_PLAN_CENTS` and `total_cents`), whatever the number of eco
# dynos or apps; the 1000-hour cap is not modelled (eco dynos sleep when idle).
PRICES_DATE = "2026-12-02"
ECO_PLAN_CENTS = 500
# Eco's own price is 0: it is covered by the account-wide eco subscription, counted once.
DYNO_CENTS: dict[str, int] = {size.name.lower(): size.cents for size in catalog.DYNO_SIZES}
ADDON_CENTS: dict[str, int] = {
    **{plan.name: plan.cents for plan in (*catalog.POSTGRES_PLANS, *catalog.REDIS_PLANS)},
    "papertrail:choklad": 0,
    "papertrail:fixa": 700,
    "papertrail:volmar": 1800,
    "sentry:f1": 0,  # free plan
    "scout:chair": 0,  # free plan
}

Source = Literal["built-in", "file", "catalog"]
CatalogFetch = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Price:
    cents: int
    source: Source


@dataclass
class PriceBook:
    """Monthly prices for dyno sizes and add-on plans; catalog answers are cached for the run."""

    dynos: dict[str, Price]
    addons: dict[str, Price]
    # Add-on plans priced by a price file: an explicit price beats the catalog.
    overrides: frozenset[str] = frozenset()
    fetch: CatalogFetch | None = None
    _fetched: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def builtin(cls) -> PriceBook:
        return cls(
            dynos={k: Price(v, "built-in") for k, v in DYNO_CENTS.items()},
            addons={k: Price(v, "built-in") for k, v in ADDON_CENTS.items()},
        )

    def with_file(self, path: Path) -> PriceBook:
        """This book with the prices of a TOML or JSON price file on top (see `load_price_file`)."""
        dynos, addons = load_price_file(path)
        return PriceBook(
            dynos={**self.dynos, **{k: Price(v, "file") for k, v in dynos.items()}},
            addons={**self.addons, **{k: Price(v, "file") for k, v in addons.items()}},
            overrides=self.overrides | addons.keys(),
            fetch=self.fetch,
        )

    def with_catalog(self, fetch: CatalogFetch) -> PriceBook:
        """This book, asking `fetch(service)` for add-on plan prices (once per service)."""
        return PriceBook(self.dynos, self.addons, self.overrides, fetch)

    def dyno(self, size: str) -> Price | None:
        return self.dynos.get(normalize_size(size))

    def addon(self, plan: str) -> Price | None:
        if self.fetch is not None and plan not in self.overrides:
            live = self._catalog(plan.split(":", 1)[0]).get(plan)
            if live is not None:
                return Price(live, "catalog")
        return self.addons.get(plan)

    def _catalog(self, service: str) -> dict[str, int]:
        # Plans may be costed from several threads: the lock keeps it one request per service.
        with self._lock:
            if service not in self._fetched:
                assert self.fetch is not None
                self._fetched[service] = catalog_prices(service, self.fetch(service))
            return self._fetched[service]


def normalize_size(size: str) -> str:
    """Heroku spells sizes "Standard-1X" in responses and "standard-1x" in requests."""
    return size.strip().lower()


def catalog_prices(service: str, plans: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """`{"service:plan": cents}` for the monthly, non-contract plans of one catalog answer."""
    prices: dict[str, int] = {}
    for plan in plans:
        name, price = plan.get("name"), plan.get("price")
        if not isinstance(name, str) or not isinstance(price, Mapping):
            continue
        cents = price.get("cents")
        # Contract plans are billed outside Heroku, and a non-monthly unit is not a monthly price.
        if price.get("contract") or price.get("unit", "month") != "month":
            continue
        if isinstance(cents, int) and not isinstance(cents, bool) and cents >= 0:
            prices[name if ":" in name else f"{service}:{name}"] = cents
    return prices


# --- price files ----------------------------------------------------------------------------


def load_price_file(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Read `{dynos = {size = cents}, addons = {"service:plan" = cents}}` from TOML or JSON.

    Any problem raises a `HerokustackError` of one line naming the file and the key.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HerokustackError(f"{path}: cannot read price file: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise HerokustackError(f"{path}: not valid {_kind(path)}: {exc}") from None
    if not isinstance(data, dict):
        raise HerokustackError(f"{path}: expected a table with keys `dynos` and/or `addons`")
    unknown = sorted(set(data) - {"dynos", "addons", "source"})
    if unknown:
        raise HerokustackError(f"{path}: {unknown[0]}: unknown key (expected dynos, addons)")
    dynos = _cents_table(path, "dynos", data.get("dynos", {}))
    addons = _cents_table(path, "addons", data.get("addons", {}))
    for plan in addons:
        service, _, name = plan.partition(":")
        if not service or not name:
            raise HerokustackError(f"{path}: addons.{plan}: expected a `service:plan` name")
    return {normalize_size(k): v for k, v in dynos.items()}, addons


def _kind(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


def _cents_table(path: Path, key: str, table: object) -> dict[str, int]:
    if not isinstance(table, dict):
        raise HerokustackError(f"{path}: {key}: expected a table of name = monthly cents")
    for name, cents in table.items():
        if isinstance(cents, bool) or not isinstance(cents, int) or cents < 0:
            raise HerokustackError(
                f"{path}: {key}.{name}: expected a whole number of US cents per month ≥ 0,"
                f" got {cents!r}"
            )
    return dict(table)


# --- costing --------------------------------------------------------------------------------

Kind = Literal["dyno", "addon"]


@dataclass(frozen=True)
class LineItem:
    """One priced thing: a process type (quantity × size) or an add-on."""

    kind: Kind
    name: str  # process type ("web") or add-on key ("database")
    plan: str  # dyno size ("performance-l") or add-on plan ("heroku-postgresql:standard-0")
    quantity: int
    unit_cents: int | None  # None: no known price
    source: Source | None

    @property
    def cents(self) -> int:
        return self.quantity * self.unit_cents if self.unit_cents is not None else 0


@dataclass(frozen=True)
class AppCost:
    app: str
    items: tuple[LineItem, ...]

    @property
    def cents(self) -> int:
        """Known monthly cost of this app (items without a price count as 0: see `unpriced`)."""
        return sum(item.cents for item in self.items)

    @property
    def unpriced(self) -> tuple[str, ...]:
        return tuple(item.plan for item in self.items if item.unit_cents is None)

    @property
    def uses_eco(self) -> bool:
        return any(i.kind == "dyno" and i.plan == "eco" and i.quantity > 0 for i in self.items)


def cost_of(spec: StackFile, prices: PriceBook) -> AppCost:
    """Monthly cost of what a stack file declares."""
    return cost_of_state(
        spec.app.name,
        [(ptype, p.quantity, p.size) for ptype, p in spec.formation.items()],
        {key: addon.plan for key, addon in spec.addons.items()},
        prices,
    )


def cost_of_state(
    app: str,
    formation: Iterable[tuple[str, int, str]],
    addons: Mapping[str, str] | Iterable[tuple[str, str] | str],
    prices: PriceBook,
) -> AppCost:
    """Monthly cost of an app given as plain data.

    `formation` holds `(process type, quantity, size)`; `addons` maps a name to a plan
    ("service:plan"), or lists `(name, plan)` pairs or bare plans (a bare plan names itself).
    """
    items = [_dyno_item(t, q, s, prices) for t, q, s in sorted(formation)]
    pairs = addons.items() if isinstance(addons, Mapping) else map(_named, addons)
    items += [_addon_item(name, plan, prices) for name, plan in sorted(pairs)]
    return AppCost(app, tuple(items))


def _named(addon: tuple[str, str] | str) -> tuple[str, str]:
    return (addon, addon) if isinstance(addon, str) else addon


def _dyno_item(ptype: str, quantity: int, size: str, prices: PriceBook) -> LineItem:
    price = prices.dyno(size)
    return LineItem(
        "dyno",
        ptype,
        normalize_size(size),
        quantity,
        price.cents if price else None,
        price.source if price else None,
    )


def _addon_item(name: str, plan: str, prices: PriceBook) -> LineItem:
    price = prices.addon(plan)
    return LineItem(
        "addon", name, plan, 1, price.cents if price else None, price.source if price else None
    )


def eco_plan_cents(costs: Iterable[AppCost]) -> int:
    """The account-wide eco subscription: $5 once if any app runs eco dynos, else 0."""
    return ECO_PLAN_CENTS if any(c.uses_eco for c in costs) else 0


def total_cents(costs: Iterable[AppCost]) -> int:
    """Monthly cost of several apps together, the eco subscription counted once."""
    costs = list(costs)
    return sum(c.cents for c in costs) + eco_plan_cents(costs)


class FallbackPrices:
    """Prices for reports that never fail on price (drift, import): `book`, e.g. with the live
    catalog, else the built-in table. Once the catalog cannot be read it is not asked again."""

    def __init__(self, book: PriceBook) -> None:
        self.book = book
        self.builtin = PriceBook.builtin()

    @classmethod
    def live(cls, client: HerokuClient) -> FallbackPrices:
        return cls(PriceBook.builtin().with_catalog(catalog_fetch(client)))

    def addon(self, plan: str) -> int | None:
        """Monthly cents of one add-on plan (None: no known price)."""
        try:
            price = self.book.addon(plan)
        except HerokustackError:
            self.book = self.builtin
            price = self.builtin.addon(plan)
        return price.cents if price else None

    def dynos(self, quantity: int, size: str) -> int | None:
        price = self.builtin.dyno(size)
        return price.cents * quantity if price else None

    def cost_of(self, spec: StackFile) -> AppCost:
        try:
            return cost_of(spec, self.book)
        except HerokustackError:
            self.book = self.builtin
            return cost_of(spec, self.builtin)


# --- cost changes, for plans: what an app costs now, after apply, and the difference ------


@dataclass(frozen=True)
class CostChange:
    """One app's monthly cost before (live state) and after (declared) an apply."""

    before: AppCost
    after: AppCost

    @property
    def delta_cents(self) -> int:
        return self.after.cents - self.before.cents

    def line(self) -> str:
        """The text plan line: "cost: $260.00/mo → $310.00/mo (+$50.00)"."""
        unpriced = sorted(set(self.before.unpriced) | set(self.after.unpriced))
        note = f" (no price for {', '.join(unpriced)})" if unpriced else ""
        return f"cost: {format_change(self.before.cents, self.after.cents)}{note}"

    def json(self) -> dict[str, int]:
        return {"cost_before_cents": self.before.cents, "cost_after_cents": self.after.cents}


def change_totals(changes: Iterable[CostChange]) -> tuple[int, int]:
    """(before, after) monthly totals of a whole plan, each with the eco plan counted once."""
    changes = list(changes)
    return total_cents(c.before for c in changes), total_cents(c.after for c in changes)


def plan_cost_text(changes: Mapping[str, CostChange]) -> str:
    """Per-app cost lines and a total line, e.g. for `render.plan_text(..., extra=...)`."""
    lines = [f"{app}: {change.line()}" for app, change in changes.items()]
    before, after = change_totals(changes.values())
    return "\n".join([*lines, f"total: {format_change(before, after)}"]) + "\n"


def warn_delta(delta_cents: int, warn_above_cents: int | None) -> bool:
    """True when a cost increase exceeds `--cost-warn-above` (None: the warning is off)."""
    return warn_above_cents is not None and delta_cents > warn_above_cents


def markdown_delta(delta_cents: int, warn_above_cents: int | None) -> str:
    """The delta for a Markdown PR comment: bold when it grows by more than the threshold."""
    text = format_delta(delta_cents)
    return f"**{text}**" if warn_delta(delta_cents, warn_above_cents) else text


# --- formatting -----------------------------------------------------------------------------


def format_usd(cents: int) -> str:
    """12345 -> "$123.45"; 200000 -> "$2,000.00"; -500 -> "-$5.00"."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def format_monthly(cents: int) -> str:
    """26000 -> "$260.00/mo"."""
    return f"{format_usd(cents)}/mo"


def format_delta(cents: int) -> str:
    """5000 -> "+$50.00"; -5000 -> "-$50.00"; 0 -> "$0.00"."""
    return f"+{format_usd(cents)}" if cents > 0 else format_usd(cents)


def parse_usd(text: str) -> int:
    """Cents from "100" or "$1,250.5": for thresholds like `--cost-warn-above 100` (USD/month)."""
    cleaned = text.strip().removeprefix("$").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise HerokustackError(f"{text!r}: expected an amount in US dollars, e.g. 100 or 99.50")
    return int(value * 100)


def format_change(before_cents: int, after_cents: int) -> str:
    """ "$260.00/mo → $310.00/mo (+$50.00)"."""
    delta = format_delta(after_cents - before_cents)
    return f"{format_monthly(before_cents)} → {format_monthly(after_cents)} ({delta})"


# --- the live add-on catalog and live apps --------------------------------------------------


def catalog_fetch(client: HerokuClient) -> CatalogFetch:
    """A `fetch(service)` asking `GET /addon-services/{service}/plans` through `client`.

    An unknown service (Heroku's 404 `not_found`) has no plans; other failures, a 404 without
    Heroku's error body among them, are the client's one-line errors.
    """

    def fetch(service: str) -> list[dict[str, Any]]:
        path = f"addon-services/{quote(service, safe='')}/plans"
        try:
            plans = client.get_list(path)
        except ApiError as exc:
            if exc.not_found and exc.error_id == "not_found":
                return []
            raise HerokustackError(f"add-on catalog: {exc}") from None
        except ValueError:  # a body that is not JSON
            plans = None
        if not isinstance(plans, list):
            raise HerokustackError(f"add-on catalog: GET /{path}: not a JSON list of plans")
        return [plan for plan in plans if isinstance(plan, dict)]

    return fetch


def cost_of_live(state: LiveState, prices: PriceBook) -> AppCost:
    """Monthly cost of an app as Heroku runs it now (0 if it does not exist).

    Only add-ons the app owns count: an add-on attached from another app is billed there.
    """
    formation = [(p.type, p.quantity, p.size) for p in state.formation.values()]
    addons = [(_label(a), a.plan) for a in _owned(state)]
    return cost_of_state(state.name, formation, addons, prices)


def _owned(state: LiveState) -> list[LiveAddon]:
    return [a for a in state.addons if a.owner in ("", state.name)]


def _label(addon: LiveAddon) -> str:
    return addon.attachments[0] if addon.attachments else addon.name


def cost_after(state: LiveState, changes: Iterable[Change], prices: PriceBook) -> AppCost:
    """Monthly cost of an app once `changes` (one app's plan) are applied to its live state.

    Only what apply would do counts: refused and deferred changes leave the cost as it is.
    """
    formation = {p.type: (p.quantity, p.size) for p in state.formation.values()}
    addons: dict[str, tuple[str, str]] = {a.id: (_label(a), a.plan) for a in _owned(state)}
    for n, change in enumerate(changes):
        if not change.is_change:
            continue
        if change.resource == "formation":
            formation[change.name] = _scaled(formation.get(change.name), change)
        elif change.resource == "addon":
            _apply_addon(addons, n, change)
    dynos = [(ptype, qty, size) for ptype, (qty, size) in formation.items()]
    return cost_of_state(state.name, dynos, list(addons.values()), prices)


def _scaled(current: tuple[int, str] | None, change: Change) -> tuple[int, str]:
    quantity, size = current or (0, "standard-1x")
    if change.action == "create" or current is None:
        after = change.after if isinstance(change.after, Mapping) else {}
        return after.get("quantity", quantity), after.get("size", size)
    if change.field == "quantity":
        return change.after, size
    if change.field == "size":
        return quantity, change.after
    return quantity, size


def _apply_addon(addons: dict[str, tuple[str, str]], n: int, change: Change) -> None:
    if change.action == "create":
        addons[f"new-{n}"] = (change.attachment or change.name, change.after)
    elif change.action == "destroy":
        addons.pop(change.addon_id or "", None)
    elif change.addon_id in addons:
        addons[change.addon_id] = (addons[change.addon_id][0], change.after)


def plan_cost(
    plan: Plan, lives: Mapping[str, LiveState], prices: PriceBook
) -> dict[str, CostChange]:
    """Per app of a plan: its monthly cost now (live) and once the plan is applied."""
    return {
        app.app: CostChange(
            cost_of_live(lives[app.app], prices), cost_after(lives[app.app], app.changes, prices)
        )
        for app in plan.apps
    }


# --- reports for `herokustack cost` ---------------------------------------------------------


def declared_costs(
    paths: Sequence[Path] | None,
    price_file: Path | None = None,
    client: Callable[[], HerokuClient] | None = None,
) -> list[AppCost]:
    """What `herokustack cost` shows: the cost of each stack file of `paths` (default
    stacks/*.toml), with a price file on top and, given `client`, the live add-on catalog."""
    book = PriceBook.builtin()
    if price_file is not None:
        book = book.with_file(price_file)
    stacks = load_stacks(stack_paths(paths))
    if client is not None:
        book = book.with_catalog(catalog_fetch(client()))
    return [cost_of(s.spec, book) for s in stacks]


def _price_cell(item: LineItem) -> str:
    return "unknown" if item.unit_cents is None else format_usd(item.unit_cents)


def _monthly_cell(item: LineItem) -> str:
    return "unknown" if item.unit_cents is None else format_usd(item.cents)


def _what(item: LineItem) -> str:
    return f"{item.name} (dyno)" if item.kind == "dyno" else f"{item.name} (add-on)"


def cost_json(costs: list[AppCost]) -> dict[str, Any]:
    """The JSON document of `herokustack cost --format json` (all amounts in US cents)."""
    return {
        "currency": "USD",
        "period": "month",
        "apps": [
            {
                "app": c.app,
                "cents": c.cents,
                "items": [
                    {
                        "kind": i.kind,
                        "name": i.name,
                        "plan": i.plan,
                        "quantity": i.quantity,
                        "unit_cents": i.unit_cents,
                        "cents": i.cents if i.unit_cents is not None else None,
                        "source": i.source,
                    }
                    for i in c.items
                ],
                "unpriced": list(c.unpriced),
            }
            for c in costs
        ],
        "eco_plan_cents": eco_plan_cents(costs),
        "total_cents": total_cents(costs),
    }


def cost_markdown(costs: list[AppCost]) -> str:
    """A GitHub-flavoured Markdown table, one row per process type and add-on."""
    lines = [
        "| App | Item | Plan | Qty | Unit price | Monthly |",
        "|---|---|---|--:|--:|--:|",
    ]
    for c in costs:
        for i in c.items:
            row = [c.app, _what(i), f"`{i.plan}`", str(i.quantity), _price_cell(i)]
            lines.append("| " + " | ".join([*row, _monthly_cell(i)]) + " |")
        lines.append(f"| **{c.app}** | **subtotal** | | | | **{format_monthly(c.cents)}** |")
    if eco_plan_cents(costs):
        eco = format_monthly(ECO_PLAN_CENTS)
        lines.append(f"| (account) | eco dyno plan, shared | | | | {eco} |")
    lines.append(f"| **Total** | | | | | **{format_monthly(total_cents(costs))}** |")
    notes = cost_notes(costs)
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def cost_table(costs: list[AppCost]) -> Table:
    """A rich table for the terminal, one row per process type and add-on."""
    table = Table(title="Monthly cost (USD)", title_justify="left", caption=_sources(costs))
    table.caption_justify = "left"
    table.add_column("App", overflow="fold")
    table.add_column("Item", overflow="fold")
    table.add_column("Plan", no_wrap=True)
    table.add_column("Monthly", justify="right", no_wrap=True)
    for c in costs:
        for n, i in enumerate(c.items):
            table.add_row(c.app if n == 0 else "", i.name, _plan_cell(i), _monthly_cell(i))
        table.add_row(c.app, "subtotal", "", format_monthly(c.cents), style="bold")
        table.add_section()
    if eco_plan_cents(costs):
        table.add_row("(account)", "eco plan", "shared", format_monthly(ECO_PLAN_CENTS))
    table.add_row("Total", "", "", format_monthly(total_cents(costs)), style="bold")
    return table


def _plan_cell(item: LineItem) -> str:
    return f"{item.quantity} × {item.plan}" if item.kind == "dyno" else item.plan


_SOURCE_NAMES = {
    "built-in": f"built-in table ({PRICES_DATE})",
    "file": "price file",
    "catalog": "live add-on catalog",
}


def _sources(costs: list[AppCost]) -> str:
    used = {i.source for c in costs for i in c.items if i.source is not None}
    names = [_SOURCE_NAMES[s] for s in ("catalog", "file", "built-in") if s in used]
    return f"Prices: {', '.join(names)}." if names else ""


def cost_notes(costs: list[AppCost]) -> list[str]:
    """Plain-text notes for under the table: what the totals leave out."""
    missing = sorted({p for c in costs for p in c.unpriced})
    if not missing:
        return []
    return [
        f"No price known for {', '.join(missing)}: counted as $0.00."
        " Add it to a price file (--prices) or use --live."
    ]
