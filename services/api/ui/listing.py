"""One page of a host's users or groups, as the users and groups pages show it.

Filtering, sorting and slicing are the read model's (``core.readmodel.Table.select``), the
same as the JSON API's: the pages only decide which page to ask for and how its links
carry the state (``q``, ``group``, ``locked``, ``system``, ``sort``, ``dir``, ``page``). The
page's script follows the same links and swaps in what the server renders, so no rule
lives in the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import Any

from services.api.core.readmodel import Filters, Row, Table

PAGE_SIZE = 50


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    # Hidden at phone width, where the table must fit without scrolling sideways.
    optional: bool = False
    # Numbers line up on the right; a column only sorted by a count (members) does not.
    right: bool | None = None

    @property
    def classes(self) -> str:
        right = self.numeric if self.right is None else self.right
        return " ".join(c for c, on in (("num", right), ("opt", self.optional)) if on)


@dataclass(frozen=True)
class TableSpec:
    name_key: str
    columns: Sequence[Column]

    def column(self, key: str) -> Column:
        return next((c for c in self.columns if c.key == key), self.columns[0])


@dataclass
class Listing:
    rows: list[dict[str, Any]]
    total: int
    shown_from: int
    pages: int
    page: int
    q: str
    system: bool
    sort: str
    desc: bool
    # What the page's links carry, besides the page number: the filters and the order.
    state: dict[str, object] = field(default_factory=dict)

    def sorted_by(self, column: str) -> dict[str, object]:
        """The state of a column header's link: that column, reversed when it is the current one."""
        desc = self.sort == column and not self.desc
        return {**self.state, "sort": column, "dir": "desc" if desc else ""}


def listing(
    table: Table,
    spec: TableSpec,
    filters: Filters,
    *,
    sort: str,
    desc: bool,
    page: int,
    shown: Callable[[Row], dict[str, Any]] = Row.record,
    state: Mapping[str, object] | None = None,
    page_size: int = PAGE_SIZE,
) -> Listing:
    """Page ``page`` (the last one if past it) of the rows ``filters`` keeps, each made by ``shown``."""
    column = spec.column(sort)
    chosen = table.select(filters, sort=column.key, desc=desc, offset=(max(1, page) - 1) * page_size,
                          limit=page_size)  # fmt: skip
    pages = max(1, ceil(chosen.total / page_size))
    if page > pages:
        return listing(table, spec, filters, sort=sort, desc=desc, page=pages, shown=shown, state=state,
                       page_size=page_size)  # fmt: skip
    number = max(1, page)
    return Listing(
        rows=[shown(row) for row in chosen.rows],
        total=chosen.total,
        shown_from=chosen.offset + 1 if chosen.rows else 0,
        pages=pages,
        page=number,
        q=filters.q,
        system=filters.system is None,
        sort=column.key,
        desc=desc,
        state={**(state or {}), "sort": column.key, "dir": "desc" if desc else ""},
    )
