"""The one way the planner writes figures, so that every number in an answer is a plain formatting of a value in a
tool result: money as `USD 1,234.56` (core.money.format_money), percentages and days exactly as the tool gave them,
counts as integers. The grounding check can rely on these forms."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from core.money import format_money


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(value: Any, currency: str | None = None) -> str:
    """`USD 1,234.56`; `n/a` when the tool gave no figure."""
    amount = _decimal(value)
    if amount is None:
        return "n/a"
    return format_money(amount, currency)


def pct(value: Any) -> str:
    """A percentage exactly as the tool returned it: `62.0%`."""
    return "n/a" if value is None else f"{value}%"


def days(value: Any) -> str:
    return "n/a" if value is None else f"{value} days"


def count(value: Any) -> str:
    amount = _decimal(value)
    if amount is None:
        return "n/a"
    return str(int(amount)) if amount == amount.to_integral_value() else str(amount)


def plain(value: Any) -> str:
    """A number or text as the tool gave it (probabilities, scores, dates)."""
    return "n/a" if value is None else str(value)


def role(value: Any) -> str:
    return "n/a" if value is None else str(value).replace("_", " ")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A small Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows)
    return "\n" + "\n".join(lines) + "\n"  # a block of its own: Markdown needs blank lines around a table


def bullets(items: list[str]) -> str:
    return "\n" + "\n".join(f"- {item}" for item in items) + "\n"  # blank lines end the list


def quote(text: str, limit: int = 300) -> str:
    """Customer or document text shown as a quotation (data, never instructions)."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"> {flat}"
