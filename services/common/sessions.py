"""Server-side sessions in Redis, shared by the api (which opens them) and events (which checks them).

The cookie holds a random token; Redis holds only its SHA-256, so a copy of Redis
gives nobody a usable session. Nor is Redis trusted to say who a session is: see
:class:`AccountCheck`.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from typing import Any

import orjson
import redis
import redis.asyncio
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common import keys
from services.common.db import Admin

COOKIE = "wmi_session"


class Session(BaseModel):
    login: str
    role: str
    csrf_token: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(client: redis.Redis, login: str, role: str, ttl: int) -> tuple[str, Session]:
    """A new session; returns the cookie's token and the session."""
    token = secrets.token_urlsafe(32)
    session = Session(login=login, role=role, csrf_token=secrets.token_urlsafe(32))
    key = digest(token)
    pipe = client.pipeline()
    pipe.set(keys.session(key), session.model_dump_json(), ex=ttl)
    pipe.sadd(keys.sessions_of(login), key)
    pipe.expire(keys.sessions_of(login), ttl)
    pipe.execute()
    return token, session


def read_session(client: redis.Redis, token: str | None) -> Session | None:
    if not token:
        return None
    raw = client.get(keys.session(digest(token)))
    return Session.model_validate(orjson.loads(raw)) if raw else None


async def read_session_async(client: redis.asyncio.Redis, token: str | None) -> Session | None:
    if not token:
        return None
    raw = await client.get(keys.session(digest(token)))
    return Session.model_validate(orjson.loads(raw)) if raw else None


def end_session(client: redis.Redis, token: str, login: str) -> None:
    key = digest(token)
    pipe = client.pipeline()
    pipe.delete(keys.session(key))
    pipe.srem(keys.sessions_of(login), key)
    pipe.publish(keys.SESSIONS_ENDED_CHANNEL, key)
    pipe.execute()


def end_all_sessions(client: redis.Redis, login: str) -> int:
    """End every session of one account at once (it was disabled, or its role changed)."""
    digests = [d.decode() for d in client.smembers(keys.sessions_of(login))]  # type: ignore[union-attr]
    pipe = client.pipeline()
    for key in digests:
        pipe.delete(keys.session(key))
    pipe.delete(keys.sessions_of(login))
    if digests:
        pipe.publish(keys.SESSIONS_ENDED_CHANNEL, ",".join(digests))
    pipe.execute()
    return len(digests)


class AccountCheck:
    """Whether a session's account, per the database, still exists, is enabled and has its role.

    Anyone who can write to Redis can write a session, and a session outlives an account
    disabled or demoted other than through the api (which ends its sessions): so every use
    of a session is checked against the account's row. The answer is kept ``ttl`` seconds
    per login, which bounds both the database's load and how long such a session survives.
    """

    def __init__(self, db_sessions: sessionmaker[Any], ttl: float, size: int = 4096) -> None:
        self._db_sessions = db_sessions
        self._ttl = ttl
        # Forged sessions may name any login: the memo is emptied rather than allowed to grow.
        self._size = size
        self._roles: dict[str, tuple[float, str | None]] = {}

    def _lookup(self, login: str) -> str | None:
        with self._db_sessions() as db:
            row = db.execute(select(Admin.role, Admin.disabled).where(Admin.login == login)).first()
        return None if row is None or row.disabled else str(row.role)

    def _agrees(self, session: Session) -> bool:
        """The account had the session's role less than ``ttl`` seconds ago.

        Only an agreement is trusted from memory: a disagreement is asked again at once, so
        that an account promoted or enabled a moment ago is not refused on a stale answer.
        """
        known = self._roles.get(session.login)
        return known is not None and known[0] > time.monotonic() and known[1] == session.role

    def role_of(self, login: str) -> str | None:
        """The account's role, or None when it does not exist or is disabled (blocking: a thread's)."""
        role = self._lookup(login)
        if len(self._roles) >= self._size:
            self._roles.clear()
        self._roles[login] = (time.monotonic() + self._ttl, role)
        return role

    def holds(self, session: Session) -> bool:
        return self._agrees(session) or self.role_of(session.login) == session.role

    async def holds_async(self, session: Session) -> bool:
        if self._agrees(session):
            return True
        return await asyncio.to_thread(self.role_of, session.login) == session.role
