"""Typed view of the machine-readable credit policy (`knowledge/policies/policy.yaml`).

Tools read every threshold, weight and authority rule from here; nothing policy-like is hard-coded elsewhere.
The handbook states the same numbers in prose (a test keeps them equal).
"""

from __future__ import annotations

import itertools
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings
from db.models import Role

RiskClass = Literal["A", "B", "C", "D", "E"]
RISK_CLASSES: tuple[RiskClass, ...] = ("A", "B", "C", "D", "E")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeingPolicy(_Strict):
    basis: Literal["due_date"]
    # Exactly four bounds: six buckets (current, four bands, and the oldest), the shape the snapshots store.
    bucket_upper_bounds: list[int] = Field(min_length=4, max_length=4)

    @model_validator(mode="after")
    def _ascending(self) -> AgeingPolicy:
        bounds = self.bucket_upper_bounds
        if not bounds or any(b <= a for a, b in itertools.pairwise(bounds)) or bounds[0] <= 0:
            raise ValueError("bucket_upper_bounds must be positive and strictly ascending")
        return self

    def bucket_labels(self) -> list[str]:
        labels = ["current"]
        lower = 1
        for upper in self.bucket_upper_bounds:
            labels.append(f"{lower}-{upper}")
            lower = upper + 1
        labels.append(f"{self.bucket_upper_bounds[-1]}+")
        return labels


class CreditStatusPolicy(_Strict):
    watch_utilisation_pct: Decimal
    hold_utilisation_pct: Decimal
    hold_oldest_overdue_days: int
    hold_overdue_share_pct: Decimal
    hold_overdue_share_min_amount: Decimal
    stop_oldest_overdue_days: int
    expired_review_is_watch: bool


class ExposurePolicy(_Strict):
    include_open_orders: bool
    include_disputed_items: bool


class RiskClassBand(_Strict):
    risk_class: RiskClass = Field(alias="class")
    min_score: int = Field(ge=0, le=100)
    review_months: int = Field(ge=1)
    label: str


class Band(_Strict):
    """`max`: value ≤ max earns the points; `min`: value ≥ min; neither: the catch-all last band."""

    max: Decimal | None = None
    min: Decimal | None = None
    points: int = Field(ge=0, le=100)

    def matches(self, value: Decimal) -> bool:
        if self.max is not None:
            return value <= self.max
        if self.min is not None:
            return value >= self.min
        return True


class ScoringFactor(_Strict):
    weight: int = Field(ge=0, le=100)
    bands: list[Band] = Field(default_factory=list)

    def points_for(self, value: Decimal) -> int:
        for band in self.bands:
            if band.matches(value):
                return band.points
        raise ValueError("no band matched; the last band must be a catch-all")


class FinancialTest(_Strict):
    threshold: Decimal
    points: int


class ScoringPolicy(_Strict):
    version: str
    history_months: int
    min_paid_invoices: int
    share_late_after_days: int = Field(ge=0)
    trend_recent_months: int = Field(ge=1)
    factors: dict[str, ScoringFactor]
    financial_tests: dict[str, FinancialTest]
    neutral_points: int

    @model_validator(mode="after")
    def _weights_sum_to_100(self) -> ScoringPolicy:
        total = sum(f.weight for f in self.factors.values())
        if total != 100:
            raise ValueError(f"scoring weights must sum to 100, not {total}")
        if self.trend_recent_months >= self.history_months:
            raise ValueError("trend_recent_months must be shorter than history_months")
        return self


class PaymentModelPolicy(_Strict):
    late_threshold_days: int
    min_training_invoices: int


class LimitMethods(_Strict):
    needs_based: dict[str, Decimal]
    tangible_net_worth_pct: Decimal
    working_capital_pct: Decimal


class LimitPolicy(_Strict):
    rounding: Decimal
    methods: LimitMethods
    risk_class_caps: dict[RiskClass, Decimal]
    bureau_cap_pct_of_recommendation: Decimal
    concentration_cap_pct: Decimal
    recommendation: Literal["median_of_methods_then_caps"]


class LimitIncreaseRule(_Strict):
    max_increase: Decimal | None = None
    max_new_limit: Decimal | None = None
    risk_classes: list[RiskClass] | None = None
    role: Role

    def applies(self, increase: Decimal, new_limit: Decimal, risk_class: str | None) -> bool:
        if self.max_increase is not None and increase > self.max_increase:
            return False
        if self.max_new_limit is not None and new_limit > self.max_new_limit:
            return False
        return self.risk_classes is None or (risk_class is not None and risk_class in self.risk_classes)


class PromiseAutoApprove(_Strict):
    max_amount: Decimal
    max_days_ahead: int


