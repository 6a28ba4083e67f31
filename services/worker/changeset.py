"""A change set: one or many account changes applied to a host in one go, each with its own outcome.

1. What can be checked without the files' lock is: the host can take a change at all
   (:mod:`preflight`), and the homes to archive are archived (archiving a big home takes
   long, and a tool run by hand meanwhile would give up waiting for the lock).
2. Under the account files' lock (:mod:`pwlock`), as the shadow tools hold it: the files
   are read (or taken from memory when unchanged), each change is made in memory in
   the order given — one that is refused is undone alone, the others stand — and the
   files are written back once, all or nothing (:mod:`accountfiles`).
3. After the lock: the homes of new users are made from the host's skel, those of
   deleted users removed, and the name caches of a real host (nscd, sssd) told.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from services.common import actions
from services.common.actions import Action
from services.worker import accountfiles, archive, defaults, homes, hostfiles, preflight, pwlock
from services.worker.accountfiles import AccountFiles, Table
from services.worker.checks import ToolError
from services.worker.defaults import Defaults
from services.worker.edits import EDITS, Context, Done

log = logging.getLogger(__name__)
NOT_WRITTEN = "The account files could not be written ({why}): nothing was changed."


@dataclass(frozen=True)
class Item:
    """One change of a set: the job that asked for it, its action and parameters."""

    job: str
    action: Action
    params: BaseModel
    # Its row when the job is a batch of many changes (services/worker/batches.py).
    row: int | None = None


@dataclass
class Outcome:
    item: Item
    done: Done | None = None
    error: str | None = None

    @property
    def result(self) -> str | None:
        return self.done.result if self.done is not None and self.error is None else None


@dataclass(frozen=True)
class Host:
    name: str
    sysroot: Path
    archive_dir: Path
    manage_system_accounts: bool = False


def _creates_home(items: list[Item]) -> bool:
    return any(isinstance(i.params, actions.UserCreate) and i.params.create_home for i in items)


def _context(host: Host) -> Context:
    etc = host.sysroot / "etc"
    return Context(
        defaults=defaults.read(etc),
        sysroot=host.sysroot,
        shells=hostfiles.shells(etc),
        manage_system_accounts=host.manage_system_accounts,
    )


def _archive_homes(host: Host, ctx: Context, items: list[Item], outcomes: dict[int, Outcome]) -> None:
    """Archive the homes of users to delete "archive"; an archive that fails fails its change."""
    wanted = [(n, i.params) for n, i in enumerate(items) if isinstance(i.params, actions.UserDelete)]
    wanted = [(n, p) for n, p in wanted if isinstance(p, actions.UserDelete) and p.home == "archive"]
    if not wanted:
        return
    passwd = Table.parse("passwd", (host.sysroot / "etc" / "passwd").read_bytes())
    for n, params in wanted:
        assert isinstance(params, actions.UserDelete)
        entry = passwd.get(params.login)
        if entry is None or len(entry) < 7 or not entry[2].isdigit():
            continue  # the edit says what is wrong, in the tool's words
        try:
            where = archive.removable_home(host.sysroot, entry[5])
            ctx.archived[params.login] = (
                archive.archive_home(where, host.archive_dir, host.name, params.login)
                if where.is_dir()
                else None
            )
        except ToolError as exc:
            outcomes[n] = Outcome(items[n], error=str(exc))
        except OSError as exc:
            # Nothing is deleted yet: the user and the home stay as they were.
            outcomes[n] = Outcome(items[n], error=f"The home {entry[5]} could not be archived: {exc}")


def _edit(files: AccountFiles, ctx: Context, item: Item) -> Outcome:
    savepoint = files.savepoint()
    try:
        return Outcome(item, done=EDITS[item.action](files, ctx, item.params))
    except ToolError as exc:
        files.rollback(savepoint)
        return Outcome(item, error=str(exc))
    except Exception:
        files.rollback(savepoint)
        log.exception("job %s: the change %s failed unexpectedly", item.job, item.action)
        return Outcome(item, error="The worker failed unexpectedly; its log says why.")


def _write(host: Host, ctx: Context, items: list[Item], outcomes: dict[int, Outcome]) -> AccountFiles | None:
    """Under the lock: every change not already failed, made in memory, then written; the
    files as written (None when they could not be)."""
    etc = host.sysroot / "etc"
    with pwlock.locked(etc):
        accountfiles.recover(etc)
        files = accountfiles.read(etc)
        for n, item in enumerate(items):
            if n not in outcomes:
                outcomes[n] = _edit(files, ctx, item)
        try:
            accountfiles.write(files)
        except OSError as exc:
            accountfiles.forget(etc)
            for outcome in outcomes.values():
                if outcome.error is None:
                    outcome.error, outcome.done = NOT_WRITTEN.format(why=exc.strerror or exc), None
            return None
    return files


def _after(host: Host, maker: Callable[[], homes.Homes], outcome: Outcome) -> None:
    """The homes of one change, once its lines are written; a failure here is its error."""
    done = outcome.done
    if done is None or outcome.error is not None:
        return
    try:
        if done.make_home is not None:
            home = done.make_home
            try:
                maker().make(home.path, home.uid, home.gid)
            except homes.HomeExists as exc:
                done.result = f"{done.result}; {exc}"
        if done.remove_home is not None and done.remove_home.is_dir():
            shutil.rmtree(done.remove_home)
        if done.remove_mail is not None:
            (host.sysroot / "var" / "mail" / done.remove_mail).unlink(missing_ok=True)
    except (ToolError, OSError) as exc:
        outcome.error = f"{done.result}, but: {exc}"


def invalidate_caches(sysroot: Path) -> None:
    """A real host's name service caches forget the accounts (a sandbox has none)."""
    if sysroot.resolve() != Path("/"):
        return
    for argv in (["nscd", "-i", "passwd", "-i", "group"], ["sss_cache", "-U", "-G"]):
        found = shutil.which(argv[0], path="/usr/sbin:/usr/bin:/sbin:/bin")
        if found is not None:
            subprocess.run([found, *argv[1:]], capture_output=True, timeout=10, check=False)


