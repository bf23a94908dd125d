"""Answer templates. Each takes a tool result (the JSON the turn recorded) and writes short Markdown in which every
figure is a formatting of a value in that result (see `format`), with the definitions the tool states."""

from __future__ import annotations

import re
from typing import Any

from .format import bullets, count, days, money, pct, plain, quote, role, table

J = dict[str, Any]

HELP = "\n".join(
    [
        "I'm the offline credit desk assistant (no language model: I follow fixed rules, so ordinary short phrasings "
        "work best). I can:",
        '- **Exposure and ageing**: "how much does Acme owe?", "Globex aging as of end of last month"',
        '- **Credit status / can we ship**: "is Initech on hold?", "can we ship a new order to Globex today?" (say the '
        "amount)",
        '- **Score and risk class**: "score Wayne", "why is Soylent a D?"',
        '- **Credit limits**: "recommend a limit for Stark", "propose a new limit for Hooli" (a proposal for approval)',
        '- **Worklist**: "what should I work on next?", "top ten for region EMEA", "team worklist over ten thousand"',
        '- **Dunning**: "draft a reminder for Globex", then "send it" (a proposal)',
        '- **Disputes**: "summarize Initech\'s disputes", "dispute #…"',
        '- **Portfolio**: "aging by region", "DSO at the end of the second quarter", "CEI last month", '
        '"top exposures", "trend chart"',
        '- **Actions (proposals a person approves)**: "Acme promised to pay (amount) on Friday", "hold order SO-…", '
        '"assign Vandelay to cleo", "note for Acme: …"',
        '- **Policy**: "who approves a limit increase?", "when do we put an account on hold?"',
        'Follow-ups work: "and their disputes?", "what about Globex?", "score them".',
    ]
)
# The help text carries no figures of its own: the grounding check would (rightly) flag them.

APPROVE = (
    "I can't approve or reject proposals — no assistant can. A person with the required role decides: the "
    "**Approve** / **Reject** buttons on the proposal card (Slack or web chat), the API, or "
    "`creditdesk proposals approve <id> --as <user>` (or `reject`). The server re-checks authority, four-eyes and "
    "staleness when they do. Nothing was changed."
)


_RAW_MONEY = re.compile(r"\b([A-Z]{3}) (-?\d+(?:\.\d+)?)\b")


def _money_in_text(text: str) -> str:
    """Tool sentences carry raw amounts ("GBP 22379.29"): written with thousands separators like every figure."""
    return _RAW_MONEY.sub(lambda m: money(m.group(2), m.group(1)), text)


def paragraphs(blocks: list[str]) -> str:
    """Blocks (sentences, lists, tables) separated by one blank line, so every Markdown renderer keeps them apart."""
    text = "\n\n".join(block.strip("\n") for block in blocks if block and block.strip())
    return re.sub(r"\n{3,}", "\n\n", text)


def definitions_line(items: list[str]) -> str:
    items = [item for item in items if item]
    return "_" + " ".join(items) + "_" if items else ""


def customer_label(customer: J) -> str:
    return f"**{customer['name']}** ({customer['external_id']})"


# --- exposure and status --------------------------------------------------------------------------------------------


def status_line(result: J) -> str:
    status = result["credit_status"]
    return f"Credit status: **{status['status']}** — rule `{status['rule']}`: {status['explanation']}."


