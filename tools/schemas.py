"""Models shared by several tools' inputs and outputs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints

from db.models import Customer


def _reference(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a customer reference is an id, an external id or a name")
    return str(value) if isinstance(value, int) else value


CustomerReference = Annotated[
    str,
    BeforeValidator(_reference),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(description="Customer id (e.g. 17), external id (e.g. C000017) or name (fuzzy, e.g. 'acme')."),
]

AsOfDate = Annotated[date | None, Field(default=None, description="Point in time (end of that day); default today.")]


class CustomerSummary(BaseModel):
    id: int
    external_id: str
    name: str
    parent_id: int | None = None
    parent_name: str | None = None
    country: str | None = None
    region: str | None = None
    segment: str | None = None
    industry: str | None = None
    currency: str
    payment_terms_days: int
    collector: str | None = None
    stored_credit_status: str
    risk_class: str | None = None
    risk_score: int | None = None

    @classmethod
    def of(cls, customer: Customer) -> CustomerSummary:
        return cls(
            id=customer.id,
            external_id=customer.external_id,
            name=customer.name,
            parent_id=customer.parent_id,
            parent_name=customer.parent.name if customer.parent is not None else None,
            country=customer.country,
            region=customer.region,
            segment=customer.segment,
            industry=customer.industry,
            currency=customer.currency,
            payment_terms_days=customer.payment_terms_days,
            collector=customer.collector.name if customer.collector is not None else None,
            stored_credit_status=customer.credit_status.value,
            risk_class=customer.risk_class,
            risk_score=customer.risk_score,
        )


class Amount(BaseModel):
    amount: Decimal
    currency: str


class AgeingBucket(BaseModel):
    label: str = Field(description="current, 1-30, 31-60, 61-90, 91-120 or 120+ days past due")
    amount: Decimal
    items: int
