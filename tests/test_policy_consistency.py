"""The handbook (knowledge/policies/credit-policy.md) states the same numbers as the machine-readable policy
(knowledge/policies/policy.yaml, loaded by tools/policy.py) that the engine and the guarded actions enforce.

Two kinds of checks: every table and rule sentence of the handbook is parsed and compared with the policy field it
states; and, per section, the set of all numbers written in the text must equal the set the policy implies (plus the
few constants of formulas), so a number added to the handbook without a policy counterpart fails too.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from core.settings import PACKAGE_ROOT
from db.models import Role
from tools.policy import CreditPolicy, load_policy

HANDBOOK = PACKAGE_ROOT / "knowledge" / "policies" / "credit-policy.md"
POLICY_FILE = PACKAGE_ROOT / "knowledge" / "policies" / "policy.yaml"

_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.,])-?\d+(?:\.\d+)?(?![\w])")
_SECTION_REFERENCE = re.compile(r"\(?section \d+(?:\.\d+)?\)?", re.IGNORECASE)


# --- reading the handbook -----------------------------------------------------------------------------------------


def _front_matter_and_body() -> tuple[dict[str, object], str]:
    text = HANDBOOK.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    end = text.index("\n---", 4)
    return yaml.safe_load(text[4:end]), text[end + 4 :]


def _sections() -> dict[str, str]:
    """Body text by section number ('2.2', '8', ...): the text under a heading up to the next heading."""
    _, body = _front_matter_and_body()
    sections: dict[str, str] = {}
    current = "intro"
    buffer: list[str] = []
    for line in body.splitlines():
        heading = re.match(r"^#{1,6}\s+(\d+(?:\.\d+)?)\.?\s", line)
        if heading:
            sections[current] = "\n".join(buffer)
            current, buffer = heading.group(1), []
        elif line.startswith("#"):
            continue
        else:
            buffer.append(line)
    sections[current] = "\n".join(buffer)
    return sections


SECTIONS = _sections()


def section(number: str) -> str:
    assert number in SECTIONS, f"the handbook has no section {number}"
    return SECTIONS[number]


def table(text: str, first_column: str, *, with_column: str | None = None) -> list[dict[str, str]]:
    """Rows of the first Markdown table whose first header cell is `first_column` (and that has `with_column`),
    keyed by lower-cased header."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("|"):
            continue
        header = [c.strip().casefold() for c in line.strip().strip("|").split("|")]
        if header[0] != first_column.casefold() or (with_column and with_column.casefold() not in header):
            continue
        if i > 0 and lines[i - 1].lstrip().startswith("|"):
            continue  # a body row, not a header
        rows = []
        for row in lines[i + 2 :]:
            if not row.lstrip().startswith("|"):
                break
            values = [c.strip() for c in row.strip().strip("|").split("|")]
            rows.append(dict(zip(header, values, strict=True)))
        return rows
    raise AssertionError(f"no table starting with column {first_column!r}")


def amount(text: str) -> Decimal | None:
    """'25,000' → 25000; '8 %' → 8; 'no maximum' / 'no ceiling' → None."""
    if re.search(r"\bno (?:maximum|ceiling)\b", text, re.IGNORECASE):
        return None
    found = _NUMBER.findall(text)
    assert len(found) == 1, f"expected one number in {text!r}, found {found}"
    return Decimal(found[0].replace(",", ""))


def numbers_in(text: str) -> set[Decimal]:
    text = _SECTION_REFERENCE.sub(" ", text)
    return {Decimal(n.replace(",", "")) for n in _NUMBER.findall(text)}


def find(pattern: str, text: str) -> Decimal:
    match = re.search(pattern, " ".join(text.split()), re.IGNORECASE)
    assert match, f"handbook sentence not found: {pattern}"
    return Decimal(match.group(1).replace(",", ""))


def role_of(text: str) -> Role:
    return Role(" ".join(text.lower().split()).replace(" ", "_"))


def d(value: object) -> Decimal:
    return Decimal(str(value))


@pytest.fixture(scope="module")
def policy() -> CreditPolicy:
    return load_policy(POLICY_FILE)


# --- header -------------------------------------------------------------------------------------------------------


def test_version_effective_date_and_owner(policy: CreditPolicy) -> None:
    front, _ = _front_matter_and_body()
    assert str(front["version"]) == policy.version
    assert str(front["effective_date"]) == policy.effective_date.isoformat()
    assert front["owner"] == policy.owner
    assert f"version {policy.version}" in " ".join(section("intro").split())


# --- 2 reviews, 3 scoring -----------------------------------------------------------------------------------------