def exposure(result: J, *, ageing: bool, sales_view: bool = False, group_members: bool = False) -> str:
    customer = result["customer"]
    if sales_view or result.get("view") == "sales":  # the tool gave the sales role its status view only
        return "\n".join(
            [
                f"{customer_label(customer)} as of {result['as_of']}:",
                status_line(result),
                "Balances and ageing are for the credit team; for a specific order ask whether it can ship, with its "
                "amount.",
            ]
        )
    f = result["figures"]
    ccy = f["currency"]
    lines = [f"{customer_label(customer)} — exposure as of {result['as_of']} ({ccy}):"]
    facts = [
        f"Open receivables {money(f['open_receivables'], ccy)}: not yet due {money(f['not_yet_due'], ccy)}, "
        f"overdue {money(f['overdue'], ccy)}",
    ]
    if f.get("open_orders") is not None:
        facts.append(f"Open orders {money(f['open_orders'], ccy)} ({count(f['open_orders_count'])} order(s))")
    limit_text = (
        f" against a credit limit of {money(f['credit_limit'], ccy)} — utilisation {pct(f['utilisation_pct'])}, "
        f"available {money(f['available_credit'], ccy)}"
        if f.get("credit_limit") is not None
        else " (no credit limit set)"
    )
    facts.append(f"Total exposure **{money(f['total_exposure'], ccy)}**{limit_text}")
    if f["disputed_items"]:
        facts.append(f"Disputed {money(f['disputed_amount'], ccy)} ({count(f['disputed_items'])} item(s))")
    if f.get("oldest_undisputed_days_past_due") is not None:
        facts.append(f"Oldest undisputed overdue item: {days(f['oldest_undisputed_days_past_due'])} past due")
    behaviour = result.get("behaviour") or {}
    if behaviour.get("dso_days") is not None:
        facts.append(f"DSO {days(behaviour['dso_days'])}")
    payment = result.get("last_payment")
    if payment:
        facts.append(f"Last payment {money(payment['amount'], payment['currency'])} on {payment['received_date']}")
    elif "last_payment" in result:
        facts.append("No payment received yet")
    promises = result.get("promises") or {}
    if promises.get("open_count"):
        facts.append(
            f"Open promises: {count(promises['open_count'])} for {money(promises['open_amount'], ccy)}, next on "
            f"{promises['next_promised_date']}"
        )
    reporting = result.get("reporting") or {}
    if reporting.get("currency") and reporting["currency"] != ccy:
        facts.append(
            f"In {reporting['currency']}: total exposure {money(reporting['total_exposure'], reporting['currency'])}"
        )
    lines.append(bullets(facts))
    lines.append(status_line(result))
    if ageing:
        rows = [[b["label"], money(b["amount"], ccy), count(b["items"])] for b in f["ageing"]]
        lines.append(table(["bucket (days past due)", "amount", "items"], rows))
    group = result.get("group")
    if group:
        lines.append(
            f"Group {group['parent_name']}: total exposure "
            f"{money(group['total_exposure'], group['reporting_currency'])} against limits of "
            f"{money(group['total_credit_limit'], group['reporting_currency'])} "
            f"({pct(group['utilisation_pct'])})."
        )
        if group_members and group.get("members"):
            lines.append(
                bullets(
                    [
                        f"{m['name']} ({m['role']}): total exposure {money(m['total_exposure'], m['currency'])}"
                        + (f", limit {money(m['credit_limit'], m['currency'])}" if m.get("credit_limit") else "")
                        + f", status {m['status']}"
                        for m in group["members"]
                    ]
                )
            )
    lines.append(definitions_line(result["definitions"][:3]))
    return paragraphs(lines)


def status(result: J) -> str:
    f = result["figures"]
    ccy = f["currency"]
    limit = (
        f" Exposure {money(f['total_exposure'], ccy)} against a limit of {money(f['credit_limit'], ccy)} "
        f"(utilisation {pct(f['utilisation_pct'])})."
        if f.get("credit_limit") is not None
        else ""
    )
    return "\n".join(
        [
            f"{customer_label(result['customer'])} as of {result['as_of']}:",
            status_line(result) + limit,
            definitions_line([d for d in result["definitions"] if d.startswith("Credit status rules")]),
        ]
    )


def release(result: J) -> str:
    if result.get("view") == "sales":
        return sales_release(result)
    ccy = result["currency"]
    no_order = result.get("order_number") is None and result.get("order_amount") is None
    what = (
        f"order {result['order_number']}"
        + (f" ({money(result['order_amount'], ccy)} open)" if result.get("order_amount") is not None else "")
        if result.get("order_number")
        else "a new order"
        if no_order
        else "an order of " + money(result["order_amount"], ccy)
    )
    verdict = "can ship" if result["decision"] == "release" else "should not ship"
    lines = [
        f"**{result['decision'].upper()}** — {what} for {customer_label(result['customer'])} {verdict} today"
        + (", as the account stands." if no_order else "."),
        f"Deciding rule `{result['deciding_rule']}`: {result['explanation']}.",
    ]
    limit = (
        f"; limit {money(result['credit_limit'], ccy)}, utilisation {pct(result['utilisation_after_pct'])}, "
        f"available after {money(result['available_credit_after'], ccy)}"
        if result.get("credit_limit") is not None
        else "; no credit limit set"
    )
    lines.append(
        f"Exposure {money(result['exposure_before'], ccy)}{limit.replace(' after', '')}."
        if no_order
        else f"Exposure {money(result['exposure_before'], ccy)} now, {money(result['exposure_after'], ccy)} with the "
        f"order{limit}. Status before: {result['status_before']}."
    )
    paths = []
    for path in result.get("ways_to_release", []):
        if path["kind"] == "collect_invoices":
            numbers = ", ".join(i["number"] for i in path["invoices"])
            paths.append(f"Collect {money(path['amount_to_collect'], ccy)}: {numbers}")
        elif path["kind"] == "raise_limit":
            paths.append(
                f"Raise the credit limit to {money(path['new_credit_limit'], ccy)} "
                f"(+{money(path['limit_increase'], ccy)}), approved by {role(path['approver_role'])}"
            )
        else:
            paths.append(path["description"])
    if paths:
        lines.append("Ways to release:\n" + bullets(paths))
    lines.append(definitions_line(result["definitions"][4:5]))
    if no_order:
        lines.append(NO_ORDER_NAMED)
    return paragraphs(lines)


