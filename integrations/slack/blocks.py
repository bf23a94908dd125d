"""Block Kit rendering: pure functions from assistant replies to Slack blocks (no I/O, unit-testable).

- Answer text (Markdown from the assistant) becomes mrkdwn sections; pipe tables become aligned monospace tables.
- Dunning drafts and other fenced text stay code blocks, so they can be copied as they are.
- A pending proposal gets Approve / Reject buttons whose value is only the proposal id.
- A clarifying question gets one button per reading it offers, whose value is only the reading's number.
- Errors are one short friendly line, never a stack trace.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.types import AssistantReply, Choice, ProposalRef

APPROVE_ACTION = "proposal_approve"
REJECT_ACTION = "proposal_reject"
PROPOSAL_BLOCK_PREFIX = "proposal:"
# One action id per button (Slack wants them unique within a block); the listener matches them all.
CHOICE_ACTION_PREFIX = "choice_pick_"
CHOICE_ACTION_PATTERN = re.compile(r"^choice_pick_\d{1,2}$")
CHOICE_BLOCK_ID = "choices"
BUTTON_TEXT_LIMIT = 75  # Slack's limit for a button's plain_text
MAX_BUTTONS = 25  # Slack's limit for the elements of one actions block
SECTION_LIMIT = 2900  # Slack's section text limit is 3000 characters
MAX_BLOCKS = 48  # Slack allows 50 per message
FALLBACK_LIMIT = 300

Block = dict[str, Any]

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


def escape(text: str) -> str:
    """Slack's three control characters; this also defuses <!channel> and <@U…> in user-supplied text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(text: str) -> str:
    text = escape(text)
    text = _BOLD.sub(r"*\1*", text)
    text = _LINK.sub(r"<\2|\1>", text)
    heading = _HEADING.match(text)
    return f"*{heading.group(1)}*" if heading else text


