"""A roster file (a school's class list, a firm's intake) read into rows: its encoding, its
separator, its columns by header name, and a login made for each person who has none.

What spreadsheets export: UTF-8 with or without a byte-order mark, or Windows-1252 (Excel's
"CSV" on a French Windows); ``,`` or ``;`` between fields. Columns are found by their
header, case and spaces aside: ``login``, ``full_name``, ``first_name``, ``last_name``,
``groups`` (separated by spaces or ``;``), ``password``, ``shell``; others are reported and
ignored. Nothing here knows the host: the checks against it are ``core.imports``'.

**The login rule**, for a row without one: the first name and the last name, each
transliterated to ASCII (accents dropped, ``ß`` → ``ss``, ``æ`` → ``ae``, ``œ`` → ``oe``),
lowercased, with every run of other characters made one ``-``, joined by ``_``
(``Zoë Le Bœuf`` → ``zoe_le-boeuf``); cut to 32 characters; a login that starts with a
digit gets a ``u`` before it; one already taken (on the host or earlier in the file) gets
``2``, ``3``… at its end.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from services.common.names import NAME_MAX

KNOWN = ("login", "full_name", "first_name", "last_name", "groups", "password", "shell")
# Header spellings a spreadsheet gives them, once lowercased with spaces and dashes as "_".
ALIASES = {"name": "full_name", "fullname": "full_name", "firstname": "first_name", "lastname": "last_name",
           "group": "groups", "username": "login", "user": "login"}  # fmt: skip
FOLDED = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "ae",
    "œ": "oe",
    "Œ": "oe",
    "ø": "o",
    "Ø": "o",
    "đ": "d",
    "ł": "l",
    "Ł": "l",
}
MAX_ROWS = 20_000


class RosterError(ValueError):
    """The file cannot be read as a roster at all (a 422 for the whole file)."""


@dataclass
class RosterRow:
    """One person of the file, as written (``line``: its line in the file, from 1)."""

    line: int
    login: str
    full_name: str
    groups: list[str]
    password: str | None
    shell: str | None
    made_login: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class Roster:
    rows: list[RosterRow]
    columns: list[str]
    unknown_columns: list[str]
    encoding: str
    separator: str


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in: UTF-8 (a BOM dropped), else Windows-1252."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            raise RosterError("The file is neither UTF-8 nor Windows-1252 text.") from None


def separator_of(header: str) -> str:
    """``;`` when the header line holds more of them than of ``,``."""
    return ";" if header.count(";") > header.count(",") else ","


def column_name(header: str) -> str:
    name = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return ALIASES.get(name, name)


def ascii_word(text: str) -> str:
    """``text`` lowercased in ASCII letters and digits, other runs as one ``-``."""
    folded = "".join(FOLDED.get(c, c) for c in text)
    plain = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def made_login(first: str, last: str, taken: Callable[[str], bool]) -> str:
    """The login of the rule above, not ``taken``; empty when the names hold no letter."""
    base = "_".join(part for part in (ascii_word(first), ascii_word(last)) if part)
    if not base:
        return ""
    if base[0].isdigit():
        base = "u" + base
    base = base[:NAME_MAX].rstrip("-_")
    login, number = base, 1
    while taken(login):
        number += 1
        suffix = str(number)
        login = base[: NAME_MAX - len(suffix)] + suffix
    return login


def _groups(value: str) -> list[str]:
    return [g for g in re.split(r"[\s;]+", value.strip()) if g]


def read(raw: bytes, taken: Callable[[str], bool]) -> Roster:
    """Every row of the file; a made login is chosen among those ``taken`` does not hold."""
    text, encoding = decode(raw)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise RosterError("The file is empty: its first line must name the columns (login, full_name...).")
    separator = separator_of(lines[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header = [column_name(h) for h in next(reader)]
    if "login" not in header and not {"first_name", "last_name"} & set(header):
        raise RosterError(
            "No column names the people: give a 'login' column, or 'first_name' and 'last_name'."
        )
    unknown = sorted({h for h in header if h and h not in KNOWN})
    rows: list[RosterRow] = []
    in_file: set[str] = set()
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise RosterError(f"The file has more than {MAX_ROWS:,} rows: split it.")
        row = _row(reader.line_num, dict(zip(header, values, strict=False)), taken, in_file)
        in_file.add(row.login)
        rows.append(row)
    return Roster(rows, [h for h in header if h in KNOWN], unknown, encoding, separator)


def _row(line: int, cells: dict[str, str], taken: Callable[[str], bool], in_file: set[str]) -> RosterRow:
    def cell(name: str) -> str:
        return cells.get(name, "").strip()

    first, last = cell("first_name"), cell("last_name")
    full_name = cell("full_name") or " ".join(part for part in (first, last) if part)
    login, made = cell("login"), False
    if not login:
        login, made = made_login(first, last, lambda n: taken(n) or n in in_file), True
    row = RosterRow(line, login, full_name, _groups(cell("groups")), cell("password") or None,
                    cell("shell") or None, made_login=made)  # fmt: skip
    if not login:
        row.problems.append("No login, and no first or last name to make one from.")
    elif login in in_file:
        row.problems.append(f"The login {login!r} is in the file more than once.")
    return row
