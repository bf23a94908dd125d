"""Payment-behaviour model: no leakage (features of an invoice use only earlier data), metrics on the demo
portfolio and on the imported IBM sample, calibration shape, determinism, persistence and its use in the score.
Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from core.dates import day_number
from core.settings import reset_settings
from db.engine import read_session, write_session
from db.models import BureauReport, Customer, Invoice
from db.queries.scoring import NO_DAY, CustomerRow, InvoiceHistory
from integrations.importers.importer import import_file
from tests.conftest import DEMO_AS_OF
from tests.support import factories as f
from tests.support.paths import IBM_SAMPLE
from tools.context import Actor, ToolContext
from tools.payment_model import (
    CALIBRATION_BINS,
    FEATURES,
    FeatureSources,
    PaymentModelTraining,
    Targets,
    build_features,
    evaluate_payment_model,
    load_payment_model,
    load_sources,
    next_invoice_probabilities,
    train_payment_model,
)
from tools.registry import call_tool

IBM = IBM_SAMPLE
COLUMN = {name: i for i, name in enumerate(FEATURES)}


# --- no leakage: a crafted ledger, features computed from plain arrays --------------------------------------------


def _sources(rows: list[tuple[int, int, int, int, int]], bureau: list[tuple[int, int]] | None = None) -> FeatureSources:
    """rows: (invoice id, issue day, due day, settled day or NO_DAY, amount in cents), all for customer 1."""
    ids, issue, due, settled, cents = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
    history = InvoiceHistory(
        id=ids,
        customer_id=np.ones(len(rows), dtype=np.int64),
        issue_dn=issue,
        due_dn=due,
        settled_dn=settled,
        amount_cents=cents,
        currency=np.zeros(len(rows), dtype=np.int64),
        currencies=("USD",),
    )
    bureau = bureau or []
    return FeatureSources(
        history=history,
        rates={"USD": 1.0},
        dispute_customer=np.zeros(0, dtype=np.int64),
        dispute_day=np.zeros(0, dtype=np.int64),
        bureau_customer=np.ones(len(bureau), dtype=np.int64),
        bureau_day=np.array([b[0] for b in bureau], dtype=np.int64),
        bureau_paydex=np.array([b[1] for b in bureau], dtype=np.int64),
        financials=[],
        customers={1: CustomerRow(1, "USD", 30, None)},
    )


def _features_of(sources: FeatureSources, index: int) -> np.ndarray:
    h = sources.history
    targets = Targets(
        customer_id=h.customer_id[[index]],
        issue_dn=h.issue_dn[[index]],
        amount_cents=h.amount_cents[[index]].astype(np.float64),
        rate=np.ones(1),
        terms_days=(h.due_dn - h.issue_dn)[[index]],
    )
    return build_features(sources, targets, late_threshold_days=30)[0]


BASE = day_number(date(2026, 1, 1))
# A issued day 0, due 30, paid day 60 (30 late); B issued day 40 (A still open, 9 days past due at the end of
# day 39), paid day 75 (5 late); C issued day 80 (A and B settled before it); D issued day 100.
LEDGER = [
    (1, BASE, BASE + 30, BASE + 60, 100_000),
    (2, BASE + 40, BASE + 70, BASE + 75, 200_000),
    (3, BASE + 80, BASE + 110, BASE + 160, 100_000),
    (4, BASE + 100, BASE + 130, BASE + 131, 100_000),
]
BUREAU = [(BASE + 40, 30), (BASE + 10, 90)]


def test_features_use_only_data_before_the_issue_date() -> None:
    sources = _sources(LEDGER, bureau=BUREAU)
    b, c = _features_of(sources, 1), _features_of(sources, 2)
    # B: A not settled yet → no paid history; A open and past due → one overdue item; one earlier invoice.
    assert b[COLUMN["has_paid_history"]] == 0 and b[COLUMN["prior_avg_days_late"]] == 0
    assert b[COLUMN["open_overdue_count"]] == pytest.approx(np.log1p(1))
    assert b[COLUMN["prior_invoices"]] == pytest.approx(np.log1p(1))
    assert b[COLUMN["relative_amount"]] == pytest.approx(np.log(2.0))
    # The bureau report dated on B's issue day is not known before it: the earlier one (90) is used.
    assert b[COLUMN["paydex"]] == 90 and b[COLUMN["paydex_missing"]] == 0
    # C: A (30 days late) and B (5 days late) settled before day 80 → (100k × 30 + 200k × 5) / 300k.
    assert c[COLUMN["has_paid_history"]] == 1
    assert c[COLUMN["prior_avg_days_late"]] == pytest.approx((100_000 * 30 + 200_000 * 5) / 300_000)
    assert c[COLUMN["prior_share_late"]] == 1.0 and c[COLUMN["prior_share_very_late"]] == 0.0
    assert c[COLUMN["open_overdue_count"]] == 0
    assert c[COLUMN["paydex"]] == 30

    # Nothing dated on or after an invoice's issue day changes its features: its own outcome, later settlements,
    # invoices issued the same day or later, bureau reports from that day on.
    for_b = list(LEDGER)
    for_b[1] = (2, BASE + 40, BASE + 70, NO_DAY, 200_000)  # B itself never paid
    for_b[0] = (1, BASE, BASE + 30, BASE + 45, 100_000)  # A settled after B's issue day, at another date
    for_b.append((5, BASE + 40, BASE + 70, BASE + 41, 900_000))  # issued the same day as B
    np.testing.assert_array_equal(_features_of(_sources(for_b, [*BUREAU, (BASE + 40, 1)]), 1), b)
    for_c = list(LEDGER)
    for_c[2] = (3, BASE + 80, BASE + 110, BASE + 300, 100_000)  # C itself paid much later
    for_c[3] = (4, BASE + 100, BASE + 130, NO_DAY, 100_000)
    for_c.append((5, BASE + 80, BASE + 110, BASE + 81, 900_000))
    np.testing.assert_array_equal(_features_of(_sources(for_c, [*BUREAU, (BASE + 80, 1)]), 2), c)
    # …whereas what is known before the issue day does: B still unpaid when C is issued is an overdue item.
    for_b_unpaid = list(LEDGER)
    for_b_unpaid[1] = (2, BASE + 40, BASE + 70, NO_DAY, 200_000)
    unpaid = _features_of(_sources(for_b_unpaid, BUREAU), 2)
    assert unpaid[COLUMN["open_overdue_count"]] == pytest.approx(np.log1p(1))
    assert unpaid[COLUMN["prior_paid"]] == pytest.approx(np.log1p(1))


def test_features_point_in_time_from_the_database(db_url: str) -> None:
    as_of = date(2026, 6, 30)
    with write_session(db_url) as s:
        who = f.customer(s, "Model Steady", since=date(2022, 1, 1))
        for month in range(1, 7):
            inv = f.invoice(s, who, "1000", issued=date(2026, month, 2))
            if inv.due_date + timedelta(days=5) <= as_of:
                f.pay(s, inv, "1000", on=inv.due_date + timedelta(days=5))
        s.add(BureauReport(customer_id=who.id, agency="test", report_date=date(2026, 2, 1), paydex=75))
    with read_session(db_url) as s:
        before = load_sources(s, as_of)
    with write_session(db_url) as s:
        first_open = s.scalars(
            select(Invoice).where(Invoice.customer_id == who.id, Invoice.settled_dn.is_(None)).order_by(Invoice.id)
        ).first()
        assert first_open is not None
        f.pay(s, first_open, "1000", on=date(2026, 7, 15))
        f.invoice(s, s.get_one(Customer, who.id), "5000", issued=date(2026, 7, 1))
        s.add(BureauReport(customer_id=who.id, agency="test", report_date=date(2026, 7, 1), paydex=10))
    with read_session(db_url) as s:
        after = load_sources(s, as_of)
    targets = Targets(
        customer_id=np.array([who.id]),
        issue_dn=np.array([day_number(as_of) + 1]),
        amount_cents=np.array([100_000.0]),
        rate=np.ones(1),
        terms_days=np.array([30]),
    )
    np.testing.assert_array_equal(build_features(before, targets, 30), build_features(after, targets, 30))


# --- training and metrics ---------------------------------------------------------------------------------------


def _check_metrics(result: PaymentModelTraining) -> None:
    assert result.status == "trained" and result.metadata is not None
    metrics = result.metadata.metrics
    assert metrics.auc is not None and 0 <= metrics.brier <= 1
    assert len(metrics.calibration) == CALIBRATION_BINS
    assert sum(b.invoices for b in metrics.calibration) == metrics.invoices
    assert [b.bin for b in metrics.calibration] == list(range(1, CALIBRATION_BINS + 1))
    means = [b.mean_predicted for b in metrics.calibration]
    assert means == sorted(means)
    assert sum(b.late_invoices for b in metrics.calibration) == metrics.late_invoices
    assert all(b.observed_rate == round(b.late_invoices / b.invoices, 4) for b in metrics.calibration)
    assert result.metadata.train_to < result.metadata.test_from <= metrics.issued_from  # type: ignore[operator]


def test_demo_model_metrics_and_determinism(demo_db_url: str, tmp_path: Path) -> None:
    with read_session(demo_db_url) as s:
        first = train_payment_model(s, DEMO_AS_OF, path=tmp_path / "model.pkl")
        second = train_payment_model(s, DEMO_AS_OF, save=False)
    _check_metrics(first)
    assert first.metadata is not None and second.metadata is not None
    metrics = first.metadata.metrics
    print(f"demo: AUC {metrics.auc} Brier {metrics.brier} (reference {metrics.brier_reference})")
    assert metrics.auc is not None and metrics.auc > 0.6
    assert metrics.brier < metrics.brier_reference
    assert first.metadata.metrics == second.metadata.metrics
    assert first.metadata.coefficients == second.metadata.coefficients
    assert first.metadata.version == second.metadata.version

    model = load_payment_model(tmp_path / "model.pkl")
    assert model is not None and model.metadata.version == first.metadata.version
    assert model.metadata.features == list(FEATURES)
    with read_session(demo_db_url) as s:
        evaluated = evaluate_payment_model(s, DEMO_AS_OF, model=model)
        sources = load_sources(s, DEMO_AS_OF)
        single = load_sources(s, DEMO_AS_OF, [5])
    assert evaluated.auc == metrics.auc and evaluated.invoices == metrics.invoices
    book = next_invoice_probabilities(sources, model, DEMO_AS_OF)
    assert len(book) == 150 and all(0 < p < 1 for p in book.values())
    assert next_invoice_probabilities(single, model, DEMO_AS_OF) == {5: book[5]}


def test_ibm_sample(db_url: str, tmp_path: Path) -> None:
    import_file(IBM, "ibm-ar", url=db_url)
    with read_session(db_url) as s:
        result = train_payment_model(s, date(2014, 1, 31), late_threshold_days=0, save=False)
    _check_metrics(result)
    assert result.metadata is not None
    metrics = result.metadata.metrics
    print(f"IBM (late > 0 days): AUC {metrics.auc} Brier {metrics.brier} (reference {metrics.brier_reference})")
    assert metrics.auc is not None and metrics.auc > 0.5
    assert result.metadata.coefficients["paydex"] == 0.0  # no bureau data: the feature is constant and inert


def test_not_enough_history(db_url: str) -> None:
    with write_session(db_url) as s:
        who = f.customer(s, "Small Book")
        for month in range(1, 11):
            inv = f.invoice(s, who, "100", issued=date(2025, month, 1))
            f.pay(s, inv, "100", on=inv.due_date)
    with read_session(db_url) as s:
        result = train_payment_model(s, date(2026, 6, 30), save=False)
    assert result.status == "not_enough_history" and result.metadata is None
    assert result.labelled_invoices == 10 and "not enough history" in result.message


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    saved = os.environ.get("CREDITDESK_DATA_DIR")
    os.environ["CREDITDESK_DATA_DIR"] = str(tmp_path)
    reset_settings()
    yield tmp_path
    if saved is None:
        os.environ.pop("CREDITDESK_DATA_DIR", None)
    else:
        os.environ["CREDITDESK_DATA_DIR"] = saved
    reset_settings()


def test_saved_model_feeds_the_score(demo_db_url: str, data_dir: Path) -> None:
    ctx = ToolContext(actor=Actor.operator(), database_url=demo_db_url, today=DEMO_AS_OF, reporting_currency="USD")
    without: Any = call_tool("score_customer", {"customer": "5"}, ctx)
    assert without.late_payment.available is False and "no trained payment model" in without.late_payment.note
    with read_session(demo_db_url) as s:
        trained = train_payment_model(s, DEMO_AS_OF)
    assert trained.saved_to == str(default_model_path_for(demo_db_url))
    assert Path(trained.saved_to).parent == data_dir / "models"
    with_model: Any = call_tool("score_customer", {"customer": "5"}, ctx)
    assert with_model.late_payment.available and with_model.late_payment.probability is not None
    assert trained.metadata is not None and with_model.late_payment.model_version == trained.metadata.version
    assert with_model.score == without.score  # the model informs; it does not change the scorecard
    # A model trained on later data is not used for an earlier as-of date (it would leak the future).
    earlier: Any = call_tool("score_customer", {"customer": "5", "as_of": "2026-06-30"}, ctx)
    assert earlier.late_payment.available is False and "after the as-of date" in earlier.late_payment.note


def default_model_path_for(url: str) -> Path:
    from tools.payment_model import default_model_path

    with read_session(url) as session:
        return default_model_path(session)


def test_models_are_kept_per_database(demo_db_url: str, data_dir: Path, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert default_model_path_for(demo_db_url) != default_model_path_for(other)
    assert default_model_path_for(demo_db_url).parent == data_dir / "models"


def test_unreadable_model_file_counts_as_no_model(tmp_path: Path) -> None:
    path = tmp_path / "payment_model.pkl"
    path.write_bytes(b"not a pickle")
    assert load_payment_model(path) is None


def test_cli_train_and_evaluate(demo_db_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from integrations.cli import score_commands

    monkeypatch.setenv("CREDITDESK_DATABASE_URL", demo_db_url)
    reset_settings()
    app = typer.Typer()
    score_commands.register(app)
    runner = CliRunner()
    trained = runner.invoke(app, ["model", "train", "--as-of", DEMO_AS_OF.isoformat()])
    assert trained.exit_code == 0, trained.output
    assert "AUC" in trained.output and "Calibration" in trained.output
    assert default_model_path_for(demo_db_url).exists()
    evaluated = runner.invoke(app, ["model", "evaluate", "--as-of", DEMO_AS_OF.isoformat()])
    assert evaluated.exit_code == 0, evaluated.output
    assert "Out-of-time" in evaluated.output
