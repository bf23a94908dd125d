"""The one amount parser (core.amounts) on every surface: the formats finance staff write are read exactly, anything
else is a clear INVALID_INPUT naming the input; in chat and through the API a malformed amount creates no proposal
and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from assistant.planner import OfflinePlanner
from assistant.planner.entities import Spans, amounts_in_words_as_figures, money_mentions
from assistant.service import AssistantService
from assistant.types import AskRequest
from core.amounts import NumberFormat, parse_amount
from core.errors import CreditDeskError, ErrorCode
from core.money import PositiveMoneyField
from db.engine import read_session
from db.models import Proposal, StaffUser
from integrations.api.app import create_app
from tests.support.surfaces import bearer, issue_keys
from tools.context import Actor

DE = NumberFormat.of("de_DE")
FR = NumberFormat.of("fr_FR")

ACCEPTED = [
    ("40k", None, "40000.00", None),
    ("1.2m", None, "1200000.00", None),
    ("250K", None, "250000.00", None),
    ("€12,50", DE, "12.50", "EUR"),
    ("12,50 €", DE, "12.50", "EUR"),
    ("1,250.00", None, "1250.00", None),
    ("1.250,00", DE, "1250.00", None),
    ("USD 40,000", None, "40000.00", "USD"),
    ("40 000", FR, "40000.00", None),
    ("1 250 000,00", FR, "1250000.00", None),
    ("1’250.50", NumberFormat.of("de_CH"), "1250.50", None),
    ("£7,250", None, "7250.00", "GBP"),
    ("$1.2m", None, "1200000.00", "USD"),
    ("USD 3 million", None, "3000000.00", "USD"),
    ("JPY 1.5k", None, "1500", "JPY"),
    ("1,250.50", NumberFormat.of(decimal_separator=".", thousands_separator=","), "1250.50", None),
    ("1.250,50", NumberFormat.of(decimal_separator=",", thousands_separator="."), "1250.50", None),
]

REFUSED = [
    ("1e30", None),
    ("1E6", None),
    ("2^20", None),
    ("10**6", None),
    ("0x100", None),
    ("750 000", None),
    ("2k5", None),
    ("3000½", None),
    ("1,2,3", None),
    ("12,50", None),
    ("€12,50", None),
    ("1.250,00", None),
    ("12.345", None),
    ("12.3400", None),
    ("1.5 JPY", None),
    ("-5", None),
    ("NaN", None),
    ("Infinity", None),
    ("1000000000000", None),
    ("99999999999999999999", None),
    ("five thousand", None),
    ("١٢٣", None),
    ("１２３", None),
    ("USD 5 EUR", None),
    ("1.25", DE),
    ("40 000", DE),
    ("", None),
]


@pytest.mark.parametrize(("text", "fmt", "amount", "currency"), ACCEPTED)
def test_formats_finance_staff_write_are_read_exactly(
    text: str, fmt: NumberFormat | None, amount: str, currency: str | None
) -> None:
    parsed = parse_amount(text, number_format=fmt)
    assert parsed.amount == Decimal(amount) and str(parsed.amount) == amount
    assert parsed.currency == currency


@pytest.mark.parametrize(("text", "fmt"), REFUSED)
def test_anything_else_is_a_clear_error_naming_the_input(text: str, fmt: NumberFormat | None) -> None:
    with pytest.raises(CreditDeskError) as info:
        parse_amount(text, number_format=fmt)
    assert info.value.code is ErrorCode.INVALID_INPUT
    if text:
        assert repr(text) in info.value.message


@pytest.mark.parametrize("value", [1e30, 0.1, float("nan"), float("inf"), True, None, [1]])
def test_non_text_values_are_refused(value: object) -> None:
    with pytest.raises(CreditDeskError):
        parse_amount(value)


def test_negative_only_when_allowed_and_minor_units() -> None:
    assert parse_amount("(40.00)", allow_negative=True).amount == Decimal("-40.00")
    assert parse_amount("1.250,00-", allow_negative=True, number_format=DE).amount == Decimal("-1250.00")
    assert parse_amount("1500", currency="JPY").amount == Decimal(1500)
    with pytest.raises(CreditDeskError, match="more decimals than JPY"):
        parse_amount("1500.50", currency="JPY")
    with pytest.raises(CreditDeskError, match="expected EUR"):
        parse_amount("USD 5", currency="EUR")


def test_bad_locales_and_separators_are_refused() -> None:
    for kwargs in (
        {"locale": "xx_YY"},
        {"decimal_separator": ";"},
        {"decimal_separator": ",", "thousands_separator": ","},
    ):
        with pytest.raises(CreditDeskError):
            NumberFormat.of(**kwargs)  # type: ignore[arg-type]


class _Limit(BaseModel):
    new_limit: PositiveMoneyField


@pytest.mark.parametrize(
    "value", ["1e30", "1E6", 1e30, 130000.5, 0.1, float("nan"), "NaN", "Infinity", "0x100", "12,50", "-5", "2^20"]
)
def test_tool_money_fields_refuse_what_pydantic_would_accept(value: object) -> None:
    with pytest.raises(ValidationError):
        _Limit(new_limit=value)


def test_tool_money_fields_accept_exact_amounts() -> None:
    assert _Limit(new_limit="130000").new_limit == Decimal("130000.00")
    assert _Limit(new_limit=130000).new_limit == Decimal("130000.00")
    assert _Limit(new_limit="130k").new_limit == Decimal("130000.00")
    assert _Limit(new_limit=130000.0).new_limit == Decimal("130000.00")  # a whole JSON number, as models send


# --- chat: the planner's extraction ----------------------------------------------------------------------------------

MALFORMED = [
    "1e30 USD",
    "1E6",
    "2^20 USD",
    "10**6",
    "0x100 EUR",
    "750 000",
    "2k5",
    "3000½ USD",
    "1,2,3",
    "12,50",
    "€12,50",
    "1.250,00 EUR",
    "12.345",
    "5 thousand 200",
    "5k and 300",
    "١٢٣ usd",
    "USD 1e30",
    "$2^20",
    "1,000,000.00.00",
]


@pytest.mark.parametrize("amount", MALFORMED)
def test_a_malformed_amount_in_chat_is_flagged_never_truncated(amount: str) -> None:
    found = money_mentions(f"Acme will pay {amount} by Friday", Spans())
    assert found and any(m.error for m in found), found
    assert all(m.amount == 0 for m in found if m.error)
    assert all(m.error for m in found if m.explicit), found


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("Acme will pay 40k by Friday", "40000.00", None),
        ("Acme will pay USD 40,000 on 15/12", "40000.00", "USD"),
        ("7-Eleven will pay 5k, on Friday", "5000.00", None),
        ("pay 12,500.00 EUR on 2026-12-15", "12500.00", "EUR"),
    ],
)
def test_well_formed_amounts_in_chat(text: str, amount: str, currency: str | None) -> None:
    found = [m for m in money_mentions(text, Spans()) if m.explicit]
    assert [(str(m.amount), m.currency, m.error) for m in found] == [(amount, currency, None)]


@pytest.mark.parametrize(
    ("words", "figures"),
    [
        ("Acme will pay five thousand USD by Friday", "Acme will pay 5000 USD by Friday"),
        ("order twenty thousand dollars worth", "order 20000 dollars worth"),
        ("raise it by half a million", "raise it by 500000"),
        ("a million", "1000000"),
        ("one hundred and fifty thousand", "150000"),
        ("twenty grand", "20000"),
        ("the second one and the first one", "the second one and the first one"),
        ("twenty-five hundred euros", "twenty-five hundred euros"),  # not read whole: left, and refused later
    ],
)
def test_amounts_written_in_words_are_read_as_figures(words: str, figures: str) -> None:
    assert amounts_in_words_as_figures(words) == figures


def test_a_declared_decimal_comma_locale_reads_chat_amounts() -> None:
    found = money_mentions("Acme zahlt €12,50 am Freitag", Spans(), number_format=DE)
    assert [(m.amount, m.currency) for m in found] == [(Decimal("12.50"), "EUR")]


# --- chat and API against a database: nothing is proposed, nothing changes -------------------------------------------

PLANNER = OfflinePlanner()


def _actor(url: str, name: str) -> Actor:
    with read_session(url) as session:
        return Actor.from_user(session.scalars(select(StaffUser).where(StaffUser.name == name)).one())


def _proposals(url: str) -> int:
    with read_session(url) as session:
        return int(session.scalar(select(func.count()).select_from(Proposal)) or 0)


def _chat_messages() -> list[tuple[str, str]]:
    promises = [f"Acme promised to pay {amount} on Friday" for amount in MALFORMED]
    limits = [f"set Acme's credit limit to {amount}" for amount in MALFORMED]
    return [("promise", text) for text in promises] + [("limit", text) for text in limits]


def test_malformed_amounts_in_chat_create_no_proposal(seeded_db_url: str) -> None:
    """The issue's measure: every malformed amount through chat promises and limit proposals; wrong amounts: 0."""
    before = _proposals(seeded_db_url)
    wrong = []
    for kind, text in _chat_messages():
        request = AskRequest(text=text, actor=_actor(seeded_db_url, "avery"), thread_id=f"t-{text}",
                             database_url=seeded_db_url)  # fmt: skip
        reply = PLANNER.answer(request, [])
        writes = [c for c in reply.tool_calls if c.kind == "write"]
        if writes or reply.proposals:
            wrong.append((kind, text))
            continue
        assert "nothing was done" in reply.text.lower() or "nothing was logged" in reply.text.lower(), reply.text
    assert wrong == []
    assert _proposals(seeded_db_url) == before