def _is_table_line(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 2


def _table(lines: list[str]) -> str:
    rows = []
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", cell) for cell in cells if cell):
            continue  # the |---|---| separator
        rows.append([escape(_BOLD.sub(r"\1", cell)).replace("`", "'") for cell in cells])
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    sizes = [min(40, max(len(row[i]) for row in rows)) for i in range(width)]
    rendered = []
    for index, row in enumerate(rows):
        rendered.append("  ".join(cell[:40].ljust(sizes[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            rendered.append("  ".join("-" * size for size in sizes))
    return "```\n" + "\n".join(rendered) + "\n```"


def markdown_to_mrkdwn(text: str) -> str:
    """The assistant's Markdown as Slack mrkdwn: bold, links, headings, tables and code fences."""
    out: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.strip().startswith("```"):
            block = [line.strip()[:3]]
            index += 1
            while index < len(lines) and not lines[index].strip().startswith("```"):
                block.append(escape(lines[index]))
                index += 1
            block.append("```")
            out.append("\n".join(block))
            index += 1
            continue
        if _is_table_line(line):
            table = []
            while index < len(lines) and _is_table_line(lines[index]):
                table.append(lines[index])
                index += 1
            out.append(_table(table))
            continue
        out.append(_inline(line))
        index += 1
    return "\n".join(out).strip()


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Cut on line boundaries; a code block cut in two is closed and reopened so both halves render."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    in_code = False
    for line in text.splitlines():
        for piece in [line[i : i + limit - 10] for i in range(0, max(len(line), 1), limit - 10)]:
            if size + len(piece) + 1 > limit - 8 and current:
                if in_code:
                    current.append("```")
                chunks.append("\n".join(current))
                current, size = (["```"], 4) if in_code else ([], 0)
            current.append(piece)
            size += len(piece) + 1
            if piece.strip().startswith("```"):
                in_code = not in_code
    if current and "".join(current).strip():
        chunks.append("\n".join(current))
    return chunks


def fallback_text(text: str) -> str:
    """Notification text: plain, short."""
    plain = re.sub(r"[*_`|#>]+", "", text).strip()
    return (plain[: FALLBACK_LIMIT - 1] + "…") if len(plain) > FALLBACK_LIMIT else plain or "creditdesk"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def error_blocks(message: str) -> list[Block]:
    return [section(f":warning: {escape(message)}")]


def proposal_blocks(ref: ProposalRef) -> list[Block]:
    role = (ref.required_role or "").replace("_", " ")
    head = f"*Proposal #{ref.id}* · {escape(ref.action.replace('_', ' '))} · _{escape(ref.status)}_"
    body = escape(ref.summary)
    blocks: list[Block] = [section(f"{head}\n{body}" + (f"\nNeeds a {role} or above." if role else ""))]
    if ref.status == "pending":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{PROPOSAL_BLOCK_PREFIX}{ref.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": APPROVE_ACTION,
                        "text": {"type": "plain_text", "text": "Approve"},
                        "style": "primary",
                        "value": str(ref.id),
                    },
                    {
                        "type": "button",
                        "action_id": REJECT_ACTION,
                        "text": {"type": "plain_text", "text": "Reject"},
                        "style": "danger",
                        "value": str(ref.id),
                    },
                ],
            }
        )
    return blocks


def choice_button_text(choice: Choice) -> str:
    """What a reading's button says: its number and label, cut to Slack's limit."""
    text = f"{choice.number}. {' '.join(choice.label.split())}"
    return text if len(text) <= BUTTON_TEXT_LIMIT else text[: BUTTON_TEXT_LIMIT - 1].rstrip() + "…"


def choice_blocks(choices: list[Choice]) -> list[Block]:
    """One button per reading a clarifying question offers; the value is only the number the user would type."""
    if not choices:
        return []
    return [
        {
            "type": "actions",
            "block_id": CHOICE_BLOCK_ID,
            "elements": [
                {
                    "type": "button",
                    "action_id": f"{CHOICE_ACTION_PREFIX}{choice.number}",
                    "text": {"type": "plain_text", "text": choice_button_text(choice), "emoji": False},
                    "value": str(choice.number),
                }
                for choice in choices[:MAX_BUTTONS]
            ],
        }
    ]


def choice_line(*, chosen_by: str, button_text: str) -> str:
    return f":point_right: {escape(chosen_by)} chose *{escape(button_text)}*"


def after_choice(blocks: list[Block], line: str) -> list[Block]:
    """The clarifying question with its buttons replaced by who chose which reading (so nobody answers twice)."""
    updated = [context(line) if b.get("block_id") == CHOICE_BLOCK_ID else b for b in blocks]
    return updated if any(b.get("block_id") == CHOICE_BLOCK_ID for b in blocks) else [*blocks, context(line)]


def reply_blocks(reply: AssistantReply) -> list[Block]:
    blocks: list[Block] = []
    if reply.error and (not reply.text or reply.text == reply.error):
        return error_blocks(reply.error)
    blocks.extend(section(chunk) for chunk in split_text(markdown_to_mrkdwn(reply.text)))
    if reply.error:
        blocks.extend(error_blocks(reply.error))
    choices = choice_blocks(reply.choices)
    blocks.extend(choices)
    for ref in reply.proposals:
        blocks.extend(proposal_blocks(ref))
    if reply.citations:
        sources = "; ".join(
            f"{c.document} § {c.section}" + (f" p. {c.page}" if c.page else "") for c in reply.citations[:8]
        )
        blocks.append(context(f"Sources: {escape(sources)}"))
    if len(blocks) > MAX_BLOCKS:  # a clarifying question keeps its buttons: they are the point of it
        kept = [b for b in blocks[: MAX_BLOCKS - 1 - len(choices)] if b.get("block_id") != CHOICE_BLOCK_ID]
        blocks = [*kept, context("(answer shortened; ask for less at a time)"), *choices]
    return blocks


def recorded_decision(proposal_id: int, status: str, decided_by: str | None) -> str:
    """The proposal's decision as recorded, the same for every click that shows it (a double click's second update
    must not overwrite the first with a different line)."""
    by = f" by {decided_by}" if decided_by else ""
    return (
        f"proposal #{proposal_id} approved{by} and executed"
        if status == "approved"
        else f"proposal #{proposal_id} {status}{by}"
    )


def decision_line(*, decided_by: str, status: str, message: str) -> str:
    icon = {"approved": ":white_check_mark:", "rejected": ":no_entry_sign:"}.get(status, ":information_source:")
    return f"{icon} {escape(message)} (clicked by {escape(decided_by)})"


def after_decision(blocks: list[Block], proposal_id: int, line: str) -> list[Block]:
    """The original message with that proposal's buttons replaced by who decided and what happened."""
    updated: list[Block] = []
    replaced = False
    for block in blocks:
        if block.get("type") == "actions" and block.get("block_id") == f"{PROPOSAL_BLOCK_PREFIX}{proposal_id}":
            updated.append(context(line))
            replaced = True
        else:
            updated.append(block)
    if not replaced:
        updated.append(context(line))
    return updated


def refusal_text() -> str:
    return (
        "Sorry, I don't recognise your Slack account as a creditdesk staff user, so I can't look anything up or "
        "change anything for you. Ask a creditdesk admin to link your Slack user id to your staff user."
    )


HELP_TEXT = (
    "Ask me about credit and collections, for example: `/credit exposure of Acme`, `/credit my worklist`, "
    "`/credit score Globex`, `/credit raise Stark's limit by 50k because of seasonal orders`."
)


def home_view(*, name: str | None, worklist_markdown: str | None, note: str | None) -> dict[str, Any]:
    """The App Home tab: the user's worklist (or why there is none)."""
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": "creditdesk"}}]
    if name:
        blocks.append(context(f"Signed in as {escape(name)}"))
    if worklist_markdown:
        blocks.extend(section(chunk) for chunk in split_text(markdown_to_mrkdwn(worklist_markdown))[:20])
    if note:
        blocks.append(section(escape(note)))
    blocks.append(context(escape(HELP_TEXT)))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def worklist_markdown(worklist: dict[str, Any], limit: int = 10) -> str:
    """A `build_worklist` result as a small Markdown table: rank, customer, amount at risk, oldest, next action."""
    rows = worklist.get("rows") or []
    if not rows:
        return "*Your worklist*\nNothing to chase right now."
    currency = worklist.get("reporting_currency", "")
    lines = [
        f"*Your worklist* (as of {worklist.get('as_of', 'today')}, {worklist.get('total_ranked', len(rows))} ranked)",
        f"| # | customer | at risk ({currency}) | oldest | next |",
        "|---|---|---|---|---|",
    ]
    for row in rows[:limit]:
        customer = (row.get("customer") or {}).get("name", "?")
        at_risk = (row.get("amount_at_risk") or {}).get("total_reporting", "")
        oldest = row.get("oldest_days_past_due")
        action = (row.get("next_best_action") or {}).get("action", "")
        lines.append(f"| {row.get('rank', '')} | {customer} | {at_risk} | {oldest} days | {action} |")
    return "\n".join(lines)
