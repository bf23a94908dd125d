"""Customer-level demo data: the timeline, staff, customers (showcase first), FX rates, bureau reports, customer
financials and credit limits.

All per-customer arrays are indexed by `customer id - 1`. Amounts are integer cents in the customer's currency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from core.dates import add_months, day_number, month_end, month_start
from db.demo import names, texts
from db.models import CreditStatus, Role
from db.models.party import customer_name_key

PROMPT, SLOW, DETERIORATING, CHRONIC, DISPUTER = range(5)
BEHAVIOUR_NAMES = ("prompt", "slow", "deteriorating", "chronic_late", "disputer")
BEHAVIOUR_WEIGHTS = (0.45, 0.25, 0.10, 0.12, 0.08)

SEGMENTS = ("Enterprise", "Mid-Market", "SMB", "Public Sector")
SEGMENT_WEIGHTS = (0.10, 0.30, 0.54, 0.06)
SEGMENT_MEDIAN_USD = (50_000.0, 10_000.0, 2_000.0, 25_000.0)
SEGMENT_VOLUME = (2.2, 1.3, 0.75, 1.1)
TERMS = (15, 30, 45, 60)
SEGMENT_TERMS_WEIGHTS = (
    (0.0, 0.5, 0.25, 0.25),
    (0.05, 0.72, 0.13, 0.10),
    (0.2, 0.74, 0.06, 0.0),
    (0.0, 0.45, 0.2, 0.35),
)
AMOUNT_SIGMA = 0.8

COMMERCIAL_INDUSTRIES = (
    "Manufacturing",
    "Wholesale Distribution",
    "Retail",
    "Construction",
    "Healthcare",
    "Technology",
    "Transportation & Logistics",
    "Food & Beverage",
    "Energy & Utilities",
    "Professional Services",
)
INDUSTRY_WEIGHTS = (0.2, 0.14, 0.1, 0.09, 0.08, 0.11, 0.09, 0.08, 0.05, 0.06)
PUBLIC_INDUSTRIES = ("Public Administration", "Healthcare", "Transportation & Logistics")
PUBLIC_INDUSTRY_WEIGHTS = (0.7, 0.2, 0.1)


@dataclass(frozen=True)
class Country:
    code: str
    region: str
    currency: str
    weight: float


COUNTRIES = (
    Country("US", "North America", "USD", 0.42),
    Country("CA", "North America", "CAD", 0.06),
    Country("GB", "EMEA", "GBP", 0.11),
    Country("DE", "EMEA", "EUR", 0.10),
    Country("FR", "EMEA", "EUR", 0.07),
    Country("NL", "EMEA", "EUR", 0.05),
    Country("AU", "APAC", "AUD", 0.07),
    Country("SG", "APAC", "SGD", 0.05),
    Country("MX", "LATAM", "MXN", 0.07),
)
COUNTRY_BY_CODE = {country.code: country for country in COUNTRIES}
USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.73, "AUD": 0.66, "SGD": 0.74, "MXN": 0.055}

SEASONALITY = {
    1: 0.92,
    2: 0.95,
    3: 1.05,
    4: 1.0,
    5: 1.0,
    6: 1.04,
    7: 0.95,
    8: 0.75,
    9: 1.05,
    10: 1.1,
    11: 1.18,
    12: 1.1,
}
ANNUAL_GROWTH = 0.06
GROUP_START_PROBABILITY = 0.0146  # with 1-4 children per group, ~5% of customers belong to a group

# Random streams: each part of the portfolio draws from its own, so changing one part leaves the others alone.
STREAM_STAFF, STREAM_CUSTOMERS, STREAM_NAMES, STREAM_FX, STREAM_BUREAU, STREAM_FINANCIALS, STREAM_LIMITS = range(1, 8)
STREAM_LEDGER = 20

SECONDS_PER_DAY = 86_400
MICROS_PER_SECOND = 1_000_000
UNIT = 100  # cents per currency unit


def make_rng(seed: int, stream: int, chunk: int = 0) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream, chunk])))


def timestamps(day_numbers: np.ndarray, seconds: np.ndarray | int) -> np.ndarray:
    """datetime64[us] (naive UTC) for a day number plus seconds into that day."""
    micros = (np.asarray(day_numbers, dtype=np.int64) * SECONDS_PER_DAY + seconds) * MICROS_PER_SECOND
    return micros.astype("datetime64[us]")


def office_seconds(rng: np.random.Generator, size: int) -> np.ndarray:
    """A time of day between 08:00 and 18:00, to the second."""
    return rng.integers(8 * 3600, 18 * 3600, size=size)


def dates(day_numbers: np.ndarray) -> np.ndarray:
    return np.asarray(day_numbers, dtype=np.int64).astype("datetime64[D]")


def round_to(cents: np.ndarray, units: int) -> np.ndarray:
    """Round cent amounts to a multiple of `units` whole currency units."""
    step = units * UNIT
    return (np.round(np.asarray(cents, dtype=np.float64) / step) * step).astype(np.int64)


# --- timeline ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    as_of: date
    as_dn: int
    month_first: np.ndarray  # day number of each window month's first day
    month_last: np.ndarray  # last day of each month inside the window (as_of for the current month)
    month_days: np.ndarray  # calendar length of each month
    capacity: np.ndarray  # relative sales volume of each month: seasonality x growth

    @property
    def start_dn(self) -> int:
        return int(self.month_first[0])

    @property
    def months(self) -> int:
        return len(self.month_first)


def build_timeline(as_of: date, history_months: int) -> Timeline:
    firsts = [add_months(month_start(as_of), offset) for offset in range(1 - history_months, 1)]
    month_first = np.array([day_number(first) for first in firsts], dtype=np.int64)
    month_days = np.array([month_end(first).day for first in firsts], dtype=np.int64)
    month_last = np.minimum(month_first + month_days - 1, day_number(as_of))
    age_years = (np.arange(history_months) - (history_months - 1)) / 12.0
    season = np.array([SEASONALITY[first.month] for first in firsts])
    capacity = season * (1 + ANNUAL_GROWTH) ** age_years
    return Timeline(as_of, day_number(as_of), month_first, month_last, month_days, capacity)


def active_days(timeline: Timeline, since_dn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first active day, number of active days) per customer and window month, shape (customers, months)."""
    first = np.maximum(timeline.month_first[None, :], since_dn[:, None])
    days = np.clip(timeline.month_last[None, :] - first + 1, 0, None)
    return first, days


