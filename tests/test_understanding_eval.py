"""The understanding scorer (evals/understanding/score.py): how one reply is judged, how figures add up, and one
end-to-end run of a few real items of the frozen set through the offline desk."""

from __future__ import annotations

from typing import Any

from assistant.types import AssistantReply, ToolCallRecord
from evals.understanding.score import (
    Item,
    judge,
    load_items,
    render_markdown,
    run_items,
    summarise,
)

FALLBACK = "I didn't understand that request, so I did nothing. I can: - “how much does Acme owe?”"


def item(capability: str, slots: dict[str, Any] | None = None, persona: str = "collector", **extra: Any) -> Item:
    return Item(
        id=extra.get("id", "ut-x"),
        user="casey",
        text="some request",
        capability=capability,
        slots=slots or {},
        persona=persona,
        dataset="demo",
    )


def call(name: str, arguments: dict[str, Any] | None = None, result: dict[str, Any] | None = None,
         error: str | None = None) -> ToolCallRecord:  # fmt: skip
    kind = "write" if name.startswith(("propose_", "log_", "add_")) else "read"
    return ToolCallRecord(
        name=name, kind=kind, arguments=arguments or {}, result=None if error else (result or {}), error=error
    )


def reply(text: str, *calls: ToolCallRecord) -> AssistantReply:
    return AssistantReply(text=text, thread_id="t", engine="planner", tool_calls=list(calls))


GLOBEX = {"customer": {"id": 4, "name": "Globex Industries", "external_id": "C000004"}}


def test_the_answering_tool_is_the_last_one_that_is_not_resolve_customer() -> None:
    answered = reply(
        "Globex owes …",
        call("resolve_customer", {"query": "globex"}, GLOBEX),
        call("get_customer_exposure", {"customer": "globex"}, GLOBEX),
    )
    j = judge(item("get_customer_exposure", {"customer": "Globex Industries"}), answered)
    assert (j.outcome, j.intent_right, j.answering_tool) == ("right", True, "get_customer_exposure")
    assert j.slots == {"customer": True}
    wrong_customer = judge(item("get_customer_exposure", {"customer": "Hooli Cloud Inc"}), answered)
    assert wrong_customer.intent_right and wrong_customer.slots == {"customer": False}


def test_another_tool_answering_without_asking_is_confidently_wrong_and_its_slots_are_wrong() -> None:
    answered = reply("From the credit policy: …", call("search_policy", {"query": "days late"}, {"passages": []}))
    j = judge(item("get_payment_behaviour", {"customer": "Globex Industries", "as_of": "2026-10-31"}), answered)
    assert j.outcome == "confidently_wrong" and j.confidently_wrong and not j.intent_right
    assert j.slots == {"customer": False, "as_of": False}
    # the same tool, but the call failed: not confident
    failed = reply("I couldn't find that.", call("search_policy", {"query": "x"}, error="no passages"))
    assert judge(item("get_payment_behaviour"), failed).outcome == "failed"
    # another tool answered, then the desk asked: not confidently wrong
    asked_after = reply("Globex's score is 40. Did you mean its payment behaviour?", call("score_customer"))
    assert judge(item("get_payment_behaviour"), asked_after).outcome != "confidently_wrong"


def test_clarify_is_right_only_when_the_desk_asks_instead_of_answering() -> None:
    question = reply(
        "“meyer” matches several customers: Meyer Freight Corp., Meyer Builders Corp. Which one did you mean?",
        call("resolve_customer", {"query": "meyer"}, {"status": "ambiguous"}),
    )
    j = judge(item("clarify"), question)
    assert j.outcome == "right" and j.asked
    answered_one_reading = reply("**Highbridge Company SAS**: score 32", call("score_customer", {}, GLOBEX))
    assert judge(item("clarify"), answered_one_reading).outcome == "confidently_wrong"
    # the fallback lists example questions in quotes: it asks nothing
    assert judge(item("clarify"), reply(FALLBACK)).outcome == "failed"


