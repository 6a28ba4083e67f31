"""Filtering, sorting and paginating a table of records on the server, as the script does in the browser.

Without the script, the users and groups pages are plain GET forms and links carrying
``q``, ``system``, ``sort``, ``dir`` and ``page``; with it, the same parameters drive the
same table in the browser (and stay in the address bar). The rules match
``LiveTable`` in ``web/static/wmi.js``: a case-insensitive substring of the record's
searchable fields; numeric columns sort as numbers; the name breaks ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import Any

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
    searched: Sequence[str]

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
    hidden_system: int = 0
    state: dict[str, object] = field(default_factory=dict)


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def haystack(record: Mapping[str, Any], searched: Sequence[str]) -> str:
    return " ".join(_text(record.get(k, "")) for k in searched).lower()


def sort_key(record: Mapping[str, Any], column: Column, name_key: str) -> tuple[Any, str]:
    value = record.get(column.key)
    if column.numeric:
        primary: Any = (
            value if isinstance(value, int | float) else len(value) if isinstance(value, list) else 0
        )
    else:
        primary = _text(value if value is not None else "").lower()
    return primary, str(record.get(name_key, ""))


def listing(
    records: list[dict[str, Any]],
    spec: TableSpec,
    *,
    q: str,
    system: bool,
    sort: str,
    desc: bool,
    page: int,
    page_size: int = PAGE_SIZE,
) -> Listing:
    shown = records if system else [r for r in records if not r.get("system")]
    needle = q.strip().lower()
    if needle:
        shown = [r for r in shown if needle in haystack(r, spec.searched)]
    column = spec.column(sort)
    shown.sort(key=lambda r: sort_key(r, column, spec.name_key), reverse=desc)
    pages = max(1, ceil(len(shown) / page_size))
    page = min(max(1, page), pages)
    start = (page - 1) * page_size
    return Listing(
        rows=shown[start : start + page_size],
        total=len(shown),
        shown_from=start + 1 if shown else 0,
        pages=pages,
        page=page,
        q=q,
        system=system,
        sort=column.key,
        desc=desc,
        hidden_system=0 if system else sum(1 for r in records if r.get("system")),
        state={"q": q, "system": "1" if system else "", "sort": column.key, "dir": "desc" if desc else ""},
    )
