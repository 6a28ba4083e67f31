"""What a login, group name, full name and shell may be: checked by the api, and again by the worker.

Each check returns a sentence a person understands, or ``None`` when the value is fine.
"""

from __future__ import annotations

import re
import unicodedata

# Debian's adduser NAME_REGEX; the length is useradd's limit on Linux.
NAME_REGEX = re.compile(r"[a-z_][-a-z0-9_]*\$?")
NAME_MAX = 32
FULL_NAME_MAX = 128


def name_problem(name: str, what: str = "login") -> str | None:
    if not name:
        return f"The {what} is empty."
    if len(name) > NAME_MAX:
        return f"The {what} has {len(name)} characters; at most {NAME_MAX} are allowed."
    if not NAME_REGEX.fullmatch(name):
        return (
            f"The {what} {name!r} is not allowed: it must start with a lowercase letter or '_' "
            "and hold only lowercase letters, digits, '-' and '_' (a '$' may end it)."
        )
    return None


def option_problem(value: str, what: str) -> str | None:
    """A value a tool could read as an option: shadow-utils scan their whole argv for
    ``--root``/``-R``/``--prefix``/``-P`` before parsing it, so not even ``--`` protects it."""
    if value.startswith("-"):
        return f"The {what} cannot start with '-', which a tool would read as an option."
    return None


def _unprintable(char: str) -> bool:
    # Control, format, unassigned and private characters, and the line and paragraph
    # separators, which str.splitlines() and many a terminal take for line breaks.
    category = unicodedata.category(char)
    return category.startswith("C") or category in ("Zl", "Zp")


def unprintable_problem(value: str, what: str) -> str | None:
    found = next((c for c in value if _unprintable(c)), None)
    if found is not None:
        return (
            f"The {what} cannot contain a newline, a control character or another invisible "
            f"character (U+{ord(found):04X} here)."
        )
    return None


def full_name_problem(full_name: str) -> str | None:
    if len(full_name) > FULL_NAME_MAX:
        return f"The full name has {len(full_name)} characters; at most {FULL_NAME_MAX} are allowed."
    if ":" in full_name:
        return "The full name cannot contain ':', which separates the fields of /etc/passwd."
    if "," in full_name:
        return "The full name cannot contain ',', which separates the GECOS fields (room, phones)."
    return unprintable_problem(full_name, "full name") or option_problem(full_name, "full name")


def shell_problem(shell: str, shells: list[str]) -> str | None:
    # Checked first: a host's /etc/shells is no reason to let an option into an argv.
    problem = unprintable_problem(shell, "shell") or option_problem(shell, "shell")
    if problem:
        return problem
    if shell not in shells:
        return f"The shell {shell!r} is not listed in the host's /etc/shells."
    return None
