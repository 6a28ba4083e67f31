"""The worker's heartbeat: proof, renewed every few seconds, that a host has a live worker.

Each beat is one script (services.common.hoststate): it renews the heartbeat key, which
expires ``heartbeat_ttl`` after the last beat, records when the host was last heard from,
and announces ``host.online`` when the host was not online before. Stopping announces
``host.offline`` at once; a worker killed without stopping is announced by the monitor
(services.events.hostmonitor) once its heartbeat has expired.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import redis

from services.common.hoststate import HostStates

log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(
        self, client: redis.Redis, host: str, sysroot: Path, interval: float, ttl: float, event_log_max: int
    ) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.states = HostStates(client, event_log_max)
        self.host = host
        self.sysroot = sysroot
        self.interval = interval
        self.ttl = ttl
        self.started_at = datetime.now(UTC).isoformat()
        self.last_seen: str | None = None
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
        if self.states.beat(self.host, record, self.ttl) is not None:
            log.info("host %s is online", self.host)
        self.last_seen = now

    def run(self) -> None:
        while True:
            try:
                self.beat()
            except redis.RedisError as exc:
                log.warning("heartbeat of %s not sent: %s", self.host, exc)
            if self.stop_event.wait(self.interval):
                return

    def stop(self, timeout: float = 5.0, reason: str = "its worker stopped") -> None:
        """Stop beating, and say so at once rather than letting the heartbeat expire.

        Joined first: a beat in flight after the announcement would bring the host back online.
        """
        self.stop_event.set()
        self.join(timeout)
        try:
            self.states.stopped(self.host, self.last_seen, reason)
        except redis.RedisError as exc:
            log.warning("host %s not announced offline (its heartbeat will expire): %s", self.host, exc)
