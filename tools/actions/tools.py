"""The write tools of the registry. Every one of them only creates a proposal (see `proposals.create_proposal`);
none changes business data by itself. A test enumerates the registry to keep it that way."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tools.actions.base import Action
from tools.actions.definitions import ACTIONS
from tools.actions.proposals import ProposalView, create_proposal
from tools.context import ToolContext
from tools.registry import ToolSpec

PROPOSAL_NOTE = " Creates a proposal that a human approves; it changes nothing by itself."


def _proposal_tool(action: Action) -> ToolSpec:
    def propose(session: Session, ctx: ToolContext, args: Any) -> ProposalView:
        return create_proposal(session, ctx, action, args)

    return ToolSpec(
        name=action.tool_name,
        description=action.description + PROPOSAL_NOTE,
        kind="write",
        input_model=action.input_model,
        output_model=ProposalView,
        fn=propose,
        roles=action.proposer_roles,
    )


TOOLS = [_proposal_tool(action) for action in ACTIONS.values()]
