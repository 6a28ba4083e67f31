"""What a login, group name, full name and shell may be: every rule, its edge on each side."""

from __future__ import annotations

import pytest

from services.common.names import (
    FULL_NAME_MAX,
    NAME_MAX,
    full_name_problem,
    name_problem,
    option_problem,
    shell_problem,
    unprintable_problem,
)

SHELLS = ["/bin/sh", "/bin/bash", "/usr/sbin/nologin"]


@pytest.mark.parametrize(
    "name",
    ["a", "alice", "_svc", "a-b_c9", "machine$", "x" * NAME_MAX, "a" + "0" * (NAME_MAX - 1)],
)
def test_names_as_adduser_takes_them(name: str) -> None:
    assert name_problem(name) is None
    assert name_problem(name, "group name") is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "The login is empty."),
        ("x" * (NAME_MAX + 1), f"The login has {NAME_MAX + 1} characters; at most {NAME_MAX} are allowed."),
        ("Alice", "'Alice' is not allowed"),
        ("1abc", "'1abc' is not allowed"),
        ("-rf", "'-rf' is not allowed"),
        ("a b", "is not allowed"),
        ("a:b", "is not allowed"),
        ("a.b", "is not allowed"),
        ("a$b", "is not allowed"),  # '$' only at the end
        ("a$$", "is not allowed"),
        ("élodie", "is not allowed"),
        ("a\n", "is not allowed"),
        ("../etc", "is not allowed"),
    ],
)
def test_names_that_are_not_allowed_say_why(name: str, words: str) -> None:
    problem = name_problem(name)
    assert problem is not None and words in problem and problem.endswith(".")


def test_the_problem_names_what_was_checked() -> None:
    assert name_problem("", "group name") == "The group name is empty."
    assert "The group name 'Bad' is not allowed" in (name_problem("Bad", "group name") or "")


@pytest.mark.parametrize("value", ["-x", "--prefix=/", "-"])
def test_a_value_starting_with_a_dash_would_be_read_as_an_option(value: str) -> None:
    assert option_problem(value, "shell") == (
        "The shell cannot start with '-', which a tool would read as an option."
    )


def test_a_dash_inside_a_value_is_no_option() -> None:
    assert option_problem("a-b", "full name") is None


@pytest.mark.parametrize(
    ("char", "code"),
    [("\n", "000A"), ("\r", "000D"), ("\x00", "0000"), ("\x1b", "001B"), ("\u2028", "2028"),
     ("\u2029", "2029"), ("\u200b", "200B"), ("\ue000", "E000"), ("\x7f", "007F")],
)  # fmt: skip
def test_invisible_characters_are_refused_by_their_code_point(char: str, code: str) -> None:
    problem = unprintable_problem(f"Ann{char}Lee", "full name")
    assert (
        problem is not None and problem.startswith("The full name cannot contain") and f"U+{code}" in problem
    )


@pytest.mark.parametrize("value", ["Ann Lee", "Zoë Ł", "李小龍", "O'Brien (Room 4)"])
def test_printable_text_in_any_script_is_fine(value: str) -> None:
    assert unprintable_problem(value, "full name") is None
    assert full_name_problem(value) is None


@pytest.mark.parametrize(
    ("full_name", "words"),
    [
        ("x" * (FULL_NAME_MAX + 1), f"at most {FULL_NAME_MAX} are allowed"),
        ("Ann:0:0", "cannot contain ':'"),
        ("Ann,Room 4", "cannot contain ','"),
        ("Ann\nroot", "U+000A"),
        ("-Ann", "cannot start with '-'"),
    ],
)
def test_full_names_that_would_break_the_passwd_line(full_name: str, words: str) -> None:
    problem = full_name_problem(full_name)
    assert problem is not None and words in problem


def test_the_longest_full_name_and_an_empty_one_are_fine() -> None:
    assert full_name_problem("x" * FULL_NAME_MAX) is None
    assert full_name_problem("") is None


def test_a_shell_must_be_listed_in_the_hosts_etc_shells() -> None:
    assert shell_problem("/bin/bash", SHELLS) is None
    assert (
        shell_problem("/bin/zsh", SHELLS) == "The shell '/bin/zsh' is not listed in the host's /etc/shells."
    )


def test_an_option_or_an_invisible_character_is_refused_even_if_the_host_lists_it() -> None:
    """A host's /etc/shells is no reason to let an option into an argv."""
    assert "cannot start with '-'" in (shell_problem("-c", ["-c"]) or "")
    assert "U+000A" in (shell_problem("/bin/sh\n", ["/bin/sh\n"]) or "")
