"""Logging in to the WMI: rate limits, password check, audit, server-side session.

Shared by the JSON login (``POST /api/v1/session``) and the HTML form (``POST /login/``).

Every attempt is counted *before* its password is checked, in one atomic step, so that
concurrent guesses cannot all pass a check made before any of them is counted: the
eleventh attempt in a window is refused whatever arrived at the same time. Two counters:
per login and address (``FAILURE_LIMIT``), and per address across logins
(``ADDRESS_LIMIT``), against one address spraying many logins. A success forgives its
own attempt: the login's counter is reset, the address's given back one.

A failed login is audited once per burst: the first failure of a login from an address
inserts a row, later ones in the window update its count (in the row's ``detail``), so an
anonymous caller adds at most one row per login and address per window.
"""

from __future__ import annotations

import re
from datetime import timedelta

import redis
from fastapi import Response
from redis.exceptions import LockError
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from services.api.core import passwords
from services.common import keys
from services.common.db import Admin, AuditEntry, utcnow
from services.common.sessions import COOKIE, Session, open_session

FAILURE_LIMIT = 10
ADDRESS_LIMIT = 50
FAILURE_WINDOW = 300
# One message for an unknown login and a wrong password: it must not tell which logins exist.
WRONG = "Wrong login or password."
DISABLED = "This WMI account is disabled: ask another administrator to enable it."
LIMITED = "Too many failed logins for this account from your address: wait a few minutes, then try again."
ADDRESS_LIMITED = "Too many failed logins from your address: wait a few minutes, then try again."
BUSY = "The WMI is checking too many passwords at once: try again in a moment."
WRONG_REASON = "wrong login or password"
DISABLED_REASON = "account disabled"

# Gives back one attempt, but never makes a counter that expired meanwhile (which would
# then live without a TTL, at -1).
_GIVE_BACK = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"
_COUNT = re.compile(r", (\d+) times?$")


class LoginRefused(Exception):
    def __init__(self, status_code: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.retry_after = retry_after


def _audit(db: DbSession, login: str, outcome: str, detail: str | None = None) -> None:
    db.add(AuditEntry(actor=login, action="session.login", target=login, outcome=outcome, detail=detail))
    db.commit()


def _count_attempt(client: redis.Redis, login: str, address: str) -> None:
    """Count this attempt on both counters at once; refuse it if either is over its limit."""
    per_login, per_address = keys.login_failures(login, address), keys.address_failures(address)
    pipe = client.pipeline(transaction=True)
    pipe.incr(per_login)
    # Each window starts at its first attempt; later ones do not extend it.
    pipe.expire(per_login, FAILURE_WINDOW, nx=True)
    pipe.incr(per_address)
    pipe.expire(per_address, FAILURE_WINDOW, nx=True)
    pipe.ttl(per_login)
    pipe.ttl(per_address)
    login_count, _, address_count, _, login_ttl, address_ttl = pipe.execute()
    if login_count > FAILURE_LIMIT:
        raise LoginRefused(429, LIMITED, retry_after=max(int(login_ttl), 1))
    if address_count > ADDRESS_LIMIT:
        raise LoginRefused(429, ADDRESS_LIMITED, retry_after=max(int(address_ttl), 1))


def _forgive(client: redis.Redis, login: str, address: str) -> None:
    client.delete(keys.login_failures(login, address))
    client.eval(_GIVE_BACK, 1, keys.address_failures(address))


def _burst_detail(reason: str, address: str, count: int) -> str:
    return f"{reason} from {address}, {count} {'time' if count == 1 else 'times'}"


def _record_failure(db: DbSession, login: str, address: str, reason: str) -> None:
    """Add one failure to the open burst's row of this login, address and reason, or open one."""
    prefix = f"{reason} from {address}, "
    row = db.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.action == "session.login",
            AuditEntry.outcome == "failed",
            AuditEntry.actor == login,
            AuditEntry.at >= utcnow() - timedelta(seconds=FAILURE_WINDOW),
            AuditEntry.detail.startswith(prefix, autoescape=True),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    found = _COUNT.search(row.detail or "") if row is not None else None
    if row is None or found is None:
        _audit(db, login, "failed", _burst_detail(reason, address, 1))
        return
    row.detail = _burst_detail(reason, address, int(found.group(1)) + 1)
    db.commit()


def _audit_failure(db: DbSession, client: redis.Redis, login: str, address: str, reason: str) -> None:
    # Concurrent failures of one burst take turns, so that none is lost nor opens a second row.
    try:
        with client.lock(keys.login_audit_lock(login, address), timeout=10, blocking_timeout=5):
            _record_failure(db, login, address, reason)
    except LockError:
        # Lock lost or never had: the failure is still recorded, at worst in a row of its own.
        _record_failure(db, login, address, reason)


def _check_password(gate: passwords.PasswordGate, admin: Admin | None, password: str) -> bool:
    try:
        with gate.turn():
            right = passwords.verify_admin_password(admin.password_hash if admin else None, password)
            if right and admin is not None and passwords.admin_hash_needs_update(admin.password_hash):
                admin.password_hash = passwords.hash_admin_password(password)
            return right
    except passwords.ChecksBusy:
        # The attempt stays counted: hammering a busy server earns no extra guesses.
        raise LoginRefused(503, BUSY, retry_after=1) from None


def log_in(
    db: DbSession,
    client: redis.Redis,
    gate: passwords.PasswordGate,
    login: str,
    password: str,
    address: str,
    ttl: int,
) -> tuple[str, Session]:
    """Check a login and open its session; returns the cookie's token and the session."""
    # Counted before the password, so that a locked-out guesser does not even cost an argon2 run.
    _count_attempt(client, login, address)
    admin = db.scalar(select(Admin).where(Admin.login == login))
    if not _check_password(gate, admin, password) or admin is None:
        _audit_failure(db, client, login, address, WRONG_REASON)
        raise LoginRefused(401, WRONG)
    if admin.disabled:
        _audit_failure(db, client, login, address, DISABLED_REASON)
        raise LoginRefused(401, DISABLED)
    _forgive(client, login, address)
    token, session = open_session(client, admin.login, admin.role, ttl)
    _audit(db, login, "succeeded")
    return token, session


def set_cookie(response: Response, token: str, ttl: int) -> None:
    response.set_cookie(COOKIE, token, max_age=ttl, path="/", secure=True, httponly=True, samesite="strict")


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
