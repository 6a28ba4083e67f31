"""The host's own shadow-utils, run with ``--prefix SYSROOT``: argument lists, never a shell.

Every name is checked again here before it reaches a tool (the api checked it first):
a value starting with '-' must never be read as an option. The tools scan their whole
argv for ``--root``/``-R``/``--prefix``/``-P`` before parsing it, so neither ``--`` nor an
option's argument position protects a value: :func:`run` takes each option's flag apart
from its values and refuses any value that starts with '-'.

A password hash never goes into an argv (any process may read /proc/PID/cmdline): it
reaches ``chpasswd -e`` on its standard input.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from services.common import names
from services.worker import hostfiles

log = logging.getLogger(__name__)

# Fixed, so that neither the caller's PATH nor its locale changes what runs or what it says.
TOOL_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
TOOL_ENV = {"PATH": TOOL_PATH, "LC_ALL": "C"}
TIMEOUT = 120.0

# The only flags WMI2 passes, each with how many values it takes: a flag is always one of
# these literals, never a value, and never left to swallow the next element as its value.
FLAGS = {
    **dict.fromkeys(("-c", "-g", "-G", "-k", "-s"), 1),
    **dict.fromkeys(("-a", "-e", "-L", "-m", "-M", "-r", "-U"), 0),
}

# An option: its flag, then the values it takes (each one possibly from a user).
Option = tuple[str, ...]


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
    # A crypt hash never holds ':' or a newline, which would corrupt /etc/shadow (and
    # chpasswd's input, one "login:hash" a line).
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


def _argv(options: Sequence[Option], operand: str | None) -> list[str]:
    """The options and the operand as argv elements, refusing anything a tool could read as
    an option where a value belongs: the last guard, whatever the callers checked."""
    argv: list[str] = []
    for flag, *values in options:
        if FLAGS.get(flag) != len(values):
            raise ToolError(f"{flag!r} with {len(values)} value(s) is not an option WMI2 passes to a tool.")
        for value in values:
            if value.startswith("-"):
                raise ToolError(f"{value!r} (after {flag}) starts with '-', which a tool reads as an option.")
        argv += [flag, *values]
    if operand is not None:
        if not operand or operand.startswith("-"):
            raise ToolError(f"{operand!r} cannot be given to a tool: it is empty or starts with '-'.")
        argv += ["--", operand]
    return argv


def dying_with_caller(argv: list[str]) -> list[str]:
    """``argv``, run so that the kernel kills it if the thread that started it dies.

    A worker killed mid-job must not leave its tool running on: the tool would finish the
    change after the job was handed to another delivery, and the host lock's take-over of
    a dead holder relies on no writer outliving it. util-linux's ``setpriv`` sets the
    parent-death signal and execs the tool (no ``preexec_fn``, unsafe beside the lock's
    keeper thread).
    """
    setpriv = shutil.which("setpriv", path=TOOL_PATH)
    if setpriv is None:
        raise ToolError("setpriv (util-linux) is not installed on this host: WMI2 needs it to run the tools.")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv]


def run(
    tool: str,
    sysroot: Path,
    options: Sequence[Option],
    operand: str | None = None,
    *,
    stdin: str = "",
    root_option: str = "--prefix",
) -> str:
    """Run ``tool --prefix SYSROOT OPTIONS -- OPERAND``; return its warnings, raise ToolError
    with its stderr if it fails.

    Neither the arguments nor the input are ever logged: the input may hold a password hash.
    """
    binary = shutil.which(tool, path=TOOL_PATH)
    if binary is None:
        raise ToolError(f"{tool} is not installed on this host.")
    argv = dying_with_caller([binary, root_option, str(sysroot), *_argv(options, operand)])
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, env=TOOL_ENV, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{tool} did not finish within {TIMEOUT:.0f} seconds.") from exc
    if done.returncode != 0:
        text = done.stderr.strip() or done.stdout.strip()
        log.info("%s failed with status %d", tool, done.returncode)
        raise ToolError(text or f"{tool} failed with status {done.returncode}.")
    return done.stderr.strip()


def _group_list(groups: list[str]) -> str:
    return ",".join(check_name(g, "group name") for g in groups)


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
    login = check_name(login)
    if password_hash is not None:
        check_hash(password_hash)  # before the account exists, so a bad hash changes nothing
    options: list[Option] = [("-m",), ("-k", str(sysroot / "etc" / "skel"))] if create_home else [("-M",)]
    options.append(("-c", check_full_name(full_name)))
    if shell:
        options.append(("-s", check_shell(sysroot, shell)))
    if groups:
        options.append(("-G", _group_list(groups)))
    run("useradd", sysroot, options, login)
    if password_hash:
        try:
            set_password(sysroot, login, password_hash)
        except ToolError as exc:
            raise ToolError(f"User {login} was created without its password (it has none): {exc}") from exc


def usermod(sysroot: Path, login: str, options: list[Option]) -> str:
    return run("usermod", sysroot, options, check_name(login))


def set_identity(sysroot: Path, login: str, full_name: str | None, shell: str | None) -> None:
    options: list[Option] = []
    if full_name is not None:
        options.append(("-c", check_full_name(full_name)))
    if shell is not None:
        options.append(("-s", check_shell(sysroot, shell)))
    if options:
        usermod(sysroot, login, options)


def add_to_groups(sysroot: Path, login: str, groups: list[str]) -> None:
    if groups:
        usermod(sysroot, login, [("-a",), ("-G", _group_list(groups))])


def remove_from_groups(sysroot: Path, login: str, groups: list[str]) -> None:
    # usermod -r keeps group and gshadow consistent; groupmod -U leaves gshadow stale.
    if groups:
        usermod(sysroot, login, [("-r",), ("-G", _group_list(groups))])


def set_password(sysroot: Path, login: str, password_hash: str) -> None:
    # chpasswd has --root (a chroot) but no --prefix: the sandbox is a real root, so it works.
    line = f"{check_name(login)}:{check_hash(password_hash)}\n"
    run("chpasswd", sysroot, [("-e",)], stdin=line, root_option="--root")


def lock(sysroot: Path, login: str) -> None:
    usermod(sysroot, login, [("-L",)])


def unlock(sysroot: Path, login: str) -> None:
    said = usermod(sysroot, login, [("-U",)])
    # usermod -U refuses to leave an account without a password, yet exits with 0.
    if hostfiles.shadow_hash(sysroot / "etc", login).startswith("!"):
        raise ToolError(said or f"usermod left {login} locked.")


def userdel(sysroot: Path, login: str, *, remove_home: bool) -> None:
    run("userdel", sysroot, [("-r",)] if remove_home else [], check_name(login))


def groupadd(sysroot: Path, name: str, gid: int | None) -> None:
    options: list[Option] = [("-g", check_gid(gid))] if gid is not None else []
    run("groupadd", sysroot, options, check_name(name, "group name"))


def groupdel(sysroot: Path, name: str) -> None:
    run("groupdel", sysroot, [], check_name(name, "group name"))
