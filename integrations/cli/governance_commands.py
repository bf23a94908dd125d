"""`creditdesk proposals …` and `creditdesk audit …`: deciding guarded actions and checking the audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from core.errors import CreditDeskError
from integrations.cli.render import console, fail

proposals_app = typer.Typer(help="Pending changes and their approval.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)

AsUser = Annotated[str, typer.Option("--as", help="Staff user deciding or viewing (name, e-mail or Slack id).")]


def _context(handle: str) -> Any:
    from db.engine import read_session
    from db.queries.staff import get_staff_user
    from tools.context import Actor, ToolContext

    with read_session() as session:
        return ToolContext(actor=Actor.from_user(get_staff_user(session, handle)))


def _print_proposal(view: Any) -> None:
    table = Table("field", "before", "after", title=f"#{view.id} {view.action}: {view.status}")
    for change in view.changes:
        table.add_row(f"{change['entity']}.{change['field']}", str(change["before"]), str(change["after"]))
    console.print(view.summary)
    console.print(table)
    console.print(
        f"proposed by {view.proposed_by} at {view.created_at:%Y-%m-%d %H:%M} UTC · needs {view.required_role}"
        + (" (four-eyes)" if view.four_eyes else "")
        + (f" · decided by {view.decided_by} via {view.decided_via}" if view.decided_by else "")
    )
    console.print(view.next_step)
    if view.result:
        console.print(f"result: {json.dumps(view.result)}")


@proposals_app.command("list")
def list_command(
    as_user: AsUser,
    status: Annotated[str | None, typer.Option(help="pending, approved, rejected, expired, stale or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List proposals you may see, newest first."""
    from db.engine import read_session
    from tools.actions.proposals import list_proposals

    try:
        ctx = _context(as_user)
        with read_session() as session:
            rows = list_proposals(session, ctx, status=status, limit=limit)  # type: ignore[arg-type]
    except CreditDeskError as error:
        fail(error)
    table = Table("id", "status", "action", "customer", "needs", "proposed by", "expires (UTC)")
    for row in rows:
        table.add_row(
            str(row.id),
            row.status,
            row.action,
            row.customer_name or "",
            row.required_role,
            row.proposed_by,
            f"{row.expires_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@proposals_app.command("show")
def show_command(proposal_id: int, as_user: AsUser) -> None:
    """Show one proposal with its exact before/after values."""
    from db.engine import read_session
    from tools.actions.proposals import get_proposal

    try:
        ctx = _context(as_user)
        with read_session() as session:
            _print_proposal(get_proposal(session, ctx, proposal_id))
    except CreditDeskError as error:
        fail(error)


def _decide(proposal_id: int, as_user: str, decision: str, note: str | None) -> None:
    from tools.actions.proposals import decide_proposal

    try:
        ctx = _context(as_user)
        outcome = decide_proposal(None, proposal_id, ctx.actor, decision, via="cli", note=note)  # type: ignore[arg-type]
    except CreditDeskError as error:
        fail(error)
    console.print(outcome.message)
    _print_proposal(outcome.proposal)


@proposals_app.command("approve")
def approve_command(
    proposal_id: int, as_user: AsUser, note: Annotated[str | None, typer.Option(help="Why you approve.")] = None
) -> None:
    """Approve and execute a proposal (every check is re-run on the server)."""
    _decide(proposal_id, as_user, "approve", note)


@proposals_app.command("reject")
def reject_command(
    proposal_id: int, as_user: AsUser, note: Annotated[str | None, typer.Option(help="Why you reject.")] = None
) -> None:
    """Reject a proposal; nothing changes."""
    _decide(proposal_id, as_user, "reject", note)


@proposals_app.command("simulate")
def simulate_command(proposal_id: int, as_user: AsUser) -> None:
    """What the proposal would change (utilisation, status, orders released), without writing anything."""
    from tools.actions.proposals import simulate_proposal

    try:
        ctx = _context(as_user)
        result = simulate_proposal(None, proposal_id, ctx)
    except CreditDeskError as error:
        fail(error)
    table = Table("figure", "before", "after", title=f"simulation of #{proposal_id}")
    for key in result.before:
        table.add_row(key, str(result.before[key]), str(result.after.get(key)))
    console.print(result.summary)
    console.print(table)
    if result.orders_releasable_after:
        console.print(f"orders the credit check would then release: {', '.join(result.orders_releasable_after)}")
    for note in result.notes:
        console.print(note)


@proposals_app.command("expire")
def expire_command() -> None:
    """Mark pending proposals past their expiry as expired."""
    from tools.actions.proposals import expire_overdue_proposals

    console.print(f"{expire_overdue_proposals(None)} proposal(s) expired")


outbox_app = typer.Typer(help="Approved dunning letters waiting to go out.", no_args_is_help=True)


@outbox_app.command("send")
def send_outbox_command() -> None:
    """E-mail queued dunning letters over SMTP (CREDITDESK_SMTP_*); paper letters stay queued."""
    from tools.actions.outbox import deliver_queued_dunning

    try:
        run = deliver_queued_dunning(None)
    except CreditDeskError as error:
        fail(error)
    console.print(f"sent {run.sent}, failed {run.failed}, paper letters left queued {run.skipped_letters}")


CheckpointSource = Annotated[
    Path | None,
    typer.Option(
        "--checkpoints",
        help="Checkpoint file or directory to compare against (default CREDITDESK_AUDIT_CHECKPOINT_DIR, "
        "i.e. <data dir>/audit-checkpoints).",
    ),
]


@audit_app.command("verify")
def verify_command(checkpoints: CheckpointSource = None) -> None:
    """Recompute the keyed chain and compare it with every signed checkpoint; exit 1 if any event was edited,
    deleted, inserted, reordered or rolled back, or if the key needed to check it is missing."""
    from db.engine import read_session
    from db.queries.audit_checkpoints import verify_audit

    try:
        with read_session() as session:
            report = verify_audit(session, checkpoint_source=checkpoints)
    except CreditDeskError as error:
        fail(error)
    if report.intact:
        last = report.last_checkpoint
        against = (
            f"; matches {report.checkpoints_checked:,} checkpoint(s), the last at event {last.sequence} "
            f"({last.created_at})"
            if last
            else ""
        )
        console.print(f"audit chain intact: {report.chain.events:,} events, keyed{against}")
        for note in report.notes:
            console.print(note)
        return
    for note in report.notes:
        console.print(note)
    for problem in report.problems[:50]:
        where = f"event {problem.sequence}" if problem.sequence else "audit trail"
        console.print(f"[red]{where}: {problem.problem}[/]")
    if len(report.problems) > 50:
        console.print(f"[red]… and {len(report.problems) - 50:,} more problems[/]")
    console.print(f"[bold red]the audit trail does NOT verify: {len(report.problems):,} problem(s)[/]")
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint_command(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Directory to append to (default: the configured checkpoint dir).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the signed record as one JSON line (to ship to a log system).")
    ] = False,
) -> None:
    """Verify the trail, then append a signed checkpoint of its head outside the database (run it regularly; copy
    the files or the --json line to storage the database's writers cannot change)."""
    from db.queries.audit_checkpoints import write_checkpoint

    try:
        checkpoint = write_checkpoint(None, directory=directory)
    except CreditDeskError as error:
        fail(error)
    if as_json:
        typer.echo(checkpoint.line())
        return
    console.print(
        f"checkpoint written to {checkpoint.origin}: event {checkpoint.sequence}, {checkpoint.count:,} events, "
        f"key {checkpoint.key_id}"
    )


@audit_app.command("export")
def export_command(path: Annotated[Path, typer.Argument(help="CSV file to write.")]) -> None:
    """Export the audit trail as CSV (with MACs, chain versions and key ids)."""
    from db.engine import read_session
    from db.queries.audit import export_csv

    with read_session() as session:
        rows = export_csv(session, path)
    console.print(f"wrote {rows:,} events to {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(proposals_app, name="proposals")
    app.add_typer(audit_app, name="audit")
    app.add_typer(outbox_app, name="outbox")