# --- staff -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffMember:
    name: str
    full_name: str
    role: Role
    approval_limit_cents: int | None


NAMED_COLLECTORS = (
    ("casey", "Casey Brooks"),
    ("cameron", "Cameron Hughes"),
    ("charlie", "Charlie Nguyen"),
    ("cleo", "Cleo Martins"),
    ("colin", "Colin Fraser"),
    ("cora", "Cora Lindqvist"),
    ("cyrus", "Cyrus Farahani"),
    ("celine", "Celine Dubois"),
)
MAX_COLLECTORS = 250
ANALYSTS = ("avery", "ash")
MANAGER = "morgan"


def collector_count(customers: int) -> int:
    return min(MAX_COLLECTORS, max(4, math.ceil(customers / 500)))


def staff_plan(customers: int) -> list[StaffMember]:
    members = [
        StaffMember("admin", "Alex Admin", Role.ADMIN, None),
        StaffMember("morgan", "Morgan Reyes", Role.CREDIT_MANAGER, 25_000_000),
        StaffMember("avery", "Avery Chen", Role.CREDIT_ANALYST, 5_000_000),
        StaffMember("ash", "Ash Patel", Role.CREDIT_ANALYST, 5_000_000),
        StaffMember("sam", "Sam Ortiz", Role.SALES, None),
        StaffMember("sasha", "Sasha Novak", Role.SALES, None),
    ]
    for index in range(collector_count(customers)):
        if index < len(NAMED_COLLECTORS):
            handle, full_name = NAMED_COLLECTORS[index]
        else:
            handle = f"collector{index + 1:03d}"
            first = names.FIRST_NAMES[(index * 7) % len(names.FIRST_NAMES)]
            last = names.SURNAMES[(index * 13) % len(names.SURNAMES)]
            full_name = f"{first} {last}"
        members.append(StaffMember(handle, full_name, Role.COLLECTOR, 500_000))
    return members


