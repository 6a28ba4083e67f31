"""Logging in to the WMI: rate limit, password check, audit, server-side session.

Shared by the JSON login (``POST /api/v1/session``) and the HTML form (``POST /login/``).
"""

from __future__ import annotations

import redis
from fastapi import Response
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from services.api.core import passwords
from services.common import keys
from services.common.db import Admin, AuditEntry
from services.common.sessions import COOKIE, Session, open_session

FAILURE_LIMIT = 10
FAILURE_WINDOW = 300
# One message for an unknown login and a wrong password: it must not tell which logins exist.
WRONG = "Wrong login or password."
DISABLED = "This WMI account is disabled: ask another administrator to enable it."
LIMITED = "Too many failed logins for this account from your address: wait a few minutes, then try again."


class LoginRefused(Exception):
    def __init__(self, status_code: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.retry_after = retry_after


def _audit(db: DbSession, login: str, outcome: str, detail: str | None = None) -> None:
    db.add(AuditEntry(actor=login, action="session.login", target=login, outcome=outcome, detail=detail))
    db.commit()


def _count_failure(client: redis.Redis, key: str) -> None:
    pipe = client.pipeline()
    pipe.incr(key)
    # The window starts at the first failure; later failures do not extend it.
    pipe.expire(key, FAILURE_WINDOW, nx=True)
    pipe.execute()


def _check_rate(client: redis.Redis, key: str) -> None:
    pipe = client.pipeline()
    pipe.get(key)
    pipe.ttl(key)
    count, ttl = pipe.execute()
    if count is not None and int(count) >= FAILURE_LIMIT:
        raise LoginRefused(429, LIMITED, retry_after=max(int(ttl), 1))


def log_in(
    db: DbSession, client: redis.Redis, login: str, password: str, address: str, ttl: int
) -> tuple[str, Session]:
    """Check a login and open its session; returns the cookie's token and the session."""
    key = keys.login_failures(login, address)
    # Checked before the password, so that a locked-out guesser does not even cost an argon2 run.
    _check_rate(client, key)
    admin = db.scalar(select(Admin).where(Admin.login == login))
    if not passwords.verify_admin_password(admin.password_hash if admin else None, password) or admin is None:
        _count_failure(client, key)
        _audit(db, login, "failed", "wrong login or password")
        raise LoginRefused(401, WRONG)
    if admin.disabled:
        _audit(db, login, "failed", "account disabled")
        raise LoginRefused(401, DISABLED)
    if passwords.admin_hash_needs_update(admin.password_hash):
        admin.password_hash = passwords.hash_admin_password(password)
    client.delete(key)
    token, session = open_session(client, admin.login, admin.role, ttl)
    _audit(db, login, "succeeded")
    return token, session


def set_cookie(response: Response, token: str, ttl: int) -> None:
    response.set_cookie(COOKIE, token, max_age=ttl, path="/", secure=True, httponly=True, samesite="strict")


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
