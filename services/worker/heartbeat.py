"""The worker's heartbeat: proof, renewed every few seconds, that a host has a live worker."""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson
import redis

from services.common import keys

log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, client: redis.Redis, host: str, sysroot: Path, interval: float, ttl: float) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.client = client
        self.host = host
        self.sysroot = sysroot
        self.interval = interval
        self.ttl = ttl
        self.started_at = datetime.now(UTC).isoformat()
        self.stop_event = threading.Event()

    def beat(self) -> None:
        now = datetime.now(UTC).isoformat()
        record = {
            "name": self.host,
            "sysroot": str(self.sysroot),
            "pid": os.getpid(),
            "started_at": self.started_at,
            "last_seen": now,
        }
        pipe = self.client.pipeline(transaction=True)
        pipe.set(keys.host_heartbeat(self.host), now, px=int(self.ttl * 1000))
        pipe.hset(keys.HOSTS, self.host, orjson.dumps(record))
        pipe.execute()

    def run(self) -> None:
        while True:
            try:
                self.beat()
            except redis.RedisError as exc:
                log.warning("heartbeat of %s not sent: %s", self.host, exc)
            if self.stop_event.wait(self.interval):
                return

    def stop(self, timeout: float = 5.0) -> None:
        """Stop beating; the heartbeat key goes at once, so the host is seen offline without delay."""
        self.stop_event.set()
        self.join(timeout)
        try:
            self.client.delete(keys.host_heartbeat(self.host))
        except redis.RedisError as exc:
            log.warning("heartbeat of %s not removed: %s", self.host, exc)