def slack_user_id(handle: str) -> str:
    return f"U0{''.join(ch for ch in handle.upper() if ch.isalnum())}0"


@dataclass(frozen=True)
class StaffIds:
    by_name: dict[str, int]
    full_names: dict[int, str]
    collectors: np.ndarray
    analysts: np.ndarray

    @property
    def manager(self) -> int:
        return self.by_name[MANAGER]


# --- showcase customers ------------------------------------------------------------------------------------------

ACME, ACME_EUROPE, ACME_LOGISTICS, GLOBEX, INITECH, UMBRELLA, STARK, WAYNE, SOYLENT, VANDELAY, HOOLI = range(1, 12)


@dataclass(frozen=True)
class Showcase:
    name: str
    country: str
    industry: str
    segment: str
    behaviour: int
    terms: int
    volume: float  # invoice-rate multiplier relative to an average customer
    median_usd: float
    since_days: int
    utilisation: float  # exposure / limit the current limit is sized for
    parent: int | None = None
    financials: bool = True


SHOWCASE: dict[int, Showcase] = {
    ACME: Showcase("Acme Corporation", "US", "Manufacturing", "Enterprise", PROMPT, 30, 6.0, 60_000, 3400, 0.62),
    ACME_EUROPE: Showcase(
        "Acme Europe B.V.", "NL", "Manufacturing", "Enterprise", PROMPT, 30, 3.0, 40_000, 2200, 0.55, parent=ACME
    ),
    ACME_LOGISTICS: Showcase(
        "Acme Logistics LLC",
        "US",
        "Transportation & Logistics",
        "Mid-Market",
        PROMPT,
        30,
        1.6,
        12_000,
        1500,
        0.7,
        parent=ACME,
    ),
    GLOBEX: Showcase("Globex Industries", "US", "Manufacturing", "Enterprise", CHRONIC, 45, 3.0, 30_000, 2900, 1.28),
    INITECH: Showcase("Initech Ltd", "GB", "Technology", "Mid-Market", DISPUTER, 30, 2.0, 12_000, 1900, 0.7),
    UMBRELLA: Showcase(
        "Umbrella Health GmbH", "DE", "Healthcare", "Mid-Market", DETERIORATING, 30, 2.0, 14_000, 2500, 0.86
    ),
    STARK: Showcase("Stark Components Inc", "US", "Manufacturing", "Mid-Market", PROMPT, 30, 2.5, 15_000, 1300, 0.92),
    WAYNE: Showcase("Wayne Enterprises", "US", "Energy & Utilities", "Enterprise", PROMPT, 60, 5.0, 90_000, 3600, 0.4),
    SOYLENT: Showcase("Soylent Foods", "US", "Food & Beverage", "Mid-Market", SLOW, 30, 2.0, 9_000, 2100, 0.8),
    VANDELAY: Showcase(
        "Vandelay Imports", "US", "Wholesale Distribution", "Mid-Market", SLOW, 30, 1.5, 8_000, 1700, 0.85
    ),
    HOOLI: Showcase(
        "Hooli Cloud Inc", "US", "Technology", "Mid-Market", PROMPT, 30, 1.2, 10_000, 75, 0.5, financials=False
    ),
}


def demo_name_words() -> frozenset[str]:
    """Every word (lower case) a demo customer's name can hold, showcase names included ('acme', 'hooli'): the
    offline understanding's training examples name demo customers, and it reads them with these words masked."""
    showcase = {word.lower().strip(".") for entry in SHOWCASE.values() for word in entry.name.split()}
    return names.name_words() | frozenset(showcase)