def sales_release(result: J) -> str:
    """The sales role's release answer: the decision and its reason in words (the tool gave no account figures)."""
    ccy = result["currency"]
    no_order = result.get("order_number") is None and result.get("order_amount") is None
    what = f"order {result['order_number']}" if result.get("order_number") else "an order"
    what = "a new order" if no_order else f"{what} of {money(result['order_amount'], ccy)}"
    verdict = {"yes": "can ship", "no": "should not ship", "refer": "needs a credit decision before it ships"}
    return paragraphs(
        [
            f"**{result['can_ship'].upper()}** — {what} for {customer_label(result['customer'])} "
            f"{verdict[result['can_ship']]} today" + (", as the account stands." if no_order else "."),
            f"Credit status {'now' if no_order else 'with this order'}: **{result['status_with_order']}** — rule "
            f"`{result['deciding_rule']}`: {result['explanation']}.",
            result["next_step"],
            *([NO_ORDER_NAMED] if no_order else []),
            f"_{result['note']}_",
        ]
    )


NO_ORDER_NAMED = "No order was named: a large order can still be held. Tell me its amount or number to check it."


# --- score and limits -----------------------------------------------------------------------------------------------


def score(result: J, *, explain: bool) -> str:
    lines = [
        f"{customer_label(result['customer'])}: score **{result['score']}**, risk class **{result['risk_class']}** "
        f"({result['risk_class_label']}) as of {result['as_of']}; credit review every {result['review_months']} "
        f"month(s).",
    ]
    reasons = [
        f"`{r['code']}` costs {plain(r['points_lost'])} points: {r['reason']}" for r in result.get("reason_codes", [])
    ]
    if reasons:
        lines.append("Main reasons:\n" + bullets(reasons))
    if explain:
        rows = [
            [f["label"], plain(f["value"]) + (f" {f['unit']}" if f["value"] is not None else ""), plain(f["points"]),
             plain(f["weight"]), plain(f["contribution"])]
            for f in result["factors"]
        ]  # fmt: skip
        lines.append(table(["factor", "value", "points", "weight", "contribution"], rows))
    late = result.get("late_payment") or {}
    if late.get("available"):
        lines.append(
            f"Payment model: probability {plain(late['probability'])} that the next invoice is paid more than "
            f"{plain(late['late_threshold_days'])} days late."
        )
    compared = result.get("compared")
    if compared:
        lines.append(score_comparison(result, compared))
    else:
        trend = result.get("trend") or {}
        if trend.get("explanation"):
            lines.append(f"Trend: {trend['direction'].replace('_', ' ')} — {trend['explanation']}.")
    lines.append(definitions_line(result["definitions"][:1]))
    return paragraphs(lines)


def score_comparison(result: J, compared: J) -> str:
    change = compared["change_points"]
    moved = "unchanged" if change == 0 else f"{'up' if change > 0 else 'down'} {abs(change)} point(s)"
    klass = (
        f"risk class {compared['risk_class']} → {result['risk_class']}"
        if compared["class_changed"]
        else f"risk class {result['risk_class']} both times"
    )
    line = f"Compared with {compared['as_of']}: score {compared['score']} → {result['score']} ({moved}); {klass}."
    moves = [
        f"{m['label']}: {plain(m['contribution_then'])} → {plain(m['contribution_now'])} points"
        for m in compared["moves"][:3]
    ]
    return line + ("\nWhat moved it:\n" + bullets(moves) if moves else "")