@pytest.fixture
def api_client(seeded_db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    service = AssistantService(database_url=seeded_db_url, engine="planner")
    with TestClient(create_app(database_url=seeded_db_url, service=service)) as client:
        yield client, issue_keys(seeded_db_url, ("avery",))


@pytest.mark.parametrize("amount", ["1e30 USD", "2^20", "750 000", "12,50", "5 thousand 200", "3000½"])
def test_malformed_amounts_through_the_api_chat_create_no_proposal(
    api_client: tuple[TestClient, dict[str, str]], seeded_db_url: str, amount: str
) -> None:
    client, keys = api_client
    before = _proposals(seeded_db_url)
    for message in (f"Acme promised to pay {amount} on Friday", f"set Acme's credit limit to {amount}"):
        response = client.post("/v1/chat", json={"message": message}, headers=bearer(keys["avery"]))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["proposals"] == [] and body["error"], body
        assert not [t for t in body["tools"] if t["kind"] == "write"]
    assert _proposals(seeded_db_url) == before


def test_a_well_formed_amount_through_the_api_chat_is_proposed_exactly(
    api_client: tuple[TestClient, dict[str, str]], seeded_db_url: str
) -> None:
    client, keys = api_client
    response = client.post(
        "/v1/chat", json={"message": "Acme promised to pay 12.5k on Friday"}, headers=bearer(keys["avery"])
    )
    body = response.json()
    assert response.status_code == 200 and len(body["proposals"]) == 1, body
    with read_session(seeded_db_url) as session:
        proposal = session.get(Proposal, body["proposals"][0]["id"])
        assert proposal is not None and Decimal(str(proposal.payload["amount"])) == Decimal("12500.00")


def test_every_money_input_of_every_tool_goes_through_the_one_parser() -> None:
    """A Decimal input without the parser would take '1e30' or 1E6 as a number; a new tool cannot forget it."""
    from pydantic import BeforeValidator, WrapValidator

    PARSED = (BeforeValidator, WrapValidator)

    from core.money import parse_money
    from tools.registry import get_registry

    unparsed = []
    for name, spec in get_registry().items():
        for field, info in spec.input_model.model_fields.items():
            if "Decimal" not in str(info.annotation):
                continue
            validators = [m for m in info.metadata if isinstance(m, PARSED)]
            nested = getattr(info.annotation, "__args__", ())
            validators += [m for arg in nested for m in getattr(arg, "__metadata__", ()) if isinstance(m, PARSED)]
            if not validators:
                unparsed.append(f"{name}.{field}")
    assert unparsed == []
    assert parse_money("25k") == 25000