def demo_leading_name_words() -> frozenset[str]:
    """The first words of the showcase customers' names ('umbrella', 'stark'): the ordinary English words the
    training examples use as customer names."""
    return frozenset(entry.name.split()[0].lower() for entry in SHOWCASE.values())


# --- customers ---------------------------------------------------------------------------------------------------


@dataclass
class Portfolio:
    """Everything decided per customer before any invoice exists."""

    ids: np.ndarray
    names: list[str]
    name_keys: list[str]
    parent: np.ndarray  # parent id, 0 for none
    country: np.ndarray
    region: np.ndarray
    industry: np.ndarray
    segment: np.ndarray
    currency: np.ndarray
    terms: np.ndarray
    behaviour: np.ndarray
    since_dn: np.ndarray
    collector: np.ndarray
    credit_status: np.ndarray
    status_reason: list[str | None]
    contact_name: np.ndarray
    contact_email: np.ndarray
    volume: np.ndarray  # invoice-rate multiplier
    median_cents: np.ndarray  # median invoice amount, local currency
    late_shift: np.ndarray  # customer-specific days added to the behaviour's lateness
    invoice_rate_scale: float = 0.0  # invoices per customer-month at volume 1 and capacity 1

    @property
    def size(self) -> int:
        return len(self.ids)

    def expected_monthly_cents(self, timeline: Timeline) -> np.ndarray:
        mean_amount = self.median_cents * math.exp(AMOUNT_SIGMA**2 / 2)
        return self.invoice_rate_scale * self.volume * float(timeline.capacity.mean()) * mean_amount