def test_out_of_scope_needs_a_cannot_without_any_tool() -> None:
    assert judge(
        item("out_of_scope"), reply("Sorry, I can't change payment terms; I can show the exposure.")
    ).intent_right
    assert judge(item("out_of_scope"), reply(FALLBACK)).outcome == "failed"
    ran_a_tool = reply("I can't translate; here is a draft.", call("draft_dunning_message", {}, GLOBEX))
    assert judge(item("out_of_scope"), ran_a_tool).outcome == "confidently_wrong"


def test_amount_and_date_slots_compare_values_not_spelling() -> None:
    logged = reply(
        "Logged a promise …",
        call("resolve_customer", {"query": "globex"}, GLOBEX),
        call("log_promise_to_pay", {"customer": "globex", "amount": "35000.00", "promised_date": "2026-11-20"}, GLOBEX),
    )
    slots = {"customer": "Globex Industries", "amount": "35000", "promised_date": "2026-11-20", "currency": "EUR"}
    assert judge(item("log_promise_to_pay", slots), logged).slots == {
        "customer": True,
        "amount": True,
        "promised_date": True,
    }
    off = dict(slots, amount="3500", promised_date="2026-11-13")
    assert judge(item("log_promise_to_pay", off), logged).slots == {
        "customer": True,
        "amount": False,
        "promised_date": False,
    }


def test_a_follow_up_proposal_is_judged_by_the_customer_it_names() -> None:
    """A follow-up ("log a promise from them …") resolves no customer in its own turn; the proposal it makes names
    the customer, and that is what the desk understood."""
    proposal = {"id": 9, "action": "log_promise_to_pay", "customer_id": 2, "customer_name": "Globex Industries"}
    logged = reply("Proposal #9 created …", call("log_promise_to_pay", {"customer": "2", "amount": "35000"}, proposal))
    assert judge(item("log_promise_to_pay", {"customer": "Globex Industries"}), logged).slots == {"customer": True}
    assert judge(item("log_promise_to_pay", {"customer": "Initech Ltd"}), logged).slots == {"customer": False}


def test_figures_and_report_add_up_per_capability_and_persona() -> None:
    exposure = reply("Globex owes …", call("get_customer_exposure", {"customer": "globex"}, GLOBEX))
    judgements = [
        judge(item("get_customer_exposure", {"customer": "Globex Industries"}, id="ut-1"), exposure),
        judge(item("score_customer", {"customer": "Globex Industries"}, persona="analyst", id="ut-2"), exposure),
        judge(item("clarify", id="ut-3"), reply("Which one did you mean: A or B?")),
        judge(item("out_of_scope", persona="sales", id="ut-4"), reply(FALLBACK)),
    ]
    s = summarise(judgements)
    assert (s.overall.items, s.overall.right, s.overall.confidently_wrong, s.overall.failed) == (4, 2, 1, 1)
    assert s.asked == 1 and s.clarify_items_asked == 1 and s.non_clarify_asked == 0
    assert s.out_of_scope_no_tool == 1
    assert (s.overall.slots_right, s.overall.slots) == (1, 2)
    assert s.slot_kinds["customer"] == (1, 2) and s.slot_kinds_given_intent["customer"] == (1, 1)
    assert s.by_persona["collector"].items == 2 and s.by_persona["analyst"].confidently_wrong == 1
    assert s.by_capability["score_customer"].intent_accuracy == 0.0
    report = render_markdown(judgements, examples=2)
    assert "| intent accuracy | 50.0 % (2/4) |" in report
    assert "| confidently wrong | 1 |" in report
    failures = report.split("## 2 example failures", 1)[1]
    assert "ut-2" in failures and "ut-4" in failures and "ut-1 " not in failures


def test_the_frozen_set_loads_with_personas_and_context() -> None:
    items = load_items()
    assert len(items) == 375 and len({i.id for i in items}) == 375
    assert {i.persona for i in items} == {"collector", "analyst", "manager", "sales"}
    assert sum(1 for i in items if i.context) == 23
    assert {i.dataset for i in items} == {"demo", "ibm"}


