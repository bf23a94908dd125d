"""The grounding check: figures in an answer must come from the turn's tool outputs (or be a formatting of one)."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from assistant.grounding import REMOVED_MARKER, ground_answer
from assistant.types import ToolCallRecord

TODAY = date(2026, 11, 22)
CALLS = [
    ToolCallRecord(
        name="get_customer_exposure",
        kind="read",
        arguments={"customer": "acme", "as_of": "2026-09-30"},
        result={
            "customer": {"id": 17, "external_id": "C000017", "name": "Acme"},
            "figures": {
                "total_exposure": "1234567.89",
                "credit_limit": "1500000.00",
                "utilisation": 0.823,
                "dso_days": 45.2,
                "overdue_pct": 12.5,
            },
            "as_of": "2026-09-30",
            "invoices": [{"number": "INV-2026-00042", "due_date": "2026-08-31"}, {"number": "INV-2026-00043"}],
            "expires_at": "2026-11-23T14:30:00+00:00",
            "ageing": [{"label": "61-90", "amount": 2500}],
        },
    ),
    ToolCallRecord(name="search_policy", kind="read", arguments={}, result={"passages": [{"section": "4.2"}]}),
    ToolCallRecord(
        name="propose_credit_limit_change", kind="write", arguments={}, result={"id": 12, "status": "pending"}
    ),
]


def check(text: str, **kwargs: object) -> list[str]:
    _, events = ground_answer(text, CALLS, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return [event.number for event in events]


@pytest.mark.parametrize(
    "text",
    [
        "Exposure is USD 1,234,567.89.",
        "Exposure is $1,234,567.89 (1234567.89).",
        "Exposure is 1\u202f234\u202f568.",  # narrow no-break spaces, rounded to the unit
        "Exposure is about USD 1.23m, or 1.2 million, or 1,235k, or $1.2M.",
        "Exposure is USD 1,234,568 against a limit of EUR 1.5m.",
        "Utilisation is 82.3 %, roughly 82%, i.e. 0.823 of the limit.",
        "DSO is 45 days (45.2 exactly); 12.5% is overdue, about 13 %.",
        "As of 2026-09-30; invoice INV-2026-00042 was due 31 Aug 2026 (Aug 31, 2026).",
        "Proposal #12 expires 2026-11-23 14:30 UTC.",
        "See section 4.2 and §4.2 of the credit policy.",
        "1. Acme\n2. Globex\n3) Initech\n- 4. Umbrella",
        "The 2 invoices below; the 61-90 bucket holds 2,500.",
        "Today is 22 Nov 2026 (2026-11-22); figures for September 2026, in 2026, Q3, FY2026, 4-eyes rule.",
        "Customer C000017 (id 17), one invoice, 0 disputes.",
        "A decrease of (1,500,000) or -1,234,567.89.",
        "Docs at https://example.com/v2/page123 are external.",
    ],
)
def test_supported_figures_are_kept(text: str) -> None:
    repaired, events = ground_answer(text, CALLS, today=TODAY)
    assert events == [] and repaired == text


@pytest.mark.parametrize(
    ("text", "removed"),
    [
        ("Exposure is USD 2,000,000.", ["USD 2,000,000"]),
        ("Utilisation is 95%.", ["95%"]),
        ("Exposure is about 1.4m.", ["1.4m"]),
        ("Exposure is 1,234,567.80.", ["1,234,567.80"]),  # wrong at the precision shown
        ("There are 7 overdue invoices.", ["7"]),
        ("It was due 2026-10-15.", ["2026-10-15"]),
        ("It was due 5 Oct 2026.", ["5 Oct 2026"]),
        ("Invoice INV-2099-1 for C999999.", ["INV-2099-1", "C999999"]),
        ("Proposal #99 awaits approval.", ["#99"]),
        ("See §7.1.", ["§7.1"]),
        ("DSO is 47.0 days and the limit is EUR 3.1bn.", ["47.0", "EUR 3.1bn"]),
        ("A ratio of 2.5x.", ["2.5x"]),
    ],
)
def test_unsupported_figures_are_removed(text: str, removed: list[str]) -> None:
    repaired, events = ground_answer(text, CALLS, today=TODAY)
    assert [event.number for event in events] == removed
    assert all(event.action == "removed" for event in events)
    assert repaired.count(REMOVED_MARKER) == len(removed)
    for number in removed:
        assert number not in repaired


def test_sentence_is_repaired_around_the_removed_figure() -> None:
    repaired, _ = ground_answer("Exposure is USD 2,000,000 today.", CALLS, today=TODAY)
    assert repaired.startswith(f"Exposure is {REMOVED_MARKER} today.")
    assert "no tool output" in repaired


def test_the_users_own_numbers_and_extra_sources_are_allowed() -> None:
    assert check("You asked about a limit of 250,000.", allowed_text=["raise the limit to 250000"]) == []
    assert check("You asked about a limit of 250,000.") == ["250,000"]


def test_text_without_numbers_is_untouched_and_nothing_is_logged_with_text(caplog: pytest.LogCaptureFixture) -> None:
    assert ground_answer("No figures here.", []) == ("No figures here.", [])
    with caplog.at_level(logging.INFO, logger="assistant.grounding"):
        ground_answer("Secret Customer owes USD 5,555.", [], today=TODAY)
    record = next(r for r in caplog.records if r.getMessage() == "grounding.removed")
    assert record.removed == 1  # type: ignore[attr-defined]
    assert "Secret" not in repr(record.__dict__) and "5,555" not in repr(record.__dict__)


def test_without_tool_calls_every_figure_goes() -> None:
    repaired, events = ground_answer("Exposure is USD 1,234,567.89 and DSO 45.", [], today=TODAY)
    assert len(events) == 2 and "1,234,567.89" not in repaired


def test_figures_from_separate_tool_strings_are_never_joined_into_one() -> None:
    calls = [
        ToolCallRecord(
            name="get_customer_exposure",
            kind="read",
            arguments={},
            result={"rows": [{"code": "12", "note": "34 k"}, {"due": "2026-11-30", "ref": "5"}]},
        )
    ]
    _, events = ground_answer("It was 1234, then 2,634, then 5 and 34 k on 2026-11-30.", calls, today=TODAY)
    assert [event.number for event in events] == ["1234", "2,634"]