def build_portfolio(
    seed: int, count: int, timeline: Timeline, staff: StaffIds, invoices_per_customer: float
) -> Portfolio:
    rng = make_rng(seed, STREAM_CUSTOMERS)
    showcase = [SHOWCASE[i] for i in sorted(SHOWCASE) if i <= count]

    country_index = rng.choice(len(COUNTRIES), size=count, p=_normalised([c.weight for c in COUNTRIES]))
    segment = rng.choice(len(SEGMENTS), size=count, p=SEGMENT_WEIGHTS)
    behaviour = rng.choice(len(BEHAVIOUR_NAMES), size=count, p=BEHAVIOUR_WEIGHTS)
    terms_cdf = np.cumsum([_normalised(weights) for weights in SEGMENT_TERMS_WEIGHTS], axis=1)
    terms_index = np.minimum((rng.random(count)[:, None] > terms_cdf[segment]).sum(axis=1), len(TERMS) - 1)
    commercial = rng.choice(len(COMMERCIAL_INDUSTRIES), size=count, p=_normalised(INDUSTRY_WEIGHTS))
    public = rng.choice(len(PUBLIC_INDUSTRIES), size=count, p=PUBLIC_INDUSTRY_WEIGHTS)
    industry = np.where(
        segment == SEGMENTS.index("Public Sector"),
        np.array(PUBLIC_INDUSTRIES, dtype=object)[public],
        np.array(COMMERCIAL_INDUSTRIES, dtype=object)[commercial],
    )
    since_dn = timeline.as_dn - rng.integers(20, 3650, size=count)
    volume = rng.lognormal(0.0, 0.6, size=count) * np.array(SEGMENT_VOLUME)[segment]
    size_factor = rng.lognormal(0.0, 0.35, size=count)
    late_shift = rng.normal(0.0, 2.5, size=count)
    parent = _group_structure(rng, count, first_generated=len(showcase))

    countries = np.array([c.code for c in COUNTRIES], dtype=object)[country_index]
    behaviour = behaviour.astype(np.int64)
    # Public bodies do not have subsidiaries on our books.
    has_parent = parent > 0
    parent[has_parent & (segment[np.maximum(parent - 1, 0)] == SEGMENTS.index("Public Sector"))] = 0
    # Subsidiaries mostly share the parent's country, industry, segment and habits.
    for child in np.flatnonzero(parent).tolist():
        root = parent[child] - 1
        if rng.random() < 0.6:
            countries[child] = countries[root]
        industry[child] = industry[root]
        segment[child] = segment[root]
        if rng.random() < 0.6:
            behaviour[child] = behaviour[root]

    segment_names = np.array(SEGMENTS, dtype=object)[segment]
    terms = np.array(TERMS, dtype=np.int64)[terms_index]
    for index, spec in enumerate(showcase):
        countries[index] = spec.country
        industry[index] = spec.industry
        segment_names[index] = spec.segment
        behaviour[index] = spec.behaviour
        terms[index] = spec.terms
        volume[index] = spec.volume
        size_factor[index] = 1.0
        since_dn[index] = timeline.as_dn - spec.since_days
        late_shift[index] = 0.0
        parent[index] = spec.parent or 0
        segment[index] = SEGMENTS.index(spec.segment)

    currency = np.array([COUNTRY_BY_CODE[c].currency for c in countries], dtype=object)
    region = np.array([COUNTRY_BY_CODE[c].region for c in countries], dtype=object)
    fx = np.array([USD_PER_UNIT[c] for c in currency])
    median_usd = np.array(SEGMENT_MEDIAN_USD)[segment] * size_factor
    for index, spec in enumerate(showcase):
        median_usd[index] = spec.median_usd
    median_cents = np.round(median_usd / fx * UNIT)

    customer_names, name_keys = _customer_names(seed, showcase, countries, industry, segment_names, parent)
    contact_names = np.array(names.person_names(make_rng(seed, STREAM_NAMES, 1), count), dtype=object)
    contact_emails = np.array(
        [names.contact_email(person, key) for person, key in zip(contact_names, name_keys, strict=True)], dtype=object
    )
    credit_status, reasons = _manual_statuses(rng, behaviour, first_generated=len(showcase))
    portfolio = Portfolio(
        ids=np.arange(1, count + 1, dtype=np.int64),
        names=customer_names,
        name_keys=name_keys,
        parent=parent,
        country=countries,
        region=region,
        industry=industry,
        segment=segment_names,
        currency=currency,
        terms=terms,
        behaviour=behaviour,
        since_dn=since_dn.astype(np.int64),
        collector=_assign_collectors(parent, staff.collectors),
        credit_status=credit_status,
        status_reason=reasons,
        contact_name=contact_names,
        contact_email=contact_emails,
        volume=volume,
        median_cents=median_cents,
        late_shift=late_shift,
    )
    portfolio.invoice_rate_scale = _invoice_rate_scale(portfolio, timeline, invoices_per_customer)
    return portfolio


def _normalised(weights: tuple[float, ...] | list[float]) -> np.ndarray:
    values = np.asarray(weights, dtype=np.float64)
    return values / values.sum()


def _group_structure(rng: np.random.Generator, count: int, *, first_generated: int) -> np.ndarray:
    """Parent ids (0 = none). A group is a parent followed directly by its 1-4 children, so parents load first."""
    parent = np.zeros(count, dtype=np.int64)
    starts = rng.random(count)
    sizes = rng.integers(1, 5, size=count)
    index = first_generated
    while index < count - 1:
        if starts[index] < GROUP_START_PROBABILITY:
            children = min(int(sizes[index]), count - index - 1)
            parent[index + 1 : index + 1 + children] = index + 1
            index += children + 1
        else:
            index += 1
    return parent


def _customer_names(
    seed: int,
    showcase: list[Showcase],
    countries: np.ndarray,
    industry: np.ndarray,
    segment: np.ndarray,
    parent: np.ndarray,
) -> tuple[list[str], list[str]]:
    rng = make_rng(seed, STREAM_NAMES)
    taken: set[str] = set()
    result_names = [spec.name for spec in showcase]
    result_keys = [customer_name_key(spec.name) for spec in showcase]
    taken.update(result_keys)
    first = len(showcase)
    generated_names, generated_keys = names.company_names(
        rng,
        industry[first:].tolist(),
        countries[first:].tolist(),
        (segment[first:] == "Public Sector").tolist(),
        taken,
    )
    result_names += generated_names
    result_keys += generated_keys
    for child in np.flatnonzero(parent[first:]).tolist():
        index = child + first
        root = int(parent[index]) - 1
        result_names[index], result_keys[index] = names.subsidiary_name(
            rng, result_names[root], str(countries[root]), str(countries[index]), taken
        )
    return result_names, result_keys


