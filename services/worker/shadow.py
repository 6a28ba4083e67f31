"""The host's own shadow-utils, run with ``--prefix SYSROOT``: argument lists, never a shell.

Every name is checked again here before it reaches a tool (the api checked it first):
a value starting with '-' must never be read as an option.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from services.common import names
from services.worker import hostfiles

log = logging.getLogger(__name__)

# Fixed, so that neither the caller's PATH nor its locale changes what runs or what it says.
TOOL_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
TOOL_ENV = {"PATH": TOOL_PATH, "LC_ALL": "C"}
TIMEOUT = 120.0


class ToolError(Exception):
    """A tool failed; the message is its own error text, fit to show as the job's error."""


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


def check_shell(sysroot: Path, shell: str) -> str:
    problem = names.shell_problem(shell, hostfiles.shells(sysroot / "etc"))
    if problem:
        raise ToolError(problem)
    return shell


def check_gid(gid: int) -> str:
    if gid < 0:
        raise ToolError(f"The gid {gid} is negative.")
    return str(gid)


def run(tool: str, sysroot: Path, args: list[str]) -> str:
    """Run ``tool --prefix SYSROOT ARGS``; return its warnings, raise ToolError with its stderr if it fails.

    The arguments are never logged: one of them may be a password hash.
    """
    binary = shutil.which(tool, path=TOOL_PATH)
    if binary is None:
        raise ToolError(f"{tool} is not installed on this host.")
    argv = [binary, "--prefix", str(sysroot), *args]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT, env=TOOL_ENV, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{tool} did not finish within {TIMEOUT:.0f} seconds.") from exc
    if done.returncode != 0:
        text = done.stderr.strip() or done.stdout.strip()
        log.info("%s failed with status %d", tool, done.returncode)
        raise ToolError(text or f"{tool} failed with status {done.returncode}.")
    return done.stderr.strip()


def useradd(
    sysroot: Path,
    login: str,
    *,
    full_name: str,
    shell: str | None,
    create_home: bool,
    groups: list[str],
    password_hash: str | None,
) -> None:
    args = ["-m", "-k", str(sysroot / "etc" / "skel")] if create_home else ["-M"]
    args += ["-c", check_full_name(full_name)]
    if shell:
        args += ["-s", check_shell(sysroot, shell)]
    if groups:
        args += ["-G", ",".join(check_name(g, "group name") for g in groups)]
    if password_hash:
        args += ["-p", check_hash(password_hash)]
    run("useradd", sysroot, [*args, "--", check_name(login)])


def usermod(sysroot: Path, login: str, options: list[str]) -> str:
    return run("usermod", sysroot, [*options, "--", check_name(login)])


def set_identity(sysroot: Path, login: str, full_name: str | None, shell: str | None) -> None:
    options = []
    if full_name is not None:
        options += ["-c", check_full_name(full_name)]
    if shell is not None:
        options += ["-s", check_shell(sysroot, shell)]
    if options:
        usermod(sysroot, login, options)


def add_to_groups(sysroot: Path, login: str, groups: list[str]) -> None:
    if groups:
        usermod(sysroot, login, ["-a", "-G", ",".join(check_name(g, "group name") for g in groups)])


def remove_from_groups(sysroot: Path, login: str, groups: list[str]) -> None:
    # usermod -r keeps group and gshadow consistent; groupmod -U leaves gshadow stale.
    if groups:
        usermod(sysroot, login, ["-r", "-G", ",".join(check_name(g, "group name") for g in groups)])


def set_password(sysroot: Path, login: str, password_hash: str) -> None:
    usermod(sysroot, login, ["-p", check_hash(password_hash)])


def lock(sysroot: Path, login: str) -> None:
    usermod(sysroot, login, ["-L"])


def unlock(sysroot: Path, login: str) -> None:
    said = usermod(sysroot, login, ["-U"])
    # usermod -U refuses to leave an account without a password, yet exits with 0.
    if hostfiles.shadow_hash(sysroot / "etc", login).startswith("!"):
        raise ToolError(said or f"usermod left {login} locked.")


def userdel(sysroot: Path, login: str, *, remove_home: bool) -> None:
    run("userdel", sysroot, [*(["-r"] if remove_home else []), "--", check_name(login)])


def groupadd(sysroot: Path, name: str, gid: int | None) -> None:
    run(
        "groupadd",
        sysroot,
        [*(["-g", check_gid(gid)] if gid is not None else []), "--", check_name(name, "group name")],
    )


def groupdel(sysroot: Path, name: str) -> None:
    run("groupdel", sysroot, ["--", check_name(name, "group name")])