def test_review_cadence(policy: CreditPolicy) -> None:
    rows = {row["risk class"]: int(row["review every (months)"]) for row in table(section("2.2"), "Risk class")}
    assert rows == {band.risk_class: band.review_months for band in policy.risk_classes}
    assert policy.credit_status.expired_review_is_watch
    assert "past its review date puts the account on Watch" in " ".join(section("2.2").split())


FACTORS = {
    "average days late": "average_days_late",
    "share of invoices paid late": "share_paid_late",
    "lateness trend": "lateness_trend",
    "credit utilisation": "utilisation",
    "dispute rate": "dispute_rate",
    "bureau payment score (paydex)": "bureau_paydex",
    "financial strength": "financial_strength",
    "relationship age": "relationship_years",
}


def _factor(label: str) -> str:
    label = re.sub(r"\s*\((?:days|years|%)\)$", "", label.strip().casefold())
    return FACTORS[label]


def test_scorecard_weights(policy: CreditPolicy) -> None:
    rows = table(section("3.1"), "Factor", with_column="Weight (%)")
    weights = {_factor(row["factor"]): int(row["weight (%)"]) for row in rows}
    assert weights == {name: factor.weight for name, factor in policy.scoring.factors.items()}
    words = {"eight": 8, "seven": 7, "nine": 9, "six": 6}
    count = re.search(r"on (\w+) weighted factors", section("3.1"))
    assert count and words[count.group(1)] == len(policy.scoring.factors)


def test_scorecard_bands(policy: CreditPolicy) -> None:
    band_rows = table(section("3.1"), "Factor", with_column="Bands (value → points)")
    stated: dict[str, list[tuple[str | None, Decimal | None, int]]] = {}
    for row in band_rows:
        bands: list[tuple[str | None, Decimal | None, int]] = []
        for part in row["bands (value → points)"].split(";"):
            part = part.strip()
            bounded = re.fullmatch(r"([≤≥])\s*(-?[\d.]+)\s*→\s*(\d+)", part)
            otherwise = re.fullmatch(r"otherwise\s+(\d+)", part)
            assert bounded or otherwise, f"unreadable band {part!r}"
            if bounded:
                bands.append((bounded.group(1), Decimal(bounded.group(2)), int(bounded.group(3))))
            elif otherwise:
                bands.append((None, None, int(otherwise.group(1))))
        stated[_factor(row["factor"])] = bands
    expected: dict[str, list[tuple[str | None, Decimal | None, int]]] = {}
    for name, factor in policy.scoring.factors.items():
        if not factor.bands:
            continue
        expected[name] = [
            ("≤", band.max, band.points)
            if band.max is not None
            else ("≥", band.min, band.points)
            if band.min is not None
            else (None, None, band.points)
            for band in factor.bands
        ]
    assert stated == expected


def test_scorecard_rules(policy: CreditPolicy) -> None:
    text = section("3.1")
    scoring = policy.scoring
    assert find(r"fewer than (\d+) paid invoices", text) == scoring.min_paid_invoices
    assert find(r"neutral (\d+) points", text) == scoring.neutral_points
    assert find(r"measured over the last (\d+) months", text) == scoring.history_months
    assert find(r"settled more than (\d+) days after its due date", text) == scoring.share_late_after_days
    assert find(r"compares the last (\d+) months", text) == scoring.trend_recent_months
    assert find(r"with the (\d+) months before", text) == scoring.history_months - scoring.trend_recent_months
    tests = scoring.financial_tests
    assert find(r"(\d+) points for a current ratio", text) == tests["current_ratio_min"].points
    assert find(r"current ratio of at least ([\d.]+)", text) == tests["current_ratio_min"].threshold
    assert find(r"(\d+) points for debt-to-assets", text) == tests["debt_to_assets_max_pct"].points
    assert find(r"debt-to-assets of at most (\d+) ?%", text) == tests["debt_to_assets_max_pct"].threshold
    assert find(r"(\d+) points for a net margin", text) == tests["net_margin_min_pct"].points
    assert find(r"net margin of at least (\d+) ?%", text) == tests["net_margin_min_pct"].threshold


def test_risk_classes(policy: CreditPolicy) -> None:
    rows = table(section("3.2"), "Risk class")
    stated = {row["risk class"]: (int(row["minimum score"]), row["description"]) for row in rows}
    assert stated == {band.risk_class: (band.min_score, band.label) for band in policy.risk_classes}


def test_payment_model(policy: CreditPolicy) -> None:
    assert find(r"paid more than (\d+) days late", section("3.3")) == policy.payment_model.late_threshold_days


