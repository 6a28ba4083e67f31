"""One change applied alone: a change set of one (services.worker.changeset)."""

from __future__ import annotations

from pydantic import BaseModel

from services.common.actions import Action
from services.worker.changeset import Host, Item
from services.worker.changeset import apply as apply_set
from services.worker.checks import ToolError

__all__ = ["Host", "apply"]


def apply(host: Host, action: Action, params: BaseModel) -> str:
    """Make the change on the host; return what was done as a sentence, or raise ToolError."""
    outcome = apply_set(host, [Item("", action, params)]).outcomes[0]
    if outcome.error is not None or outcome.result is None:
        raise ToolError(outcome.error or "The change was not made.")
    return outcome.result
