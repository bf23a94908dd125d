"""Answers for the look-up tools: one invoice, a customer's payment behaviour, its promise history, the approvals
waiting for the user. Every figure is a plain formatting of a value in the tool result (see format.py)."""

from __future__ import annotations

from typing import Any

from .answers import customer_label, definitions_line, paragraphs
from .format import count, days, money, pct, plain, table

J = dict[str, Any]
MAX_ROWS = 10


def invoice(result: J) -> str:
    currency = result["currency"]
    head = (
        f"Invoice **{result['number']}** for {customer_label(result['customer'])}, as of {result['as_of']}: "
        f"**{result['status']}**. Amount {money(result['amount'], currency)}, open "
        f"{money(result['open_amount'], currency)}, paid {money(result['paid_amount'], currency)}. "
        f"Issued {result['issue_date']}, due {result['due_date']}"
    )
    if result.get("paid_date"):
        head += f", paid {result['paid_date']} ({plain(result.get('days_late'))} days after the due date)"
    elif result.get("days_past_due") is not None and result["days_past_due"] > 0:
        head += f", **{plain(result['days_past_due'])} days past due**"
    head += "."
    blocks = [head]
    if result.get("disputed"):
        blocks.append("It is under an active dispute.")
    blocks.extend(
        f"Dispute #{line['id']} ({line['reason_code']}, {line['status']}) over "
        f"{money(line['amount'], line['currency'])}, opened {line['opened_on']}."
        for line in result.get("disputes") or []
    )
    promises = result.get("promises") or []
    if promises:
        last = promises[0]
        blocks.append(
            f"Promise to pay {money(last['amount'], last['currency'])} by {last['promised_date']}: {last['status']}."
        )
    letters = result.get("dunning_letters") or []
    if letters:
        blocks.append(f"Dunning letters sent: {count(len(letters))}, the last on {letters[-1]['sent_on']}.")
    blocks.append(definitions_line(result.get("definitions", [])[:2]))
    return paragraphs(blocks)


# Periods of a payment trend shown in an answer (a quarterly trend over three years is 12)
TREND_POINTS = 12


def payment_behaviour(result: J, *, trend_asked: bool = False) -> str:
    figures = result["figures"]
    if not figures["paid_invoices"]:
        return (
            f"{customer_label(result['customer'])} paid no invoice between {result['window_start']} and "
            f"{result['window_end']}, so there are no days to pay, days late or share paid late to report."
        )
    blocks = [
        f"Payment behaviour of {customer_label(result['customer'])}, invoices paid {result['window_start']} – "
        f"{result['window_end']} ({count(figures['paid_invoices'])} invoices, "
        f"{money(figures['paid_amount'], figures['currency'])}):",
        table(
            ["measure", "simple", "amount-weighted"],
            [
                ["days to pay", days(figures["average_days_to_pay"]), days(figures["weighted_average_days_to_pay"])],
                ["days late", days(figures["average_days_late"]), days(figures["weighted_average_days_late"])],
                ["paid late", pct(figures["share_paid_late_pct"]), pct(figures["share_paid_late_amount_pct"])],
            ],
        ),
    ]
    comparison = result.get("comparison") or {}
    if comparison.get("summary"):
        blocks.append(comparison["summary"])
    trend = [point for point in result.get("trend", []) if point["figures"]["paid_invoices"]]
    if len(trend) > 1:
        shown = trend[-TREND_POINTS:]
        blocks.append(
            f"Trend (weighted days late{f', the last {TREND_POINTS} periods' if len(trend) > len(shown) else ''}): "
            + ", ".join(f"{p['period']} {days(p['figures']['weighted_average_days_late'])}" for p in shown)
            + "."
        )
    elif trend_asked:
        blocks.append(
            "Trend: too few paid invoices to show one — "
            + (f"only {trend[0]['period']} has any." if trend else "no period in the window has any.")
        )
    blocks.append(definitions_line(result.get("definitions", [])[:2]))
    return paragraphs(blocks)


