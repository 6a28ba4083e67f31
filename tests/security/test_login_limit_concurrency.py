"""Finding 8: the login limit was beaten by concurrency, and failed logins grew the database.

Attack: the limit read the failure count, checked the password, then counted the
failure; 40 concurrent wrong guesses all read the count before any was counted, and got
40 answers of 401 and no 429. It counted per login and address only, so one address could try a
password against any number of logins. And each failure inserted an audit row: an
anonymous caller could grow the database at will.

Fix (``services/api/core/auth.py``): each attempt is counted, atomically, before its
password is checked, and refused when over the limit (a success forgives it); a second
counter limits failures per address across logins (``ADDRESS_LIMIT``); failed logins are
audited once per burst, per login and address: one row whose detail carries the count.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from services.api.core.auth import ADDRESS_LIMIT, FAILURE_LIMIT
from services.common import keys
from services.common.db import AuditEntry
from tests.support.api_app import ADMIN, VIEWER, ApiWorld

pytest_plugins = ["tests.support.api_fixtures"]


def _guess(api: ApiWorld, login: str, address: str, password: str = "a wrong guess") -> httpx.Response:
    """A login from ``address`` (the trusted proxy's X-Forwarded-For)."""
    with httpx.Client(base_url=api.url, timeout=60) as client:
        return client.post("/api/v1/session", json={"login": login, "password": password},
                           headers={"X-Forwarded-For": address})  # fmt: skip


def _failures(api: ApiWorld, login: str) -> list[str | None]:
    with api.db() as db:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor == login, AuditEntry.outcome == "failed")
            .order_by(AuditEntry.id)
        )
        return [row.detail for row in rows]


def test_concurrent_guesses_get_no_more_than_the_limit(api: ApiWorld) -> None:
    crowd, address = 40, "198.51.100.40"
    with ThreadPoolExecutor(crowd) as pool:
        answers = list(pool.map(lambda _: _guess(api, ADMIN[0], address), range(crowd)))
    outcomes = Counter(answer.status_code for answer in answers)
    assert set(outcomes) <= {401, 429, 503}, outcomes
    # A guess that was checked (401), or let through to wait for a turn (503), was counted first.
    assert outcomes[401] + outcomes[503] <= FAILURE_LIMIT, outcomes
    assert outcomes[429] >= crowd - FAILURE_LIMIT, outcomes
    # The burst is one audit row, counting every guess that was checked.
    expected = [f"wrong login or password from {address}, {outcomes[401]} times"] if outcomes[401] else []
    assert _failures(api, ADMIN[0]) == expected
    # The right password is refused as well while the limit holds.
    assert _guess(api, ADMIN[0], address, ADMIN[1]).status_code == 429


def test_one_address_cannot_spray_many_logins(api: ApiWorld) -> None:
    address, tried = "198.51.100.50", 3
    # As if the address had already failed with that many other logins (an argon2 run each).
    api.redis.set(keys.address_failures(address), ADDRESS_LIMIT - tried, ex=300)
    for i in range(tried):
        assert _guess(api, f"sprayed-{i}", address).status_code == 401
    refused = _guess(api, "one-more-login", address)
    assert refused.status_code == 429 and "your address" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    # Even the right password, from that address; another address is not held back.
    assert _guess(api, VIEWER[0], address, VIEWER[1]).status_code == 429
    assert _guess(api, VIEWER[0], "198.51.100.51", VIEWER[1]).status_code == 200


def test_a_success_does_not_count_against_the_address(api: ApiWorld) -> None:
    address = "198.51.100.60"
    for _ in range(3):
        assert _guess(api, VIEWER[0], address, VIEWER[1]).status_code == 200
    assert int(api.redis.get(keys.address_failures(address)) or 0) == 0


def test_failures_of_a_burst_share_one_audit_row(api: ApiWorld) -> None:
    for _ in range(3):
        assert _guess(api, "mallory", "198.51.100.70").status_code == 401
    assert _guess(api, "mallory", "198.51.100.71").status_code == 401
    assert _failures(api, "mallory") == [
        "wrong login or password from 198.51.100.70, 3 times",
        "wrong login or password from 198.51.100.71, 1 time",
    ]