def test_a_few_real_items_run_end_to_end_on_the_seeded_demo() -> None:
    """Ten demo items (one a follow-up) through the offline desk on SQLite: every metric is computed."""
    items = [i for i in load_items() if i.dataset == "demo"]
    follow_up = next(i for i in items if i.context)
    chosen = [*items[:9], follow_up]
    judgements = run_items(chosen, knowledge=False)
    assert [j.item.id for j in judgements] == [i.id for i in chosen]
    assert all(j.reply_text for j in judgements)
    s = summarise(judgements)
    assert s.overall.items == 10
    assert s.overall.right + s.overall.asked + s.overall.confidently_wrong + s.overall.failed == 10
    assert s.overall.slots > 0 and s.overall.slot_accuracy is not None
    assert sum(f.items for f in s.by_persona.values()) == 10
    assert "## Per capability" in render_markdown(judgements)


def _portfolio(applied: dict[str, Any], text: str, **arguments: Any) -> AssistantReply:
    filters = {"buckets_selected": [], "restricted_to_own_book": False, **applied}
    result = {"filters_applied": filters, "group_by": arguments.get("group_by"), "rank_by": "exposure"}
    return reply(text, call("get_portfolio_summary", arguments, result))


def test_fully_correct_needs_every_labelled_filter_applied_and_the_measure_answered() -> None:
    label = item("get_portfolio_summary", {"measure": "dso", "filters": {"region": "EMEA", "dpd_min": 91}},
                 persona="manager")  # fmt: skip
    applied = {"regions": ["EMEA"], "buckets_selected": ["91-120", "120+"]}
    right = judge(label, _portfolio(applied, "Portfolio …\n- DSO: **50.0 days**", regions=["EMEA"]))
    assert right.understood and right.fully_correct
    assert right.full == {"tool_succeeded": True, "measure": True, "filters.region": True,
                          "filters.days_past_due": True}  # fmt: skip
    dropped = judge(label, _portfolio({"buckets_selected": ["91-120", "120+"]}, "- DSO: **52.5 days**"))
    assert dropped.understood and not dropped.fully_correct and dropped.full["filters.region"] is False
    other_figure = judge(label, _portfolio(applied, "- Open receivables: **USD 1.00**\n_DSO = AR / S × D_"))
    assert not other_figure.fully_correct and other_figure.full["measure"] is False
    figures = summarise([right, dropped, other_figure]).overall
    assert (figures.understood, figures.fully_correct) == (3, 1)


def test_a_ranking_is_fully_correct_with_its_count_measure_and_order() -> None:
    def judged(rank: dict[str, Any], result_extra: dict[str, Any], **arguments: Any) -> bool:
        label = item("get_portfolio_summary", {"rank": rank}, persona="manager")
        filters = {"buckets_selected": [], "restricted_to_own_book": False}
        result = {"filters_applied": filters, "group_by": None, "rank_by": "exposure", **result_extra}
        return judge(label, reply("Portfolio …", call("get_portfolio_summary", arguments, result))).full["rank"]

    top = {"order": "top", "n": 10, "by": "overdue"}
    assert judged(top, {"rank_by": "overdue"}, rank_by="overdue")  # 10 is the tool's default top_n
    assert not judged(top, {"rank_by": "overdue"}, rank_by="overdue", top_n=5)
    bottom = {"order": "bottom", "n": 3, "by": "open_ar"}
    assert judged(bottom, {"rank_by": "open_receivables", "rank_order": "smallest_first"}, top_n=3)
    assert not judged(bottom, {"rank_by": "open_receivables"}, top_n=3)
    worst = {"order": "top", "n": 5, "by": "add"}
    assert judged(worst, {}, payers="latest_first", top_n=5)
    assert not judged(worst, {}, payers="earliest_first", top_n=5)
    assert not judged(worst, {"rank_by": "overdue"}, rank_by="overdue", top_n=5)


def test_an_invoice_labelled_either_way_is_the_tools_number() -> None:
    looked_up = call("get_invoice", {"number": "INV-1"}, {"number": "INV-1"})
    for key in ("number", "invoice_number"):
        assert judge(item("get_invoice", {key: "INV-1"}), reply("INV-1 …", looked_up)).fully_correct, key
    other = call("get_invoice", {"number": "INV-2"}, {"number": "INV-2"})
    assert not judge(item("get_invoice", {"invoice_number": "INV-1"}), reply("INV-2 …", other)).fully_correct