def limit_recommendation(result: J, *, what_if: list[int] | None = None) -> str:
    ccy = result["currency"]
    name = customer_label(result["customer"])
    if result.get("recommended_limit") is None:
        return "\n".join(
            [
                f"No limit recommendation for {name}: {result['explanation']}",
                definitions_line(result["definitions"][3:4]),
            ]
        )
    change = ""
    if result.get("change_amount") is not None:
        change = f"; change {money(result['change_amount'], ccy)}"  # signed, as the tool gives it
        if result.get("change_pct") is not None:
            change += f" ({pct(result['change_pct'])})"
        if result["direction"] in ("increase", "decrease"):  # never "decrease of -50,000"
            change += f", {'an' if result['direction'] == 'increase' else 'a'} {result['direction']}"
    current = money(result["current_limit"], ccy) if result.get("current_limit") is not None else "none"
    rows = [
        [m["label"], money(m["value"], ccy) if m["value"] is not None else "n/a", m["kind"],
         "yes" if m["used"] else "no", "binding" if m["bound"] else ""]
        for m in result["methods"]
    ]  # fmt: skip
    return "\n".join(
        [
            f"Recommended credit limit for {name}: **{money(result['recommended_limit'], ccy)}** (current {current}"
            f"{change}); risk class {result['risk_class']}, score {result['score']}.",
            table(["method", "value", "kind", "used", ""], rows),
            *([terms_what_if(result, what_if, ccy)] if what_if else []),
            f"Approval: {result['authority_explanation']}.",
            "A recommendation changes nothing. Say **propose it** to create a proposal for this limit.",
            definitions_line(result["definitions"][3:4]),
        ]
    )


def terms_what_if(result: J, asked: list[int], ccy: str) -> str:
    """The recommendation under the payment terms asked about, beside the customer's own terms."""
    rows = [
        [
            f"{row['terms_days']} days" + (" (their terms)" if row["customer_terms"] else ""),
            money(row["needs_based"], ccy) if row.get("needs_based") is not None else "n/a",
            money(row["recommended_limit"], ccy) if row.get("recommended_limit") is not None else "n/a",
            row.get("binding") or "",
            row.get("approver_role") or "",
        ]
        for row in result.get("what_if", [])
        if row["terms_days"] in asked or row["customer_terms"]
    ]
    return "What if the terms changed:\n" + table(["terms", "needs-based", "recommended", "binding", "approver"], rows)


# --- proposals ------------------------------------------------------------------------------------------------------


def proposal(result: J, *, currency: str | None = None) -> str:
    changes = []
    for change in result.get("changes", [])[:6]:
        before, after = change.get("before"), change.get("after")
        if currency and change.get("field") in ("amount", "credit_limit", "new_limit"):
            before = money(before, currency) if before is not None else before
            after = money(after, currency) if after is not None else after
        before_text = "(none)" if before is None else plain(before)
        changes.append(f"{change.get('entity')}.{change.get('field')}: {before_text} → {plain(after)}")
    state = {
        "pending": "created — **pending approval**",
        "approved": "created and **approved automatically by policy**",
    }.get(result["status"], f"created — status **{result['status']}**")
    lines = [f"Proposal **#{result['id']}** {state}: {result['summary']}"]
    if changes:
        lines.append(bullets(changes))
    if result["status"] == "pending":
        lines.append(f"Next: it {result['next_step']}.")
        lines.append("Nothing has changed yet; I cannot approve it for you.")
    else:
        lines.append(f"Status: {result['next_step']}.")
    return paragraphs(lines)


# --- worklist -------------------------------------------------------------------------------------------------------


def worklist(result: J) -> str:
    scope = result["scope"]
    who = {
        "collector": f"the book of {', '.join(scope['collectors'])}",
        "team": f"the team {', '.join(scope['collectors'])}",
        "everyone": "all collectors",
    }[scope["kind"]]
    filters = result["filters"]
    parts = []
    if filters.get("region"):
        parts.append(f"region {filters['region']}")
    if filters.get("min_amount") is not None:
        parts.append(f"at least {money(filters['min_amount'], result['reporting_currency'])} undisputed overdue")
    if filters.get("risk_classes"):
        parts.append(f"risk class {', '.join(filters['risk_classes'])}")
    filter_text = f" ({'; '.join(parts)})" if parts else ""
    ccy = result["reporting_currency"]
    lines = [
        f"Worklist for {who}{filter_text} as of {result['as_of']}: {count(result['total_ranked'])} account(s) ranked."
    ]
    if result["rows"]:
        rows = [
            [plain(row["rank"]), row["customer"]["name"], money(row["amount_at_risk"]["total_reporting"], ccy),
             days(row["oldest_days_past_due"]) if row["oldest_days_past_due"] is not None else "not yet due",
             row["customer"]["credit_status"], f"**{row['next_best_action']['action']}**: "
             f"{row['next_best_action']['reason']}"]
            for row in result["rows"]
        ]  # fmt: skip
        lines.append(table(["rank", "customer", "at risk", "oldest", "status", "next action"], rows))
    page = result["page"]
    if page.get("has_next"):
        lines.append(f"Page {page['page']} of {page['total_pages']}; say **next page** for more.")
    side = []
    if result["held_back"]["total"]:
        side.append(f"{count(result['held_back']['total'])} held back (open promise not yet due)")
    if result["routed_to_disputes"]["total"]:
        side.append(f"{count(result['routed_to_disputes']['total'])} routed to disputes")
    if side:
        lines.append("Not ranked: " + "; ".join(side) + ".")
    lines.extend(f"Note: {w}" for w in result.get("warnings", []))
    lines.append(definitions_line(result["definitions"][:1]))
    return paragraphs(lines)