# --- 4 limits, 5 authority ----------------------------------------------------------------------------------------


def test_limit_methods_and_caps(policy: CreditPolicy) -> None:
    limits = policy.limits
    methods = {row["method"].casefold(): row["rule"] for row in table(section("4.1"), "Method")}
    assert find(r"\(1 \+ (\d+) ?% buffer\)", methods["needs-based"]) == limits.methods.needs_based["buffer_pct"]
    assert find(r"^(\d+) ?%", methods["tangible net worth"]) == limits.methods.tangible_net_worth_pct
    assert find(r"^(\d+) ?%", methods["working capital"]) == limits.methods.working_capital_pct
    assert find(r"rounded down to the nearest ([\d,]+)", section("4.1")) == limits.rounding
    assert limits.recommendation == "median_of_methods_then_caps"
    assert "median of the base methods" in " ".join(section("4.1").split())
    caps = {row["risk class"]: amount(row["maximum limit"]) for row in table(section("4.2"), "Risk class")}
    assert caps == dict(limits.risk_class_caps)
    assert find(r"or (\d+) ?% of our credit sales", section("4.2")) == limits.concentration_cap_pct
    # "the bureau's maximum credit recommendation": the whole recommendation is the cap.
    assert "bureau's maximum credit recommendation" in section("4.2")
    assert limits.bureau_cap_pct_of_recommendation == 100


def test_limit_authority_matrix(policy: CreditPolicy) -> None:
    authority = policy.authority
    rows = table(section("5.1"), "Approver")
    assert len(rows) == len(authority.credit_limit_increase)
    for row, rule in zip(rows, authority.credit_limit_increase, strict=True):
        assert role_of(row["approver"]) == rule.role
        assert amount(row["maximum increase"]) == rule.max_increase
        assert amount(row["maximum new limit"]) == rule.max_new_limit
        classes = (
            None
            if row["risk classes"].strip().lower() == "all"
            else [c.strip() for c in row["risk classes"].split(",")]
        )
        assert classes == rule.risk_classes
    text = " ".join(section("5.1").split())
    decrease = re.search(r"limit decrease may be approved by an? ([a-z ]+?)\.", text)
    assert decrease and role_of(decrease.group(1)) == authority.credit_limit_decrease
    assert authority.four_eyes_for_limit_changes and "may never approve it" in text
    ceilings = re.search(r"ceiling \(([^)]*)\)", text)
    assert ceilings
    stated: dict[Role, Decimal | None] = {}
    for part in re.split(r",\s+(?=[a-z])", ceilings.group(1)):
        match = re.fullmatch(r"\s*([a-z ]+?)\s+(no ceiling|[\d,]+)\s*", part)
        assert match, part
        stated[role_of(match.group(1))] = amount(match.group(2))
    assert stated == dict(authority.role_approval_ceiling)


ACTIONS = {
    "place an order on hold": "order_hold",
    "release an order (account ok or watch)": "order_release_from_ok_or_watch",
    "release an order (account on hold)": "order_release_from_hold",
    "release an order (account on stop)": "order_release_from_stop",
    "log a promise to pay": "promise_to_pay",
    "update a dispute": "dispute_update",
    "resolve a dispute with a write-off or credit": "dispute_write_off_resolution",
    "send a dunning letter": "dunning_send",
    "send a final notice (level 3 or higher)": "dunning_final_notice",
    "assign a customer to a collector": "collector_assignment",
    "add a note": "note",
}


def test_other_actions(policy: CreditPolicy) -> None:
    authority = policy.authority
    rows = {row["action"].casefold(): role_of(row["lowest approving role"]) for row in table(section("5.2"), "Action")}
    assert set(rows) == set(ACTIONS)
    for label, field in ACTIONS.items():
        assert rows[label] == getattr(authority, field), label
    final_notice = next(level for level in policy.dunning.levels if level.name == "final notice")
    assert find(r"final notice \(level (\d+) or higher\)", section("5.2")) == final_notice.level
    text = section("5.2")
    assert find(r"when it is at most ([\d,]+)", text) == authority.promise_auto_approve.max_amount
    assert find(r"promised within (\d+) days", text) == authority.promise_auto_approve.max_days_ahead
    assert find(r"within (\d+) hours expires", text) == authority.proposal_ttl_hours


# --- 6 status, 7 dunning, 8 promises, 9 disputes, 10 interest, 11 write-off -----------------------------------------


