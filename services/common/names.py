"""What a login, group name, full name and shell may be: checked by the api, and again by the worker.

Each check returns a sentence a person understands, or ``None`` when the value is fine.
"""

from __future__ import annotations

import re

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


def full_name_problem(full_name: str) -> str | None:
    if len(full_name) > FULL_NAME_MAX:
        return f"The full name has {len(full_name)} characters; at most {FULL_NAME_MAX} are allowed."
    if ":" in full_name:
        return "The full name cannot contain ':', which separates the fields of /etc/passwd."
    if "," in full_name:
        return "The full name cannot contain ',', which separates the GECOS fields (room, phones)."
    if any(ord(c) < 32 or ord(c) == 127 for c in full_name):
        return "The full name cannot contain a newline or another control character."
    return None


def shell_problem(shell: str, shells: list[str]) -> str | None:
    if shell not in shells:
        return f"The shell {shell!r} is not listed in the host's /etc/shells."
    return None