def _manual_statuses(
    rng: np.random.Generator, behaviour: np.ndarray, *, first_generated: int
) -> tuple[np.ndarray, list[str | None]]:
    """Sticky manual statuses: Stop for some chronic late payers (they also get very old debt), Hold for a few."""
    count = len(behaviour)
    roll = rng.random(count)
    generated = np.arange(count) >= first_generated
    stop = generated & (behaviour == CHRONIC) & (roll < 0.10)
    hold = generated & ~stop & np.isin(behaviour, (SLOW, DETERIORATING, CHRONIC)) & (roll > 0.96)
    status = np.full(count, CreditStatus.OK.value, dtype=object)
    status[stop] = CreditStatus.STOP.value
    status[hold] = CreditStatus.HOLD.value
    picks = rng.integers(0, 1000, size=count)
    reasons: list[str | None] = [None] * count
    for index in np.flatnonzero(stop).tolist():
        reasons[index] = texts.STOP_REASONS[picks[index] % len(texts.STOP_REASONS)]
    for index in np.flatnonzero(hold).tolist():
        reasons[index] = texts.HOLD_REASONS[picks[index] % len(texts.HOLD_REASONS)]
    return status, reasons


def _assign_collectors(parent: np.ndarray, collectors: np.ndarray) -> np.ndarray:
    """Round-robin over top-level customers; a subsidiary is worked by its parent's collector."""
    roots = parent == 0
    root_rank = np.cumsum(roots) - 1
    assigned = collectors[root_rank % len(collectors)]
    children = np.flatnonzero(~roots)
    assigned[children] = assigned[parent[children] - 1]
    return assigned


def _invoice_rate_scale(portfolio: Portfolio, timeline: Timeline, invoices_per_customer: float) -> float:
    """Invoices per customer-month at volume 1 so that the window holds `invoices_per_customer` on average."""
    expected_units = 0.0
    for start in range(0, portfolio.size, 20_000):
        since = portfolio.since_dn[start : start + 20_000]
        _, days = active_days(timeline, since)
        active_share = days / timeline.month_days[None, :]
        expected_units += float((portfolio.volume[start : start + 20_000] * (active_share @ timeline.capacity)).sum())
    if expected_units <= 0:
        return 0.0
    return invoices_per_customer * portfolio.size / expected_units


def customer_columns(seed: int, portfolio: Portfolio) -> dict[str, Any]:
    rng = make_rng(seed, STREAM_CUSTOMERS, 1)
    created = timestamps(portfolio.since_dn, office_seconds(rng, portfolio.size))
    parent = np.ma.masked_array(portfolio.parent, mask=portfolio.parent == 0)
    return {
        "id": portfolio.ids,
        "external_id": [f"C{customer_id:06d}" for customer_id in portfolio.ids.tolist()],
        "name": portfolio.names,
        "name_key": portfolio.name_keys,
        "parent_id": parent,
        "country": portfolio.country.tolist(),
        "region": portfolio.region.tolist(),
        "industry": portfolio.industry.tolist(),
        "segment": portfolio.segment.tolist(),
        "currency": portfolio.currency.tolist(),
        "payment_terms_days": portfolio.terms,
        "collector_id": portfolio.collector,
        "credit_status": portfolio.credit_status.tolist(),
        "credit_status_reason": portfolio.status_reason,
        "customer_since": dates(portfolio.since_dn),
        "contact_name": portfolio.contact_name.tolist(),
        "contact_email": portfolio.contact_email.tolist(),
        "version": np.ones(portfolio.size, dtype=np.int64),
        "created_at": created,
        "updated_at": created,
    }