def promise_history(result: J) -> str:
    counts = result["counts"]
    label = customer_label(result["customer"])
    since = result.get("period_start")
    if not result["total"]:
        if since:
            none = "none open, kept or broken"
            return f"{label} has no promise to pay due on or after {since} (as of {result['as_of']}): {none}."
        return f"{label} has made no promise to pay up to {result['as_of']}: none open, kept or broken."
    blocks = []
    last = result.get("last_promise")
    if last:
        blocks.append(
            f"Last promise from {label}: {money(last['amount'], last['currency'])} by {last['promised_date']} "
            f"(taken {last['taken_on']}) — **{last['status'].replace('_', ' ')}**"
            + (" and its date has passed" if last.get("past_promised_date") else "")
            + "."
        )
    blocks.append(
        (
            f"The {count(result['total'])} promises due on or after {since} (as of {result['as_of']}): "
            if since
            else f"All {count(result['total'])} promises up to {result['as_of']}: "
        )
        + f"{count(counts['kept'])} kept, "
        f"{count(counts['partially_kept'])} partially kept, {count(counts['broken'])} broken, "
        f"{count(counts['open'])} open, {count(counts['cancelled'])} cancelled. Last 12 months: "
        f"{count(result['kept_12m'])} of {count(result['judged_12m'])} judged kept"
        + (f" ({pct(result['kept_rate_12m_pct'])})" if result.get("kept_rate_12m_pct") is not None else "")
        + f"; broken in the last 90 days: {count(result['broken_last_90_days'])}."
    )
    rows = [
        [
            str(p["taken_on"]),
            str(p["promised_date"]),
            money(p["amount"], p["currency"]),
            p.get("invoice_number") or "whole balance",
            p["status"].replace("_", " "),
        ]
        for p in result.get("promises", [])[:MAX_ROWS]
    ]
    blocks.append(table(["taken", "promised for", "amount", "on", "state"], rows))
    blocks.append(definitions_line(result.get("definitions", [])[:1]))
    return paragraphs(blocks)


def pending_approvals(result: J, *, mine: bool = False) -> str:
    """`mine`: the list is of the asking user's own proposals ("is it still waiting for approval?")."""
    if not result["total"]:
        if mine:
            return "No proposal of yours is waiting for a decision."
        return result.get("note") or "Nothing is waiting for your decision."
    rows = [
        [
            f"#{a['id']}",
            a["summary"],
            a["proposed_by"],
            f"{plain(a['hours_left'])} h",
            "yes" if a["you_may_approve"] else "no: " + "; ".join(a["why_not_approve"])[:80],
        ]
        for a in result["approvals"][:MAX_ROWS]
    ]
    blocks = [
        f"{count(result['total'])} of your proposals {'is' if result['total'] == 1 else 'are'} waiting for a decision "
        f"(showing {count(len(rows))}):"
        if mine
        else f"{count(result['total'])} proposals are waiting for a decision you may take "
        f"(showing {count(len(rows))}):",
        table(["id", "proposal", "proposed by", "expires in", "you may approve"], rows),
        "Approve or reject with the buttons on each proposal card, or `creditdesk proposals approve <id>`.",
    ]
    return paragraphs(blocks)


def name_search(term: str, result: J) -> str:
    """The customers a part of a name matches: the list is the answer, not a question."""
    if result.get("status") == "resolved" and result.get("customer"):
        return f"One customer matches “{term}”:\n\n" + customer_card(result["customer"])
    candidates = result.get("candidates") or []
    if not candidates:
        return f"No customer name matches “{term}”."
    rows = "\n".join(f"- {customer_label(c['customer'])}" for c in candidates)
    more = " (the first 20)" if len(candidates) >= 20 else ""
    return f"Customers whose name matches “{term}”{more}:\n\n{rows}"


def customer_card(customer: J) -> str:
    parts = [
        f"{customer_label(customer)}: customer id {customer['id']}, external id {customer['external_id']}",
        f"currency {customer['currency']}, terms {customer['payment_terms_days']} days",
    ]
    where = ", ".join(str(customer[key]) for key in ("region", "country", "segment") if customer.get(key))
    if where:
        parts.append(where)
    parts.append(f"collector {customer.get('collector') or 'none'}")
    if customer.get("parent_name"):
        parts.append(f"part of {customer['parent_name']}")
    return "; ".join(parts) + "."


def worklist_rank_why(row: J, total: int) -> str:
    """Why a worklist row ranks where it does: the score as a product of its factors, the biggest drivers first."""
    why = row["why"]
    drivers = sorted((f for f in why["factors"] if f["effect"] != "neutral"), key=lambda f: -float(f["share_pct"]))
    lines = [f"Why **{row['customer']['name']}** is #{row['rank']} of {total}: {why['summary']}", f"{why['formula']}."]
    lines += [f"- {f['factor'].replace('_', ' ')}: {f['detail']} ({f['effect']} it, {f['share_pct']}% of the score)"
              for f in drivers]  # fmt: skip
    lines.append(f"Next action: **{row['next_best_action']['action']}** — {row['next_best_action']['reason']}")
    return "\n".join(lines)
