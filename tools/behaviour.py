"""A customer's payment behaviour over its paid invoices: how long it takes to pay, how late, how often late, the
trend by month or quarter, and the same figures for the book to compare with.

The window is the `months` calendar months up to the as-of date (from the day after as_of − months to as_of, both
included); an invoice belongs to it by its paid date. Definitions of each figure travel with the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.dates import add_months, day_number, month_end, month_start, quarter_end, quarter_of, quarter_start
from core.errors import CreditDeskError, ErrorCode
from core.money import quantize
from db.queries.behaviour import LATE_AFTER_DAYS, PaidInvoiceRow, book_paid_totals, customer_paid_invoices
from tools.context import ToolContext
from tools.customers import resolve_customer_reference
from tools.fx import FxConverter, FxRateUsed
from tools.registry import CREDIT_ROLES, tool
from tools.schemas import AsOfDate, CustomerReference, CustomerSummary

DAYS = Decimal("0.1")
Granularity = Literal["month", "quarter"]


class PaymentBehaviourInput(BaseModel):
    customer: CustomerReference
    as_of: AsOfDate = None
    months: int = Field(default=12, ge=1, le=60, description="Last N months")
    period_start: date | None = None  # instead of months: the window's first day ("YTD": 1 January)
    trend: Granularity = Field(default="month", description="Trend by month or quarter.")


class BehaviourFigures(BaseModel):
    currency: str = Field(description="Currency of paid_amount (and of the amount weights)")
    paid_invoices: int
    paid_amount: Decimal
    average_days_to_pay: Decimal | None = Field(description="Mean of (paid date − issue date)")
    weighted_average_days_to_pay: Decimal | None = Field(description="Amount-weighted mean of (paid − issue)")
    average_days_late: Decimal | None = Field(description="Mean of (paid date − due date); early counts negative")
    weighted_average_days_late: Decimal | None = Field(description="Amount-weighted mean of (paid − due)")
    paid_late_invoices: int = Field(description="Paid after their due date")
    share_paid_late_pct: Decimal | None = Field(description="Paid late / paid invoices × 100 (by count)")
    share_paid_late_amount_pct: Decimal | None = Field(description="Amount paid late / amount paid × 100")


class TrendPoint(BaseModel):
    period: str = Field(description="2026-03 (month) or 2026-Q1 (quarter)")
    start: date
    end: date
    partial: bool = Field(description="Only part of the period lies in the window")
    figures: BehaviourFigures


class BookComparison(BaseModel):
    basis: Literal["whole book", "your book"]
    customers: int = Field(description="Customers with an invoice paid in the window (this one included)")
    figures: BehaviourFigures
    fx_rates: list[FxRateUsed]
    weighted_days_late_difference: Decimal | None = Field(
        description="This customer's weighted average days late − the book's (positive: pays later)"
    )
    weighted_days_to_pay_difference: Decimal | None = Field(
        description="This customer's weighted average days to pay − the book's"
    )
    summary: str


class PaidInvoiceLine(BaseModel):
    number: str
    issue_date: date
    due_date: date
    paid_date: date
    amount: Decimal
    currency: str
    days_to_pay: int
    days_late: int


MAX_INVOICE_LINES = 50


class PaymentBehaviour(BaseModel):
    customer: CustomerSummary
    as_of: date
    window_start: date
    window_end: date
    figures: BehaviourFigures
    trend_by: Granularity
    trend: list[TrendPoint]
    comparison: BookComparison
    invoices: list[PaidInvoiceLine] = Field(description="The paid invoices behind the figures, newest paid first")
    fx_rates: list[FxRateUsed]
    definitions: list[str]


@dataclass
class _Sums:
    invoices: int = 0
    amount: Decimal = Decimal(0)
    amount_x_late: Decimal = Decimal(0)
    late_days: int = 0
    amount_x_pay: Decimal = Decimal(0)
    pay_days: int = 0
    late_invoices: int = 0
    late_amount: Decimal = Decimal(0)

    def add_invoice(self, amount: Decimal, days_to_pay: int, days_late: int) -> None:
        self.invoices += 1
        self.amount += amount
        self.amount_x_late += amount * days_late
        self.late_days += days_late
        self.amount_x_pay += amount * days_to_pay
        self.pay_days += days_to_pay
        if days_late > LATE_AFTER_DAYS:
            self.late_invoices += 1
            self.late_amount += amount

    def figures(self, currency: str) -> BehaviourFigures:
        n, amount = self.invoices, self.amount
        return BehaviourFigures(
            currency=currency,
            paid_invoices=n,
            paid_amount=quantize(amount),
            average_days_to_pay=_ratio(Decimal(self.pay_days), Decimal(n)),
            weighted_average_days_to_pay=_ratio(self.amount_x_pay, amount),
            average_days_late=_ratio(Decimal(self.late_days), Decimal(n)),
            weighted_average_days_late=_ratio(self.amount_x_late, amount),
            paid_late_invoices=self.late_invoices,
            share_paid_late_pct=_ratio(Decimal(self.late_invoices) * 100, Decimal(n)),
            share_paid_late_amount_pct=_ratio(self.late_amount * 100, amount),
        )


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(DAYS) if whole else None


def _difference(mine: Decimal | None, book: Decimal | None) -> Decimal | None:
    return mine - book if mine is not None and book is not None else None


def periods(first: date, last: date, granularity: Granularity) -> list[tuple[str, date, date]]:
    """Calendar months or quarters from the one holding `first` to the one holding `last`: (label, start, end)."""
    out = []
    if granularity == "month":
        start = month_start(first)
        while start <= last:
            out.append((f"{start:%Y-%m}", start, month_end(start)))
            start = add_months(start, 1)
    else:
        year, quarter = first.year, quarter_of(first)
        while quarter_start(year, quarter) <= last:
            out.append((f"{year}-Q{quarter}", quarter_start(year, quarter), quarter_end(year, quarter)))
            year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return out


def _sums(rows: Iterable[tuple[PaidInvoiceRow, Decimal]]) -> _Sums:
    sums = _Sums()
    for row, amount in rows:
        sums.add_invoice(amount, row.days_to_pay, row.days_late)
    return sums


def _book(session: Session, ctx: ToolContext, first: date, last: date, mine: BehaviourFigures) -> BookComparison:
    fx = FxConverter(session, ctx.reporting_currency, last)
    totals, customers = book_paid_totals(
        session, day_number(first), day_number(last), collector_id=ctx.book_collector_id
    )
    sums = _Sums()
    for t in totals:
        sums.invoices += t.invoices
        sums.amount += fx.convert(t.amount, t.currency)
        sums.amount_x_late += fx.convert(t.amount_x_days_late, t.currency)
        sums.late_days += t.days_late
        sums.amount_x_pay += fx.convert(t.amount_x_days_to_pay, t.currency)
        sums.pay_days += t.days_to_pay
        sums.late_invoices += t.late_invoices
        sums.late_amount += fx.convert(t.late_amount, t.currency)
    book = sums.figures(ctx.reporting_currency)
    late_gap = _difference(mine.weighted_average_days_late, book.weighted_average_days_late)
    basis: Literal["whole book", "your book"] = "your book" if ctx.book_collector_id is not None else "whole book"
    book_name = "your book" if basis == "your book" else "the whole book"
    if late_gap is None:
        summary = "no comparison: no paid invoices in the window" + (" for this customer" if book.paid_invoices else "")
    elif late_gap == 0:
        summary = f"pays as late as {book_name} on average ({mine.weighted_average_days_late} days, amount-weighted)"
    else:
        direction = "later" if late_gap > 0 else "earlier"
        summary = (
            f"pays {abs(late_gap)} days {direction} than {book_name} on average (amount-weighted days late "
            f"{mine.weighted_average_days_late} vs {book.weighted_average_days_late})"
        )
    return BookComparison(
        basis=basis,
        customers=customers,
        figures=book,
        fx_rates=fx.rates_used(),
        weighted_days_late_difference=late_gap,
        weighted_days_to_pay_difference=_difference(
            mine.weighted_average_days_to_pay, book.weighted_average_days_to_pay
        ),
        summary=summary,
    )


@tool(
    name="get_payment_behaviour",
    kind="read",
    input_model=PaymentBehaviourInput,
    output_model=PaymentBehaviour,
    roles=CREDIT_ROLES,
)
def get_payment_behaviour(session: Session, ctx: ToolContext, args: PaymentBehaviourInput) -> PaymentBehaviour:
    """A customer's payment behaviour over invoices paid in a window (default 12 months): average days to pay and
    days late (simple and amount-weighted), share paid late, a monthly or quarterly trend, and the book's average."""
    customer = resolve_customer_reference(session, ctx, args.customer)
    as_of = ctx.resolve_as_of(args.as_of)
    first = add_months(as_of, -args.months) + timedelta(days=1)
    if args.period_start is not None:
        if args.period_start > as_of:
            raise CreditDeskError(
                ErrorCode.INVALID_INPUT, f"period_start {args.period_start} is after the as-of date {as_of}"
            )
        if args.period_start < add_months(as_of, -60):
            raise CreditDeskError(ErrorCode.INVALID_INPUT, "the window can be at most 60 months long")
        first = args.period_start
    rows = customer_paid_invoices(session, customer.id, day_number(first), day_number(as_of))
    fx = FxConverter(session, ctx.reporting_currency, as_of)
    currency = customer.currency
    weighted = [(row, fx.convert_between(row.amount, row.currency, currency)) for row in rows]
    figures = _sums(weighted).figures(currency)
    trend = []
    for label, start, end in periods(first, as_of, args.trend):
        inside = [(row, amount) for row, amount in weighted if start <= row.paid_date <= end]
        trend.append(
            TrendPoint(
                period=label,
                start=max(start, first),
                end=min(end, as_of),
                partial=start < first or end > as_of,
                figures=_sums(inside).figures(currency),
            )
        )
    newest = sorted(rows, key=lambda row: row.paid_date, reverse=True)[:MAX_INVOICE_LINES]
    return PaymentBehaviour(
        customer=CustomerSummary.of(customer),
        as_of=as_of,
        window_start=first,
        window_end=as_of,
        figures=figures,
        trend_by=args.trend,
        trend=trend,
        comparison=_book(session, ctx, first, as_of, figures),
        invoices=[PaidInvoiceLine(**vars(row)) for row in newest],
        fx_rates=fx.rates_used(),
        definitions=_definitions(first, as_of, currency, ctx),
    )


def _definitions(first: date, last: date, currency: str, ctx: ToolContext) -> list[str]:
    book = "the caller's book (their customers)" if ctx.book_collector_id is not None else "the whole book"
    return [
        f"Paid invoices: invoices (not credit notes) with status paid whose paid date falls from {first} to {last} "
        "inclusive. Paid date = the day the allocation that brought the open amount to zero was applied.",
        "Days to pay = paid date − issue date. Days late = paid date − due date (negative when paid early; early "
        "payments pull the averages down).",
        "Average = simple mean over the paid invoices; weighted average = mean weighted by invoice amount "
        f"(amounts in {currency}; other currencies converted at the latest rate on or before the as-of date).",
        "Share paid late = invoices paid after their due date (days late > 0) / paid invoices × 100; by amount = "
        "amount of those / amount paid × 100.",
        "Trend: the same figures for the paid invoices of each calendar month or quarter of the window (partial at "
        "its ends).",
        f"Book comparison: the same figures over every invoice paid in the window across {book}, weighted in "
        f"{ctx.reporting_currency} (latest rate on or before the as-of date); the customer itself is included.",
    ]


TOOLS = [get_payment_behaviour]
