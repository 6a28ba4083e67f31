"""The last checks of a value before it is written into the host's account files.

The api checked every value first; the worker checks again what it writes (a job may have
been sent by an older api, or by hand): a name as ``useradd`` accepts it, a full name and a
shell that cannot break a line of passwd, a crypt hash that cannot break a line of shadow.
A refusal is a :class:`ToolError`, whose message is shown as the job's error.
"""

from __future__ import annotations

from services.common import names


class ToolError(Exception):
    """A change refused or failed; the message is fit to show as the job's error (in the
    shadow tool's own words where the tool would have refused it)."""


def check_name(name: str, what: str = "login") -> str:
    problem = names.name_problem(name, what)
    if problem:
        raise ToolError(problem)
    return name


def check_full_name(full_name: str) -> str:
    problem = names.full_name_problem(full_name)
    if problem:
        raise ToolError(problem)
    return full_name


def check_hash(password_hash: str) -> str:
    # A crypt hash never holds ':' or a newline, which would corrupt /etc/shadow.
    if not password_hash or password_hash.startswith("-") or any(c in password_hash for c in ":\n\r"):
        raise ToolError("The password hash is not a crypt(3) hash.")
    return password_hash


def check_gid(gid: int) -> str:
    if gid < 0:
        raise ToolError(f"The gid {gid} is negative.")
    return str(gid)