def test_industry_and_utilisation_filters_are_read_from_what_the_tool_applied() -> None:
    label = item("get_portfolio_summary", {"filters": {"industry": "Retail", "min_utilisation": 90}}, persona="manager")
    applied = {"industries": ["Retail"], "min_utilisation_pct": "90"}
    assert judge(label, _portfolio(applied, "Portfolio …")).fully_correct
    wrong = judge(label, _portfolio({"industries": ["Retail"], "min_utilisation_pct": "80"}, "Portfolio …"))
    assert wrong.full["filters.min_utilisation"] is False and wrong.full["filters.industry"] is True


def test_a_promise_state_filter_is_read_from_the_matching_flag() -> None:
    def full(state: str, applied: dict[str, Any], text: str = "Portfolio …") -> bool:
        label = item("get_portfolio_summary", {"filters": {"promise_state": state}}, persona="manager")
        return judge(label, _portfolio(applied, text)).full["filters.promise_state"]

    assert full("open", {"open_promise": True}) and not full("open", {"broken_promise_in_period": True})
    assert full("broken", {"broken_promise_in_period": True}) and not full("broken", {"open_promise": True})
    assert full("kept", {"kept_promise_in_period": True}) and not full("kept", {"broken_promise_in_period": True})
    assert not full("cancelled", {}) and full("cancelled", {}, "**Not applied** — cancelled promises.\n\nPortfolio …")


def test_a_filter_no_tool_can_apply_counts_only_when_the_answer_says_so() -> None:
    label = item("get_portfolio_summary", {"filters": {"payment_terms": 60}}, persona="manager")
    silent = judge(label, _portfolio({}, "Portfolio — the whole book …"))
    said = judge(label, _portfolio({}, "**Not applied** — terms: the book is not filtered by them.\n\nPortfolio …"))
    assert not silent.fully_correct and said.fully_correct


def test_fully_correct_other_tools_compare_their_arguments_and_free_text_leniently() -> None:
    label = item("propose_order_hold", {"order_number": "SO-1", "reason": "they broke another promise"})
    kept = call("propose_order_hold", {"order_number": "SO-1", "reason": "they broke another promise"}, {"id": 1})
    generic = call("propose_order_hold", {"order_number": "SO-1", "reason": "Requested by casey"}, {"id": 2})
    assert judge(label, reply("Proposal #1 …", kept)).fully_correct
    assert not judge(label, reply("Proposal #2 …", generic)).fully_correct
    worklist = item("build_worklist", {"collector": "casey", "risk_class": "E"})
    own_book = call("build_worklist", {"risk_classes": ["E"]}, {"rows": []})
    assert judge(worklist, reply("Worklist for the book of casey …", own_book)).fully_correct
    failed = call("build_worklist", {"risk_classes": ["E"]}, error="boom")
    assert not judge(worklist, reply("That did not work", failed)).fully_correct


def test_rewrites_keep_the_meaning_and_differ_from_the_item() -> None:
    import random

    from evals.understanding.rewrites import CLOSINGS, OPENINGS, rewrites, swap_letters

    item = Item(id="dv9-0001", user="morgan", text="countback DSO as at end of Q3?", capability="get_portfolio_summary",
                slots={"measure": "dso_countback"}, persona="manager", dataset="demo")  # fmt: skip
    made = {variant.id.split("~")[1]: variant for variant in rewrites(item, random.Random(1))}
    assert set(made) == {"opening", "closing", "lower", "swap"}
    assert all(v.capability == item.capability and v.slots == item.slots for v in made.values())
    assert made["opening"].text.endswith("countback DSO as at end of Q3?")
    assert any(made["opening"].text.startswith(opening) for opening in OPENINGS)
    assert any(made["closing"].text == "countback DSO as at end of Q3" + closing for closing in CLOSINGS)
    assert made["lower"].text == item.text.lower()
    swapped = made["swap"].text
    assert swapped != item.text and sorted(swapped) == sorted(item.text) and len(swapped) == len(item.text)
    assert swap_letters("SO-12 ok?", random.Random(1)) is None  # no lower-case word of five letters


def test_the_frozen_set_is_never_rewritten() -> None:
    import pytest

    from evals.understanding.rewrites import lost_by_kind

    with pytest.raises(ValueError, match="never rewritten"):
        lost_by_kind(["dev", "test"])
