"""The path a team hacks together first: load the tables into pandas, then compute. Used only as the baseline the
benchmark compares the tools with (same answers, measured the same way)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Engine, text

from core.dates import day_number


@dataclass
class LoadedLedger:
    invoices: pd.DataFrame
    allocations: pd.DataFrame
    customers: pd.DataFrame
    disputes: pd.DataFrame


def _amount(frame: pd.DataFrame, column: str, dialect: str) -> pd.Series:
    values = pd.to_numeric(frame[column])
    return values / 100 if dialect == "sqlite" else values


def load_ledger(engine: Engine) -> LoadedLedger:
    dialect = engine.dialect.name
    with engine.connect() as connection:
        invoices = pd.read_sql(
            text("SELECT id, customer_id, currency, amount, issue_dn, due_dn FROM invoice"), connection
        )
        allocations = pd.read_sql(text("SELECT invoice_id, amount, applied_dn FROM payment_allocation"), connection)
        customers = pd.read_sql(text("SELECT id, region, collector_id, currency FROM customer"), connection)
        disputes = pd.read_sql(text("SELECT invoice_id, opened_at, resolved_at FROM dispute"), connection)
    invoices["amount"] = _amount(invoices, "amount", dialect)
    allocations["amount"] = _amount(allocations, "amount", dialect)
    return LoadedLedger(invoices, allocations, customers, disputes)


def open_items(ledger: LoadedLedger, as_of: date) -> pd.DataFrame:
    t = day_number(as_of)
    paid = ledger.allocations[ledger.allocations.applied_dn <= t].groupby("invoice_id").amount.sum()
    items = ledger.invoices[ledger.invoices.issue_dn <= t].copy()
    items["open_amount"] = items.amount - items.id.map(paid).fillna(0)
    items = items[items.open_amount.round(2) != 0]
    items["dpd"] = t - items.due_dn
    return items


def naive_customer_exposure(engine: Engine, customer_id: int, as_of: date) -> dict[str, float]:
    items = open_items(load_ledger(engine), as_of)
    mine = items[items.customer_id == customer_id]
    return {"open": float(mine.open_amount.sum()), "overdue": float(mine[mine.dpd > 0].open_amount.sum())}


def naive_worklist(engine: Engine, as_of: date, top: int = 50) -> list[int]:
    items = open_items(load_ledger(engine), as_of)
    overdue = items[items.dpd > 0]
    per_customer = overdue.groupby("customer_id").agg(amount=("open_amount", "sum"), oldest=("dpd", "max"))
    per_customer["score"] = per_customer.amount * (1 + per_customer.oldest.clip(upper=180) / 30)
    return [int(i) for i in per_customer.sort_values("score", ascending=False).head(top).index]


def naive_portfolio_summary(engine: Engine, as_of: date) -> dict[str, float]:
    ledger = load_ledger(engine)
    items = open_items(ledger, as_of)
    items = items.merge(ledger.customers[["id", "region"]], left_on="customer_id", right_on="id", suffixes=("", "_c"))
    bins = [-(10**9), 0, 30, 60, 90, 120, 10**9]
    items["bucket"] = pd.cut(items.dpd, bins=bins, labels=False)
    ageing = items.pivot_table(index=["region", "currency"], columns="bucket", values="open_amount", aggfunc="sum")
    t = day_number(as_of)
    sales = ledger.invoices[(ledger.invoices.issue_dn > t - 90) & (ledger.invoices.issue_dn <= t)]
    by_currency = sales.groupby("currency").amount.sum()
    open_by_currency = items.groupby("currency").open_amount.sum()
    dso = (open_by_currency / by_currency * 90).to_dict()
    return {"ageing_cells": float(ageing.size), "dso_currencies": float(len(dso))}