# --- dunning --------------------------------------------------------------------------------------------------------


def dunning(result: J) -> str:
    name = customer_label(result["customer"])
    if not result["should_send"]:
        return f"No reminder proposed for {name}: {result['reason']}"
    t = result["totals"]
    ccy = t["currency"]
    lines = [
        f"Draft **{result['level_name']}** (level {result['level']}, {result['tone']} tone, by {result['channel']}) "
        f"for {name}: {result['reason']}",
        f"To: {result['to_name']}" + (f" <{result['to_email']}>" if result.get("to_email") else ""),
        f"Subject: {result['subject']}",
        f"Total due {money(t['total_due'], ccy)} (principal {money(t['principal'], ccy)}, interest "
        f"{money(t['interest'], ccy)}, fees {money(t['fees'], ccy)}, credits {money(t['credits'], ccy)}).",
        "```\n" + (result["body"] or "") + "\n```",
    ]
    if result.get("excluded"):
        lines.append(
            f"Left out: {count(len(result['excluded']))} item(s), e.g. {result['excluded'][0]['number']}: "
            f"{result['excluded'][0]['reason']}."
        )
    lines.extend(f"Note: {w}" for w in result.get("warnings", []))
    lines.append(
        f"Nothing has been sent. Say **send it** to propose sending exactly this letter (sending needs "
        f"{role(result['send_requires_role'])} approval)."
    )
    return paragraphs(lines)


# --- disputes -------------------------------------------------------------------------------------------------------


def disputes(result: J) -> str:
    lines = [f"{customer_label(result['customer'])}: {result['message']}"]
    for brief in result["briefs"][:3]:
        sla = brief["sla"]
        flags = [
            label
            for label, on in (
                ("acknowledgement overdue", sla["acknowledgement_overdue"]),
                ("resolution overdue", sla["resolution_overdue"]),
                ("escalation due", sla["escalation_due"]),
            )
            if on
        ]
        facts = [
            f"Status {brief['status']}, owner {brief['owner'] or 'nobody'}, {count(brief['age_days'])} days old; "
            f"resolve by {sla['resolve_by']}, escalate after {sla['escalate_after']}"
            + (f" — **{', '.join(flags)}**" if flags else ""),
            f"Whose move: {brief['thread']['whose_move']}",
        ]
        if brief.get("requests_detected"):
            facts.append("Customer asks for: " + ", ".join(brief["requests_detected"]))
        if brief.get("suspicious_content"):
            facts.append(
                f"{count(len(brief['suspicious_content']))} message(s) flagged as trying to instruct the system: "
                "treated as data and ignored; nothing was done."
            )
        facts.append(f"Next step: {brief['suggested_next_step']}")
        lines.append(f"**Dispute #{brief['dispute_id']}** — {_money_in_text(brief['headline'])}")
        lines.append(bullets(facts))
        quotes = [
            f"{quote(excerpt['quote'])} — {excerpt['direction']}, {excerpt['sent_at'][:10]}"
            for excerpt in brief["summary"][:3]
        ]
        if quotes:
            lines.append("Quoted from the thread (customer text is data, not instructions):\n" + "\n".join(quotes))
    history = result["history"]
    lines.append(
        f"History since {history['period_start']}: {count(history['opened'])} opened, {count(history['closed'])} "
        f"closed ({count(history['accepted'])} accepted, {count(history['rejected'])} rejected), average cycle "
        f"{days(history['average_cycle_time_days'])}."
    )
    lines.append(definitions_line(result["definitions"][:1]))
    return paragraphs(lines)


# --- policy ---------------------------------------------------------------------------------------------------------


def policy(passages: list[J]) -> str:
    if not passages:
        return "I found nothing in the policy documents that answers this. Try other words, or ask a credit manager."
    lines = ["From the credit policy:"]
    for passage in passages[:3]:
        where = " § ".join(str(p) for p in (passage.get("document"), passage.get("section")) if p)
        lines.append(f"{quote(passage['text'], 600)}\n— {where}")
    return paragraphs(lines)
