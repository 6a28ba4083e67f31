"""The api service's own tests: a hand-written read model, and a view of what requests left behind.

The fixtures that serve the api are in :mod:`tests.support.api_fixtures`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from services.common import keys
from services.common.accounts import Group, HostInfo, User
from services.common.db import AuditEntry, Job, sessionmaker_for
from services.common.sessions import COOKIE, digest
from services.common.settings import Settings
from services.worker.sandbox import SHELLS, SYSTEM_GROUPS, SYSTEM_USERS

HOST = "apihost"
ADMIN = ("root-admin", "admin-password-1")
VIEWER = ("reader", "viewer-password-1")
DISABLED = ("gone", "disabled-password-1")

# Regular users and groups on top of Debian's base accounts.
PEOPLE: list[User] = [
    User(login="alice", uid=1000, gid=1000, primary_group="alice", full_name="Alice Liddell",
         home="/home/alice", shell="/bin/bash", groups=["users", "audio"], locked=False,
         has_password=True, last_change="2025-01-02", system=False),
    User(login="bob", uid=1001, gid=1001, primary_group="bob", full_name="Bob", home="/home/bob",
         shell="/bin/sh", groups=[], locked=True, has_password=False, last_change=None, system=False),
]  # fmt: skip
TEAMS: list[Group] = [
    Group(name="alice", gid=1000, members=[], system=False),
    Group(name="bob", gid=1001, members=[], system=False),
    Group(name="devs", gid=1002, members=["alice"], system=False),
]


def read_model() -> tuple[list[User], list[Group], HostInfo]:
    users = [
        User(login=n, uid=u, gid=g, primary_group=None, full_name=c, home=h, shell=s, groups=[],
             locked=n == "root", has_password=False, last_change=None, system=True)
        for n, u, g, c, h, s in SYSTEM_USERS
    ] + PEOPLE  # fmt: skip
    members = {"users": ["alice"], "audio": ["alice"]}
    groups = [Group(name=n, gid=g, members=members.get(n, []), system=True) for n, g in SYSTEM_GROUPS] + TEAMS
    info = HostInfo(name=HOST, shells=SHELLS, uid_min=1000, uid_max=60000, gid_min=1000,
                    read_at="2026-01-01T00:00:00+00:00")  # fmt: skip
    return users, groups, info


def write_read_model(client: redis.Redis, host: str = HOST) -> None:
    users, groups, info = read_model()
    pipe = client.pipeline()
    pipe.hset(keys.host_users(host), mapping={u.login: u.model_dump_json() for u in users})
    pipe.hset(keys.host_groups(host), mapping={g.name: g.model_dump_json() for g in groups})
    pipe.set(keys.host_info(host), info.model_dump_json())
    pipe.execute()


def reset_redis(client: redis.Redis) -> None:
    """Everything goes but the sessions: each test starts clean without logging in again."""
    keep = (keys.session(""), keys.sessions_of(""))
    doomed = [k for k in client.scan_iter(count=1000) if not k.decode().startswith(keep)]
    if doomed:
        client.delete(*doomed)


def queued_messages(client: redis.Redis, host: str = HOST) -> list[dict[str, Any]]:
    """The Celery messages waiting on a host's queue, their bodies decoded: {headers, args}."""
    messages = []
    for raw in client.lrange(keys.host_queue(host), 0, -1):
        envelope = orjson.loads(raw)
        body = envelope["body"]
        if envelope["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = orjson.loads(body)
        messages.append({"headers": envelope["headers"], "args": args, "raw": raw})
    return messages


@dataclass(frozen=True)
class Recorded:
    """What a request may have left behind: compared before and after a refused one."""

    jobs: int
    audit: int
    queued: int
    events: int


@dataclass(frozen=True)
class Tokens:
    cookie: str
    csrf: str


def session_cookie(response: httpx.Response) -> str:
    """The session token from Set-Cookie (httpx keeps a Secure cookie to itself over plain HTTP)."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == COOKIE:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {COOKIE} cookie in {response.headers}")


class ApiWorld:
    def __init__(self, url: str, settings: Settings, client: redis.Redis, tokens: dict[str, Tokens]) -> None:
        self.url = url
        self.settings = settings
        self.redis = client
        self.sessions = sessionmaker_for(settings.resolved_database_url)
        self._tokens = tokens
        self._clients: list[httpx.Client] = []

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30, headers=headers, follow_redirects=False)
        self._clients.append(client)
        return client

    def anonymous(self) -> httpx.Client:
        return self.client()

    def log_in(self, login: str, password: str, *, csrf: bool = True) -> httpx.Client:
        """A client with a session; one still open from an earlier test is reused (argon2 is slow)."""
        cached = self._tokens.get(login)
        if cached is None or not self.redis.exists(keys.session(digest(cached.cookie))):
            response = self.anonymous().post("/api/v1/session", json={"login": login, "password": password})
            assert response.status_code == 200, response.text
            cached = self._tokens[login] = Tokens(session_cookie(response), response.json()["csrf_token"])
        headers = {"Cookie": f"{COOKIE}={cached.cookie}"}
        if csrf:
            headers["X-CSRF-Token"] = cached.csrf
        return self.client(headers)

    def admin(self, *, csrf: bool = True) -> httpx.Client:
        return self.log_in(*ADMIN, csrf=csrf)

    def viewer(self) -> httpx.Client:
        return self.log_in(*VIEWER)

    def db(self) -> DbSession:
        session: DbSession = self.sessions()
        return session

    def recorded(self) -> Recorded:
        with self.db() as db:
            jobs = db.scalar(select(func.count()).select_from(Job)) or 0
            audit = db.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action != "session.login")
            )
        return Recorded(jobs=jobs, audit=audit or 0, queued=self.redis.llen(keys.host_queue(HOST)),
                        events=self.redis.xlen(keys.EVENT_STREAM))  # fmt: skip

    def job(self, job_id: str) -> Job | None:
        with self.db() as db:
            return db.get(Job, job_id)

    def close(self) -> None:
        for client in self._clients:
            client.close()
