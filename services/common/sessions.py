"""Server-side sessions in Redis, shared by the api (which opens them) and events (which checks them).

The cookie holds a random token; Redis holds only its SHA-256, so a copy of Redis
gives nobody a usable session.
"""

from __future__ import annotations

import hashlib
import secrets

import orjson
import redis
import redis.asyncio
from pydantic import BaseModel

from services.common import keys

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
