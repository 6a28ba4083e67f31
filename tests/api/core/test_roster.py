"""Roster files as spreadsheets write them (services/api/core/roster.py): encodings,
separators, headers, logins made from names, rows that cannot be read."""

from __future__ import annotations

import pytest

from services.api.core import roster
from services.api.core.roster import RosterError, made_login, read


def _nobody(_login: str) -> bool:
    return False


def test_utf8_with_a_bom_and_commas() -> None:
    raw = "\ufefflogin,full_name,groups\nzoe,Zoë Ørsted,users audio\nbob,Bob,\n".encode()
    found = read(raw, _nobody)
    assert (found.encoding, found.separator, found.columns) == (
        "utf-8",
        ",",
        ["login", "full_name", "groups"],
    )
    assert [(r.line, r.login, r.full_name, r.groups) for r in found.rows] == [
        (2, "zoe", "Zoë Ørsted", ["users", "audio"]), (3, "bob", "Bob", [])
    ]  # fmt: skip


def test_windows_1252_with_semicolons_and_spreadsheet_headers() -> None:
    raw = "Prénom;Last Name;First Name;Groups;Password\r\n;Lefèvre;Hélène;6b;\r\n".encode("cp1252")
    found = read(raw, _nobody)
    assert (found.encoding, found.separator) == ("windows-1252", ";")
    assert found.unknown_columns == ["prénom"]
    [row] = found.rows
    assert (row.login, row.full_name, row.groups, row.password, row.made_login) == (
        "helene_lefevre", "Hélène Lefèvre", ["6b"], None, True
    )  # fmt: skip


def test_the_login_rule() -> None:
    assert made_login("Zoë", "Le Bœuf", _nobody) == "zoe_le-boeuf"
    assert made_login("Jürgen", "Groß", _nobody) == "jurgen_gross"
    assert made_login("", "N'Diaye", _nobody) == "n-diaye"
    assert made_login("42", "Ann", _nobody) == "u42_ann"
    assert made_login("李", "王", _nobody) == ""
    long = made_login("Maximiliana-Theodora", "Wolfeschlegelsteinhausen", _nobody)
    assert len(long) <= 32 and long.startswith("maximiliana-theodora_wolfe")
    taken = {"ann_lee", "ann_lee2"}
    assert made_login("Ann", "Lee", taken.__contains__) == "ann_lee3"
    assert made_login("A" * 40, "", lambda n: n == "a" * 32) == "a" * 31 + "2"  # the number replaces the end


def test_duplicates_and_rows_without_a_name_are_reported_not_dropped() -> None:
    raw = b"login,first_name,last_name\nann,,\nann,,\n,Ann,Lee\n,Ann,Lee\n,,\n,,\n"
    found = read(raw, lambda login: login == "ann_lee")  # already on the host
    assert [(r.line, r.login, r.problems) for r in found.rows] == [
        (2, "ann", []),
        (3, "ann", ["The login 'ann' is in the file more than once."]),
        (4, "ann_lee2", []),
        (5, "ann_lee3", []),
    ]  # the two empty lines are no rows


def test_a_file_that_is_no_roster_is_refused_whole() -> None:
    for raw in (b"", b"\n\n", b"shell,groups\n/bin/sh,users\n", b"\xff\xfe\x00\x81\x8d\x8f\x90"):
        with pytest.raises(RosterError):
            read(raw, _nobody)


def test_ten_thousand_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["first_name;last_name"] + [f"Élève{i % 100};Famille{i // 100}" for i in range(10_000)]
    found = read("\n".join(lines).encode("cp1252"), _nobody)
    assert len(found.rows) == 10_000 and len({r.login for r in found.rows}) == 10_000
    monkeypatch.setattr(roster, "MAX_ROWS", 9_999)
    with pytest.raises(RosterError, match="more than 9,999 rows"):
        read("\n".join(lines).encode("cp1252"), _nobody)
