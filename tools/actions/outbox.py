"""Delivering approved dunning letters. Approval queues a letter in `dunning_outbox`; this job sends queued
e-mails over SMTP when it is configured (CREDITDESK_SMTP_*), and otherwise leaves them queued for another system
to pick up. Letters (channel "letter") are never e-mailed."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from pydantic import BaseModel
from sqlalchemy import select

from core.dates import utcnow
from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from core.settings import Settings, get_settings
from db.engine import write_session
from db.models.governance import DunningOutbox
from db.queries.audit import append_event

log = get_logger(__name__)


class OutboxRun(BaseModel):
    sent: int
    failed: int
    skipped_letters: int
    still_queued: int


def deliver_queued_dunning(database_url: str | None = None, *, limit: int = 200) -> OutboxRun:
    settings = get_settings()
    if not settings.smtp_host or not settings.smtp_sender:
        raise CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            "SMTP is not configured (CREDITDESK_SMTP_HOST and CREDITDESK_SMTP_SENDER); letters stay queued",
        )
    sent = failed = letters = 0
    with write_session(database_url) as session:
        queued = list(
            session.scalars(
                select(DunningOutbox)
                .where(DunningOutbox.status == "queued")
                .order_by(DunningOutbox.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        with _smtp(settings) as smtp:
            for item in queued:
                if item.channel != "email" or not item.to_email:
                    letters += 1
                    continue
                try:
                    smtp.send_message(_message(settings, item))
                except (smtplib.SMTPException, OSError) as error:
                    item.status, item.error = "failed", type(error).__name__
                    failed += 1
                else:
                    item.status, item.sent_at = "sent", utcnow()
                    sent += 1
                append_event(
                    session,
                    f"dunning.{item.status}",
                    actor_id=None,
                    actor_name="outbox",
                    actor_role=None,
                    subject_type="dunning_outbox",
                    subject_id=item.id,
                    details={"proposal_id": item.proposal_id, "customer_id": item.customer_id, "level": item.level},
                )
        remaining = len(queued) - sent - failed
    log.info("outbox.delivered", sent=sent, failed=failed, letters=letters)
    return OutboxRun(sent=sent, failed=failed, skipped_letters=letters, still_queued=remaining)


def _message(settings: Settings, item: DunningOutbox) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_sender or ""
    message["To"] = item.to_email or ""
    message["Subject"] = item.subject
    message.set_content(item.body)
    return message


@contextmanager
def _smtp(settings: Settings) -> Iterator[smtplib.SMTP]:
    client = smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=30)
    try:
        if settings.smtp_port != 25:
            client.starttls()
        if settings.smtp_username and settings.smtp_password:
            client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        yield client
    finally:
        client.quit()