class AuthorityPolicy(_Strict):
    four_eyes_for_limit_changes: bool
    proposal_ttl_hours: int
    credit_limit_increase: list[LimitIncreaseRule]
    credit_limit_decrease: Role
    role_approval_ceiling: dict[Role, Decimal | None]
    order_hold: Role
    order_release_from_ok_or_watch: Role
    order_release_from_hold: Role
    order_release_from_stop: Role
    promise_to_pay: Role
    promise_auto_approve: PromiseAutoApprove
    dispute_update: Role
    dispute_write_off_resolution: Role
    dunning_send: Role
    dunning_final_notice: Role
    collector_assignment: Role
    note: Role
    role_rank: list[Role]

    @model_validator(mode="after")
    def _last_rule_catches_all(self) -> AuthorityPolicy:
        last = self.credit_limit_increase[-1] if self.credit_limit_increase else None
        if last is None or last.max_increase is not None or last.max_new_limit is not None or last.risk_classes:
            raise ValueError("the last credit_limit_increase rule must be unconditional")
        if set(self.role_rank) != set(Role):
            raise ValueError("role_rank must list every role exactly once")
        return self

    def rank(self, role: Role) -> int:
        return self.role_rank.index(role)

    def at_least(self, role: Role, required: Role) -> bool:
        return self.rank(role) >= self.rank(required)

    def approver_for_limit_change(self, current: Decimal, new: Decimal, risk_class: str | None) -> Role:
        if new <= current:
            return self.credit_limit_decrease
        increase = new - current
        for rule in self.credit_limit_increase:
            if rule.applies(increase, new, risk_class):
                return rule.role
        raise AssertionError("unreachable: the last rule is unconditional")


class DunningLevel(_Strict):
    level: int
    days_from_due: int
    name: str
    tone: Literal["friendly", "firm", "final"]
    channel: Literal["email", "letter"]
    fee: Decimal


class LateInterest(_Strict):
    annual_rate_pct: Decimal
    from_level: int


class DunningPolicy(_Strict):
    exclude_disputed: Literal[True]
    promise_open: Literal["soften", "suppress"]
    min_days_between_letters: int
    levels: list[DunningLevel]
    agency_referral_days: int
    late_interest: LateInterest
    currency_of_fees: Literal["invoice"]

    @model_validator(mode="after")
    def _levels_ordered(self) -> DunningPolicy:
        days = [level.days_from_due for level in self.levels]
        if days != sorted(days) or [lv.level for lv in self.levels] != list(range(len(self.levels))):
            raise ValueError("dunning levels must be numbered 0..n and ordered by days_from_due")
        return self

    def level_for(self, days_past_due: int) -> DunningLevel | None:
        reached = [level for level in self.levels if days_past_due >= level.days_from_due]
        return reached[-1] if reached else None


class PromisePolicy(_Strict):
    grace_days: int
    partial_kept_min_pct: Decimal
    max_days_ahead: int
    max_open_per_customer: int


class DisputePolicy(_Strict):
    acknowledge_within_days: int
    resolve_target_days: int
    escalate_after_days: int
    chase_after_days: int


class WorklistPolicy(_Strict):
    amount_weight: Decimal
    broken_promise_boost: Decimal
    imminent_due_days: int
    imminent_due_min_amount: Decimal
    pre_due_risk_classes: list[RiskClass]
    hold_back_open_promise: bool
    recent_contact_days: int


class ProvisionStep(_Strict):
    min_days: int
    pct: Decimal


class WriteOffApproval(_Strict):
    max_amount: Decimal | None = None
    role: Role


class WriteOffPolicy(_Strict):
    provision_pct_by_days_past_due: list[ProvisionStep]
    approval: list[WriteOffApproval]


class CreditPolicy(_Strict):
    version: str
    effective_date: date
    owner: str
    ageing: AgeingPolicy
    credit_status: CreditStatusPolicy
    exposure: ExposurePolicy
    risk_classes: list[RiskClassBand]
    scoring: ScoringPolicy
    payment_model: PaymentModelPolicy
    limits: LimitPolicy
    authority: AuthorityPolicy
    dunning: DunningPolicy
    promises: PromisePolicy
    disputes: DisputePolicy
    worklist: WorklistPolicy
    write_off: WriteOffPolicy

    @model_validator(mode="after")
    def _risk_classes_descending(self) -> CreditPolicy:
        minimums = [band.min_score for band in self.risk_classes]
        if minimums != sorted(minimums, reverse=True) or minimums[-1] != 0:
            raise ValueError("risk classes must be ordered by descending min_score and end at 0")
        if [band.risk_class for band in self.risk_classes] != list(RISK_CLASSES):
            raise ValueError("risk classes must be A..E")
        return self

    def risk_class_for(self, score: int) -> RiskClassBand:
        for band in self.risk_classes:
            if score >= band.min_score:
                return band
        return self.risk_classes[-1]


def role_phrase(role: Role | str) -> str:
    """'a credit manager', 'an admin'."""
    words = (role.value if isinstance(role, Role) else role).replace("_", " ")
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


_cache: dict[tuple[Path, float], CreditPolicy] = {}
_lock = threading.Lock()


def load_policy(path: Path | None = None) -> CreditPolicy:
    """The policy in force; re-read when the file changes. A malformed policy is a hard error (fail closed)."""
    path = (path or get_settings().resolved_policy_file).resolve()
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        raise CreditDeskError(ErrorCode.NOT_CONFIGURED, f"credit policy file {path} does not exist") from None
    key = (path, stamp)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        try:
            policy = CreditPolicy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError) as error:
            raise CreditDeskError(ErrorCode.NOT_CONFIGURED, f"credit policy {path.name} is invalid: {error}") from None
        _cache.clear()
        _cache[key] = policy
        return policy
