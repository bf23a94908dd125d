"""Parts of a question the offline desk must carry to the tool, not drop or misread (issue 12, thirteenth session):
splits by country and industry, region and country words as people write them ("NA", "north american", a slip in
"canadain"), half-years, a ranking said "by exposure" beside a days filter, follow-ups that compare, a limit moved
"up 10k" or "to a 20k limit", a letter asked for in the thread, a contact typed in lower case, a second collector's
book added to a worklist, an ambiguous "collection rate". On SQLite and PostgreSQL (the `shared_url` demo
portfolio); the pure parsers without a database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from assistant.planner.dates import date_mentions
from assistant.planner.entities import Spans, amounts_in_words_as_figures, money_mentions
from assistant.planner.limit_change import limit_change_kind
from assistant.planner.portfolio_query import asks_for_one, lists_customers
from db.engine import write_session
from db.models import Customer
from db.models.party import customer_name_key
from tests.support import clock
from tests.test_planner import ask, conversation, last_call, shared_url  # noqa: F401 - the fixture is used by name

TODAY = date(2026, 11, 16)
PORTFOLIO_DEFAULTS = {"top_n": 10, "rank_by": "exposure", "rank_order": "largest_first"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("total receivables for NA customers by industry", {"regions": ["North America"], "group_by": "industry"}),
        ("overdue by country", {"group_by": "country"}),
        ("open AR by sector for EMEA", {"regions": ["EMEA"], "group_by": "industry"}),
        ("overdue UK vs Germany", {"countries": ["GB", "DE"], "group_by": "country"}),
        ("top 10 north american customers by total exposure", {"regions": ["North America"], "top_n": 10}),
        ("ADD for canadain customers", {"countries": ["CA"]}),
        ("how much do UK customers have overdue by more then 60 days", {"countries": ["GB"], "min_days_past_due": 60}),
        ("can you give me broken PTPs in Retail", {"industries": ["Retail"], "broken_promise_in_period": True}),
        (
            "5 smallest accounts by exposure over 60 days past due",
            {"rank_by": "exposure", "rank_order": "smallest_first", "top_n": 5, "min_days_past_due": 60},
        ),
    ],
)
def test_the_question_s_parts_reach_the_portfolio_tool(
    shared_url: str,  # noqa: F811
    text: str,
    expected: dict[str, object],
) -> None:
    arguments = last_call(ask(shared_url, "morgan", text), "get_portfolio_summary").arguments
    # calls are recorded without the tool's defaults
    assert {key: arguments.get(key, PORTFOLIO_DEFAULTS.get(key)) for key in expected} == expected


def test_na_in_lower_case_is_no_region(shared_url: str) -> None:  # noqa: F811
    arguments = last_call(ask(shared_url, "morgan", "na, show me EMEA overdue"), "get_portfolio_summary").arguments
    assert arguments["regions"] == ["EMEA"]


def test_a_share_over_ninety_days_is_no_minimum_balance(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "what was % over 90 days in North America at the end of H1?")
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert "min_balance" not in arguments and arguments.get("group_by") != "customer"
    assert str(arguments["as_of"]) == date(clock.today().year, 6, 30).isoformat()


def test_half_years() -> None:
    def read(text: str) -> tuple[date, date | None]:
        found = date_mentions(text, TODAY, Spans())
        assert len(found) == 1, found
        return found[0].day, found[0].period_start

    assert read("overdue at the end of H1") == (date(2026, 6, 30), date(2026, 1, 1))
    assert read("DSO for H2 last year") == (date(2025, 12, 31), date(2025, 7, 1))
    assert read("first half of 2013 DSO") == (date(2013, 6, 30), date(2013, 1, 1))
    assert read("H2") == (TODAY, date(2026, 7, 1))  # the half under way: to date
    assert date_mentions("they will pay in the first half of December", TODAY, Spans()) == []


def test_eom_before_the_month_is_that_month_end() -> None:
    assert [m.day for m in date_mentions("vs EOM october?", TODAY, Spans())] == [date(2026, 10, 31)]


@pytest.mark.parametrize(
    ("first", "follow_up", "carried"),
    [
        ("pct over 90 for risk classes C and D", "compare that with end of last month", {"risk_classes": ["C", "D"]}),
        ("overdue in EMEA", "vs EOM october?", {"regions": ["EMEA"]}),
    ],
)
def test_a_comparison_asked_next_keeps_the_question(
    shared_url: str,  # noqa: F811
    first: str,
    follow_up: str,
    carried: dict[str, object],
) -> None:
    reply = conversation(shared_url, "avery", first, follow_up)[-1]
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert {key: arguments.get(key) for key in carried} == carried
    assert arguments.get("compare_to") is not None


def test_a_list_with_a_place_between() -> None:
    assert lists_customers("customers in country 897 owing at least 500 on 31/03/2013")
    assert not lists_customers("what was % over 90 days in North America?")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("bump vandelay up 10k pls", "increase"),
        ("take them down 5k", "decrease"),
        ("drop deltavale to a 20k limit until they clear the backlog", "absolute"),
        ("raise umbrella's limit 50k", "unclear"),
    ],
)
def test_how_an_amount_moves_a_limit(text: str, kind: str) -> None:
    mention = next(m for m in money_mentions(text, Spans()) if not m.error)
    assert limit_change_kind(text, mention) == kind


def test_a_half_million_is_five_hundred_thousand() -> None:
    assert amounts_in_words_as_figures("would a half-million order pass?") == "would a 500000 order pass?"
    assert amounts_in_words_as_figures("half a million") == "500000"


def test_go_with_a_signed_figure_after_a_recommendation_proposes_it(shared_url: str) -> None:  # noqa: F811
    reply = conversation(shared_url, "avery", "recommended limit for hooli?", "go with +25k then, they pay on time")[-1]
    proposal = last_call(reply, "propose_credit_limit_change").arguments
    assert proposal["customer"] == "11" and str(proposal["change_by"]) == "25000.00"


def test_reassigning_to_a_collector_while_naming_the_current_one(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "admin", "reassign the globex account to cleo, cameron has too much on")
    arguments = last_call(reply, "propose_collector_assignment").arguments
    assert arguments["customer"] == "4" and arguments["collector"] == "cleo"


def test_a_letter_asked_for_in_the_thread_is_a_draft_for_that_customer(shared_url: str) -> None:  # noqa: F811
    reply = conversation(shared_url, "charlie", "soylent overdue items?", "write them a firm letter")[-1]
    arguments = last_call(reply, "draft_dunning_message").arguments
    assert arguments["customer"] == "9" and arguments["tone"] == "firm"
    assert not ask(shared_url, "charlie", "help me write a cover letter").tool_calls


def test_a_contact_typed_in_lower_case_after_the_word(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "charlie", "soylent just promised $1,200 by friday, contact susan patel")
    assert last_call(reply, "log_promise_to_pay").arguments["contact"] == "susan patel"


def test_another_collectors_book_added_to_a_worklist(shared_url: str) -> None:  # noqa: F811
    reply = conversation(shared_url, "morgan", "cleo's worklist", "add casey's accounts to that too")[-1]
    assert last_call(reply, "build_worklist").arguments["collectors"] == ["cleo", "casey"]


def test_whose_limit_changes_are_waiting(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "which of ash's limit changes are still waiting for a decision")
    arguments = last_call(reply, "list_pending_approvals").arguments
    assert arguments == {"kind": "set_credit_limit", "proposed_by": "ash"}


def test_a_collection_rate_asks_which_one(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", "collection rate for Q3?")
    assert not reply.tool_calls
    assert [choice.label for choice in reply.choices] == ["CEI (collection effectiveness)", "promises kept (rate)"]


def test_a_year_end_with_its_year_is_that_year_s() -> None:
    for text in ("at year-end 2012", "2012 year end", "end of year 2012", "yearend 2012"):
        assert [m.day for m in date_mentions(text, TODAY, Spans())] == [date(2012, 12, 31)], text
    assert [m.day for m in date_mentions("at year end", TODAY, Spans())] == [date(2025, 12, 31)]


def test_which_customer_had_the_largest_is_one_customer() -> None:
    assert asks_for_one("which IBM customer had the largest overdue on 2012-12-31?")
    assert asks_for_one("which account owed the most at the end of June?")


def test_add_written_as_the_acronym_is_the_measure(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "what was ADD for country code DE EOM Sept?")
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert arguments["countries"] == ["DE"]
    assert str(arguments["as_of"]).endswith("-09-30")
    assert "ADD" in reply.text


def test_how_a_customer_paid_is_its_payment_behaviour(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "avery", f"how did globex pay during {clock.today().year - 1}?")
    assert last_call(reply, "get_payment_behaviour").arguments["customer"] == "4"


def _rename(url: str, *names: str) -> list[str]:
    """The last customers without a parent renamed to `names` (in order); their ids."""
    with write_session(url) as session:
        chosen = session.scalars(select(Customer).where(Customer.parent_id.is_(None)).order_by(Customer.id)).all()
        ids = []
        for customer, name in zip(chosen[-len(names) :], names, strict=True):
            customer.name, customer.name_key = name, customer_name_key(name)
            ids.append(str(customer.id))
    return ids


def test_a_name_typed_in_full_whose_words_are_request_words(seeded_db_url: str) -> None:
    willow, _, perrin = _rename(
        seeded_db_url, "Willow Works Labs GmbH", "Willowpath Contracting SARL", "Perrin Retail PLC"
    )
    reply = ask(seeded_db_url, "avery", "how much is Willow Works Labs GmbH into us for")
    assert last_call(reply, "get_customer_exposure").arguments["customer"] == willow
    assert last_call(ask(seeded_db_url, "avery", "score perrin pls"), "score_customer").arguments["customer"] == perrin
    ambiguous = ask(seeded_db_url, "avery", "what's willow's risk score")  # two names start with it: asked
    assert "score_customer" not in [call.name for call in ambiguous.tool_calls] and "Willowpath" in ambiguous.text


def test_a_customer_spoken_to_is_the_customer_not_a_contact(shared_url: str) -> None:  # noqa: F811
    reply = ask(shared_url, "morgan", "spoke to Initech Ltd, they committed to 2,000 by end of month")
    arguments = last_call(reply, "log_promise_to_pay").arguments
    assert arguments["customer"] == "5" and "contact" not in arguments


@pytest.mark.parametrize(
    ("who", "text", "tool"),
    [
        ("avery", "right-size hooli's limit", "recommend_credit_limit"),
        ("avery", "rescore Acme Corporation please", "score_customer"),
        ("sam", "is there room for 8 grand more on Globex Industries", "check_order_release"),
    ],
)
def test_the_verb_says_which_look(shared_url: str, who: str, text: str, tool: str) -> None:  # noqa: F811
    assert ask(shared_url, who, text).tool_calls[-1].name == tool


def test_an_amount_added_to_a_line_raises_it_by_that_much() -> None:
    text = "add 50k to Globex's line"
    mention = next(m for m in money_mentions(text, Spans()) if not m.error)
    assert limit_change_kind(text, mention) == "increase"


def test_leaving_out_disputes_next_keeps_the_question(shared_url: str) -> None:  # noqa: F811
    reply = conversation(shared_url, "morgan", "overdue in EMEA", "leave out disputes")[-1]
    arguments = last_call(reply, "get_portfolio_summary").arguments
    assert arguments["regions"] == ["EMEA"] and arguments["exclude_disputed"] is True


def test_a_customer_s_family_and_the_customer_on_its_own(shared_url: str) -> None:  # noqa: F811
    family = last_call(ask(shared_url, "morgan", "what does the acme family owe us in total"), "get_customer_exposure")
    assert family.arguments["customer"] == "1" and family.arguments.get("include_group", True) is True  # the default
    alone = ask(shared_url, "morgan", "acme on its own, without the subsidiaries")
    arguments = last_call(alone, "get_customer_exposure").arguments
    assert arguments["customer"] == "1" and arguments["include_group"] is False
