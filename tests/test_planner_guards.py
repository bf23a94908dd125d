"""The offline planner never guesses a write's values (issue 11 §2): a currency word that does not fit the account,
two amounts, two dates or two customers in one write, an accounting-negative amount, a slash date that reads both
ways, a day the month does not have, a limit verb that contradicts the figure. Each asks or refuses and writes
nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from assistant.planner.dates import date_mentions
from assistant.planner.entities import Spans, money_mentions
from assistant.types import AssistantReply
from db.engine import read_session
from db.models import Proposal
from tests.support import clock
from tests.test_planner import ask, last_call

# Seeded demo: Acme 1 (USD), Acme Europe 2 (EUR), Globex 4, Initech 5 (GBP), Stark 7, Wayne 8, Vandelay 10, Hooli 11,
# Olsen International 39.


def proposals(url: str) -> int:
    with read_session(url) as session:
        return int(session.scalar(select(func.count()).select_from(Proposal)) or 0)


def assert_nothing_written(url: str, reply: AssistantReply) -> None:
    assert not [c.name for c in reply.tool_calls if c.kind == "write"], reply.tool_calls
    assert reply.proposals == []
    assert proposals(url) == 0


ASKS: list[tuple[str, str, list[str]]] = [
    # D1: a currency word that is not the account's currency
    ("casey", "Acme Europe promised to pay 2000 dollars on Friday", ["EUR", "dollars"]),
    ("casey", "Acme Europe promised to pay 2000 bucks on Friday", ["EUR", "bucks"]),
    ("casey", "Acme Europe promised to pay 2 thousand dollars on Friday", ["EUR", "dollars"]),
    ("avery", "Acme promised to pay 300 quid on Friday", ["USD", "quid"]),
    ("avery", "raise Wayne's limit by 5k euros", ["USD", "euros"]),
    # D3: two amounts or two dates in one promise
    ("avery", "Acme promised to pay 5000 on Friday and 20000 on Monday", ["5000", "20000", "two dates"]),
    ("avery", "Acme promised to pay 3000 in 3 days and 1000 in 2 weeks", ["3000", "1000"]),
    ("avery", "Acme promised to pay 3000 on the 31st of December or 1,000 now", ["3000", "1,000"]),
    ("avery", "Acme promised 600 on Friday, Olsen International 700 on Monday", ["600", "700"]),
    ("avery", "Acme promised to pay 5k by Friday or by Monday", ["two dates"]),
    # D4: an accounting negative
    ("avery", "Acme promised to pay (5000) on Friday", ["positive"]),
    ("avery", "Acme promised to pay (USD 5,000) on Friday", ["positive"]),
    # D5: a slash date that reads both ways
    ("avery", "Acme promised to pay 5000 on 07/12", ["7 December", "12 July"]),
    ("avery", "Acme promised to pay 5000 on 03/04", ["3 April", "4 March"]),
    ("avery", "Acme promised to pay 5000 on 03/04/2027", ["3 April 2027", "4 March 2027"]),
    # D6: two amounts, two customers
    ("avery", "cut Hooli's limit by 5k to 10k", ["5k", "10k"]),
    ("avery", "set Wayne's limit to 100k, no 200k", ["100k", "200k"]),
    ("avery", "raise Stark's limit by 5k and Hooli's by 10k", ["5k", "10k"]),
    ("avery", "raise the limit of Stark and Hooli to 50k", ["Stark", "Hooli", "one"]),
    # D7: two customers in one write
    ("avery", "Wayne and Globex promised to pay 50 on Friday", ["Wayne", "Globex"]),
    ("avery", "Globex & Initech promised to pay 50 on Friday", ["Globex", "Initech"]),
    ("avery", "assign Acme and Globex to cleo", ["Acme", "Globex"]),
    ("avery", "hold SO-0000003 and SO-0000004", ["SO-0000003", "SO-0000004"]),
]


@pytest.mark.parametrize(("who", "text", "named"), ASKS, ids=[case[1] for case in ASKS])
def test_a_write_that_would_be_a_guess_asks_and_writes_nothing(
    seeded_db_url: str, who: str, text: str, named: list[str]
) -> None:
    reply = ask(seeded_db_url, who, text)
    assert reply.error, reply.text
    for word in named:
        assert word in reply.text, reply.text
    assert "nothing was" in reply.text.lower()
    assert_nothing_written(seeded_db_url, reply)


def test_a_dollar_word_fits_a_dollar_account_and_is_sent_as_its_currency(seeded_db_url: str) -> None:
    reply = ask(seeded_db_url, "avery", "Acme promised to pay 2000 dollars on Friday")
    call = last_call(reply, "log_promise_to_pay")
    assert call.arguments["currency"] == "USD" and call.arguments["amount"] == "2000.00"
    euros = ask(seeded_db_url, "casey", "Acme Europe promised to pay 2k euros on Friday", thread="eur")
    assert last_call(euros, "log_promise_to_pay").arguments["currency"] == "EUR"
    assert proposals(seeded_db_url) == 2


def test_one_customer_or_one_amount_is_not_taken_for_two(seeded_db_url: str) -> None:
    whole = ask(seeded_db_url, "avery", "Sorensen & Garcia promised to pay 50 on Friday")
    assert last_call(whole, "log_promise_to_pay").arguments["customer"] == "22"  # one name with "&" in it
    by_id = ask(seeded_db_url, "avery", "customer 1 promised 5k on Friday", thread="id")
    assert last_call(by_id, "log_promise_to_pay").arguments == {
        "customer": "1",
        "amount": "5000.00",
        "promised_date": str(date_mentions("on Friday", clock.today(), Spans(), future=True)[0].day),
    }


def test_a_currency_word_that_does_not_fit_refuses_a_release_check(seeded_db_url: str) -> None:
    reply = ask(seeded_db_url, "avery", "can we ship 5k dollars to Initech?")
    assert "GBP" in reply.text and "dollars" in reply.text
    assert not [c for c in reply.tool_calls if c.name == "check_order_release"]
    pounds = ask(seeded_db_url, "avery", "can we ship 5k pounds to Initech?", thread="gbp")
    assert last_call(pounds, "check_order_release").arguments["currency"] == "GBP"


def test_unambiguous_slash_dates_are_read(seeded_db_url: str) -> None:
    reply = ask(seeded_db_url, "avery", "Acme promised to pay 5000 on 25/12")
    promised = date.fromisoformat(last_call(reply, "log_promise_to_pay").arguments["promised_date"])
    assert (promised.month, promised.day) == (12, 25)
    other = ask(seeded_db_url, "avery", "Acme promised to pay 4000 on 12/25", thread="us")
    assert last_call(other, "log_promise_to_pay").arguments["promised_date"] == str(promised)


def test_two_dates_for_the_same_day_are_one_date(seeded_db_url: str) -> None:
    friday = date_mentions("on Friday", clock.today(), Spans(), future=True)[0].day
    reply = ask(seeded_db_url, "avery", f"Acme promised to pay 5000 on Friday, {friday.day} {friday:%B %Y}")
    assert last_call(reply, "log_promise_to_pay").arguments["promised_date"] == str(friday)


def test_a_day_the_month_does_not_have_is_asked_about(seeded_db_url: str) -> None:
    with time_machine.travel(datetime(2026, 11, 16, 12, tzinfo=UTC)):  # the month meant, November, has no 31st
        reply = ask(seeded_db_url, "avery", "Acme promised to pay 500 on the 31st")
    assert "has no" in reply.text and "Nothing was" in reply.text
    assert_nothing_written(seeded_db_url, reply)


def test_the_31st_in_november_is_a_question_with_both_readings() -> None:
    found = date_mentions("on the 31st", date(2026, 11, 16), Spans(), future=True)
    assert found[0].problem and "November 2026 has no 31st" in found[0].problem
    assert "30 November 2026" in found[0].problem and "31 December 2026" in found[0].problem
    assert date_mentions("on the 30th", date(2026, 11, 16), Spans(), future=True)[0].problem is None
    assert date_mentions("as of the 31st", date(2026, 12, 16), Spans())[0].problem  # November, looking back


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("pay 2000 dollars", {"USD", "CAD", "AUD", "SGD", "NZD", "HKD"}),
        ("pay 2k bucks", {"USD", "CAD"}),
        ("pay 2 thousand pesos", {"MXN"}),
        ("pay 50 francs", {"CHF"}),
    ],
)
def test_currency_words_name_their_family(text: str, codes: set[str]) -> None:
    (mention,) = money_mentions(text, Spans())
    assert mention.currencies is not None and codes <= mention.currencies
    assert "EUR" not in mention.currencies and "GBP" not in mention.currencies
    assert mention.amount == Decimal(text.split(" ", 1)[1].split()[0].replace("k", "000")) or mention.amount == 2000


def test_single_currency_words_set_the_code() -> None:
    assert [(m.amount, m.currency) for m in money_mentions("5k euros, 300 quid, 10 yen", Spans())] == [
        (Decimal(5000), "EUR"),
        (Decimal(300), "GBP"),
        (Decimal(10), "JPY"),
    ]
    assert money_mentions("USD 20 euros", Spans())[0].error == "invalid"


def test_a_bracketed_amount_is_negative() -> None:
    assert money_mentions("pay (5000) now", Spans())[0].error == "negative"
    assert money_mentions("pay (5k EUR) now", Spans())[0].error == "negative"
    assert money_mentions("pay 5000 (by wire)", Spans())[0].error is None


def _current_limit(url: str, customer: str) -> Decimal:
    reply = ask(url, "avery", f"recommend a limit for {customer}", thread=f"rec-{customer}")
    return Decimal(str(last_call(reply, "recommend_credit_limit").result["current_limit"]))


@pytest.mark.parametrize(("verb", "factor", "word"), [("raise", Decimal("0.5"), "lower"), ("cut", Decimal(2), "raise")])
def test_a_limit_verb_that_contradicts_the_figure_asks(
    seeded_db_url: str, verb: str, factor: Decimal, word: str
) -> None:
    current = _current_limit(seeded_db_url, "Wayne")
    target = (current * factor).quantize(Decimal(1))
    reply = ask(seeded_db_url, "avery", f"{verb} Wayne's limit to {target}")
    assert f"would {word} it" in reply.text and "Nothing was proposed" in reply.text
    assert_nothing_written(seeded_db_url, reply)
    agrees = ask(
        seeded_db_url, "avery", f"{verb} Wayne's limit to {(current / factor).quantize(Decimal(1))}", thread="ok"
    )
    assert last_call(agrees, "propose_credit_limit_change").result["status"]
