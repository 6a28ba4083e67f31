"""Which open streams' sessions have ended behind the service's back.

Logging out and disabling an account through the api publish the ended sessions, and the
hub closes their streams at once. A session can also end without a word: it expires, it
is deleted in Redis, its account is disabled, deleted or demoted in the database by other
means. The hub asks this at every heartbeat, for all its streams at once: one MGET per
:data:`BATCH` distinct sessions, and one database look-up per account (remembered for
``WMI_ACCOUNT_CHECK_TTL`` seconds), never a round trip per client.
"""

from __future__ import annotations

import orjson
import redis.asyncio
from pydantic import ValidationError

from services.common import keys
from services.common.sessions import AccountCheck, Session

# Sessions read per Redis command: 10,000 open streams make ten round trips per heartbeat,
# none holding Redis for long.
BATCH = 1000


class SessionCheck:
    def __init__(self, client: redis.asyncio.Redis, accounts: AccountCheck) -> None:
        self._client = client
        self._accounts = accounts

    async def ended(self, digests: set[str]) -> set[str]:
        """The digests, among ``digests``, of sessions that are gone or whose account no longer holds them."""
        ordered = sorted(digests)
        # An account's verdict, per (login, role), asked once per heartbeat.
        verdicts: dict[tuple[str, str], bool] = {}
        gone: set[str] = set()
        for start in range(0, len(ordered), BATCH):
            chunk = ordered[start : start + BATCH]
            values = await self._client.mget([keys.session(d) for d in chunk])
            for digest, raw in zip(chunk, values, strict=True):
                if not await self._holds(raw, verdicts):
                    gone.add(digest)
        return gone

    async def _holds(self, raw: bytes | str | None, verdicts: dict[tuple[str, str], bool]) -> bool:
        if raw is None:
            return False
        try:
            session = Session.model_validate(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValidationError):
            return False
        key = (session.login, session.role)
        if key not in verdicts:
            verdicts[key] = await self._accounts.holds_async(session)
        return verdicts[key]