@dataclass(frozen=True)
class Applied:
    """A change set's outcomes, in the order of its items, and the files as it left them."""

    outcomes: list[Outcome]
    files: AccountFiles | None = None
    defaults: Defaults | None = None


# How often a set's caller hears how far the homes have got (``progressed``), in items.
PROGRESS_EVERY = 100


def apply(
    host: Host,
    items: list[Item],
    written: Callable[[Applied], None] | None = None,
    progressed: Callable[[int], None] | None = None,
) -> Applied:
    """Apply ``items`` in order; ``written`` is told as soon as the files are, before the
    homes are made (a thousand homes take longer than the accounts: the accounts exist,
    and can be announced, once their lines are written); ``progressed`` is told, every
    PROGRESS_EVERY items and at the end, how many items are done, homes included."""
    try:
        preflight.check(host.sysroot, creates_home=_creates_home(items))
    except ToolError as exc:
        return Applied([Outcome(item, error=str(exc)) for item in items])
    ctx = _context(host)
    outcomes: dict[int, Outcome] = {}
    _archive_homes(host, ctx, items, outcomes)
    try:
        files = _write(host, ctx, items, outcomes)
    except pwlock.Busy as exc:
        return Applied([outcomes.get(n) or Outcome(item, error=str(exc)) for n, item in enumerate(items)])
    invalidate_caches(host.sysroot)
    ordered = [outcomes[n] for n in range(len(items))]
    if written is not None:
        written(Applied(ordered, files, ctx.defaults))
    maker = functools.cache(lambda: homes.Homes(host.sysroot, ctx.defaults))
    for number, outcome in enumerate(ordered, 1):
        _after(host, maker, outcome)
        if progressed is not None and (number % PROGRESS_EVERY == 0 or number == len(ordered)):
            progressed(number)
    return Applied(ordered, files, ctx.defaults)
