"""A batch job (a bulk action on a selection): its rows as the items of a change set, and
the job's outcome from theirs.

Each row is a change of its own: it is applied, or refused, alone, as the jobs of a change
set are, and the job keeps every row's outcome (``Job.rows``). The job succeeds when at
least one of its rows was made, and fails only when none was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from services.common import actions
from services.common.actions import Action
from services.worker.changeset import Item, Outcome

FOUND_DONE = "Done: the change had reached the host before its worker was interrupted."


@dataclass
class Row:
    """One row of a batch and how it ended (``result`` or ``error``; neither: not run yet)."""

    action: Action
    target: str
    params: BaseModel | None
    result: str | None = None
    error: str | None = None

    def shown(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "target": self.target,
            "result": self.result,
            "error": self.error,
        }


def rows_of(batch: actions.Batch) -> list[Row]:
    """The batch's rows, each with its parameters parsed; a row that cannot be has its error."""
    rows = []
    for row in batch.rows:
        if row.action is Action.BATCH:
            rows.append(Row(row.action, row.target, None, error="A batch cannot hold a batch."))
            continue
        try:
            rows.append(Row(row.action, row.target, actions.parse_params(row.action, row.params)))
        except ValidationError as exc:
            # Only the names of the fields: a validation error repeats the values, hashes included.
            fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
            rows.append(Row(row.action, row.target, None, error=f"Invalid parameters: {', '.join(fields)}."))
    return rows


def items(job: str, rows: list[Row]) -> list[Item]:
    """The items of a change set for the rows still to run, each naming its row."""
    return [
        Item(job, row.action, row.params, row=number)
        for number, row in enumerate(rows)
        if row.params is not None and row.error is None and row.result is None
    ]


def record(rows: list[Row], outcomes: list[Outcome]) -> None:
    """Each outcome of the job's items into its row."""
    for outcome in outcomes:
        if outcome.item.row is not None:
            row = rows[outcome.item.row]
            row.result, row.error = outcome.result, outcome.error if outcome.result is None else None
            if row.result is None and row.error is None:
                row.error = "The change was not made."


def outcome(rows: list[Row]) -> tuple[str | None, str | None]:
    """The job's (result, error): a sentence that counts its rows."""
    made = sum(1 for row in rows if row.result is not None)
    refused = [row for row in rows if row.result is None]
    total = len(rows)
    if not refused:
        return f"{made} of {total} changes made.", None
    if made:
        return f"{made} of {total} changes made; {len(refused)} refused (see each row).", None
    first = refused[0].error or "not made"
    return None, f"None of the {total} changes was made. The first refusal: {refused[0].target}: {first}"