def test_status_ladder(policy: CreditPolicy) -> None:
    status = policy.credit_status
    rows = {row["status"]: " ".join(row["when"].split()) for row in table(section("6.1"), "Status")}
    assert set(rows) == {"OK", "Watch", "Hold", "Stop"}
    assert find(r"utilisation at or above (\d+) ?%", rows["Watch"]) == status.watch_utilisation_pct
    assert "past its review date" in rows["Watch"] and status.expired_review_is_watch
    assert find(r"utilisation above (\d+) ?%", rows["Hold"]) == status.hold_utilisation_pct
    assert find(r"invoice more than (\d+) days past due", rows["Hold"]) == status.hold_oldest_overdue_days
    assert find(r"more than (\d+) ?% of undisputed", rows["Hold"]) == status.hold_overdue_share_pct
    assert find(r"at least ([\d,]+) \(reporting currency\)", rows["Hold"]) == status.hold_overdue_share_min_amount
    assert find(r"invoice more than (\d+) days past due", rows["Stop"]) == status.stop_oldest_overdue_days
    text = " ".join(section("6.1").split())
    assert policy.exposure.include_disputed_items and "including disputed invoices" in text
    assert policy.exposure.include_open_orders and "plus open orders not yet invoiced" in text
    assert policy.ageing.basis == "due_date" and "Ageing is always by due date" in text


def test_dunning_schedule(policy: CreditPolicy) -> None:
    dunning = policy.dunning
    rows = table(section("7.1"), "Level")
    stated = [
        (
            int(row["level"]),
            int(row["days from due date"]),
            row["name"],
            row["tone"],
            row["channel"],
            amount(row["fee"]),
        )
        for row in rows
    ]
    assert stated == [(lv.level, lv.days_from_due, lv.name, lv.tone, lv.channel, lv.fee) for lv in dunning.levels]
    text = section("7.1")
    assert find(r"At least (\d+) days pass between two letters", text) == dunning.min_days_between_letters
    assert find(r"unpaid (\d+) days after the due date are referred", text) == dunning.agency_referral_days
    assert dunning.currency_of_fees == "invoice" and "currency of the invoice" in text
    rules = " ".join(section("7.2").split())
    assert dunning.exclude_disputed and "A disputed invoice is never dunned" in rules
    assert dunning.promise_open == "soften" and "the next reminder is softened" in rules


def test_promises(policy: CreditPolicy) -> None:
    promises, text = policy.promises, section("8")
    assert find(r"paid in full within (\d+) days after the promised date", text) == promises.grace_days
    assert find(r"at least (\d+) ?% was paid", text) == promises.partial_kept_min_pct
    assert find(r"more than (\d+) days ahead without a credit analyst", text) == promises.max_days_ahead
    assert find(r"at most (\d+) open promises", text) == promises.max_open_per_customer


def test_disputes(policy: CreditPolicy) -> None:
    disputes, text = policy.disputes, section("9")
    assert find(r"acknowledge a dispute to the customer within (\d+) days", text) == disputes.acknowledge_within_days
    assert find(r"resolve it within (\d+) days", text) == disputes.resolve_target_days
    assert find(r"open for more than (\d+) days", text) == disputes.escalate_after_days
    assert find(r"unanswered for more than (\d+) days", text) == disputes.chase_after_days


def test_interest_and_fees(policy: CreditPolicy) -> None:
    interest, text = policy.dunning.late_interest, section("10")
    assert find(r"From the final notice \(level (\d+)\)", text) == interest.from_level
    assert policy.dunning.levels[interest.from_level].name == "final notice"
    assert find(r"interest at (\d+) ?% a year", text) == interest.annual_rate_pct
    assert find(r"overdue amount × (\d+) / 100 / 365", text) == interest.annual_rate_pct


def test_write_off_and_provisioning(policy: CreditPolicy) -> None:
    write_off = policy.write_off
    rows = table(section("11"), "Days past due")
    stated = [(find(r"^(\d+) and more", row["days past due"]), amount(row["provision"])) for row in rows]
    assert stated == [(d(step.min_days), step.pct) for step in write_off.provision_pct_by_days_past_due]
    approvals = table(section("11"), "Write-off amount")
    assert len(approvals) == len(write_off.approval)
    for row, rule in zip(approvals, write_off.approval, strict=True):
        assert role_of(row["approver"]) == rule.role
        if rule.max_amount is not None:
            assert find(r"up to ([\d,]+)", row["write-off amount"]) == rule.max_amount
        else:
            assert find(r"above ([\d,]+)", row["write-off amount"]) == write_off.approval[-2].max_amount


# --- no stray numbers ---------------------------------------------------------------------------------------------


def _expected_numbers(policy: CreditPolicy) -> dict[str, set[Decimal]]:
    """Every number each section may state: the policy values it covers plus the constants of its formulas."""
    s, a, dn = policy.scoring, policy.authority, policy.dunning
    bands = {
        value
        for factor in s.factors.values()
        for band in factor.bands
        for value in (band.max, band.min, d(band.points))
        if value is not None
    }
    tests = {value for t in s.financial_tests.values() for value in (t.threshold, d(t.points))}
    final_notice = next(level.level for level in dn.levels if level.name == "final notice")
    return {
        "intro": {Decimal(policy.version)},
        "1.1": set(),
        "1.2": set(),
        "2.1": set(),
        "2.2": {d(b.review_months) for b in policy.risk_classes},
        "3.1": {d(0), d(100)}  # "scored from 0 to 100", "weight × points / 100"
        | {d(f.weight) for f in s.factors.values()}
        | bands
        | tests
        | {d(s.min_paid_invoices), d(s.neutral_points), d(s.history_months), d(s.share_late_after_days)}
        | {d(s.trend_recent_months), d(s.history_months - s.trend_recent_months)},
        "3.2": {d(b.min_score) for b in policy.risk_classes},
        "3.3": {d(policy.payment_model.late_threshold_days)},
        "4.1": {policy.limits.rounding, d(30), d(1)}  # "× terms / 30 × (1 + buffer)"
        | {policy.limits.methods.needs_based["buffer_pct"]}
        | {policy.limits.methods.tangible_net_worth_pct, policy.limits.methods.working_capital_pct},
        "4.2": {policy.limits.concentration_cap_pct} | set(policy.limits.risk_class_caps.values()),
        "5.1": {v for r in a.credit_limit_increase for v in (r.max_increase, r.max_new_limit) if v is not None}
        | {v for v in a.role_approval_ceiling.values() if v is not None},
        "5.2": {d(final_notice), a.promise_auto_approve.max_amount, d(a.promise_auto_approve.max_days_ahead)}
        | {d(a.proposal_ttl_hours)},
        "6.1": {
            policy.credit_status.watch_utilisation_pct,
            policy.credit_status.hold_utilisation_pct,
            d(policy.credit_status.hold_oldest_overdue_days),
            policy.credit_status.hold_overdue_share_pct,
            policy.credit_status.hold_overdue_share_min_amount,
            d(policy.credit_status.stop_oldest_overdue_days),
        },
        "6.2": set(),
        "7.1": {d(dn.min_days_between_letters), d(dn.agency_referral_days)}
        | {v for lv in dn.levels for v in (d(lv.level), d(lv.days_from_due), lv.fee)},
        "7.2": set(),
        "8": {
            d(policy.promises.grace_days),
            policy.promises.partial_kept_min_pct,
            d(policy.promises.max_days_ahead),
            d(policy.promises.max_open_per_customer),
        },
        "9": {
            d(policy.disputes.acknowledge_within_days),
            d(policy.disputes.resolve_target_days),
            d(policy.disputes.escalate_after_days),
            d(policy.disputes.chase_after_days),
        },
        "10": {d(dn.late_interest.from_level), dn.late_interest.annual_rate_pct, d(100), d(365)},
        "11": {d(step.min_days) for step in policy.write_off.provision_pct_by_days_past_due}
        | {step.pct for step in policy.write_off.provision_pct_by_days_past_due}
        | {r.max_amount for r in policy.write_off.approval if r.max_amount is not None},
    }


def test_every_number_in_the_handbook_comes_from_the_policy(policy: CreditPolicy) -> None:
    expected = _expected_numbers(policy)
    top_level = {key for key in SECTIONS if "." not in key and key != "intro"}
    for key, text in SECTIONS.items():
        if key in top_level and not text.strip():
            continue  # a chapter heading directly followed by its first subsection
        assert key in expected, f"section {key} is new: add its numbers to this test"
        assert numbers_in(text) == {Decimal(str(v)) for v in expected[key]}, f"section {key}"


def test_numbers_compare_as_values() -> None:
    # The inventory compares normalised Decimals: '25,000' == 25000 and '1.5' == Decimal('1.5').
    assert numbers_in("25,000 and 1.5 and -5 and 8 % and (section 4.1)") == {
        Decimal(25000),
        Decimal("1.5"),
        Decimal(-5),
        Decimal(8),
    }


def test_handbook_path_is_the_ingested_one() -> None:
    from knowledge.ingest import HANDBOOK_DIR

    assert HANDBOOK.parent == HANDBOOK_DIR and Path(HANDBOOK).exists()
