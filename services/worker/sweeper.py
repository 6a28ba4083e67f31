"""Jobs accepted but never handed to the worker, and jobs that ended unannounced: found in
the database, sent or announced again.

The api records a job, then sends its message; a web process killed in between leaves the
job queued with no message. A worker killed as it pops a message loses it between the pop
and kombu's record of it as unacknowledged. Either way the job would stay queued for ever.
So the host's worker looks, every few seconds, for its host's jobs that have been queued
for a while, and sends again each one whose message is neither in the queue nor among the
unacknowledged ones. A message is in neither only for the instant of a pop, so a job must
be found missing by two sweeps in a row before it is sent: a message is never sent twice
while it exists. Sending again is safe anyway: the claim and the applied mark make a
second delivery harmless (see tasks.py), and a message carries only the job's public
parameters, which its row holds too.

A job that ended while Redis was away could not publish its ``job.succeeded`` or
``job.failed``, and a browser would show it running for ever. Its row says it was not
announced; the sweeper publishes that final event from the row once Redis answers again.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any

from celery import Celery

from services.common import keys
from services.common.db import utcnow
from services.common.events import Publisher
from services.common.tasks import RUN_ACTION
from services.worker import jobs

log = logging.getLogger(__name__)

# A job younger than this is left alone: its api may still be sending it.
AGE = 5.0
INTERVAL = 2.0
# A job that ended less than this ago may still be announcing itself: its worker's Redis
# client retries for some 15 s (common.redis.patient_client) before it gives up.
ANNOUNCE_AFTER = 30.0


def job_id_of(payload: Any) -> str | None:
    headers = payload.get("headers") if isinstance(payload, dict) else None
    found = headers.get("id") if isinstance(headers, dict) else None
    return found if isinstance(found, str) else None


def in_broker(app: Celery, queue: str) -> set[str]:
    """The ids of the jobs whose message is waiting in ``queue`` or delivered and unacknowledged."""
    found: set[str] = set()
    with app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        for raw in channel.client.lrange(queue, 0, -1):
            found.add(job_id_of(json.loads(raw)) or "")
        for raw in channel.client.hvals(channel.unacked_key):
            payload, _exchange, routing_key = json.loads(raw)
            if routing_key == queue:
                found.add(job_id_of(payload) or "")
    return found


class Sweeper(threading.Thread):
    def __init__(
        self, app: Celery, publisher: Publisher, database_url: str, host: str, interval: float = INTERVAL
    ) -> None:
        super().__init__(name="sweeper", daemon=True)
        self.app = app
        self.publisher = publisher
        self.database_url = database_url
        self.host = host
        self.queue = keys.host_queue(host)
        self.interval = interval
        self.missing: set[str] = set()
        self.stop_event = threading.Event()

    def sweep(self, age: float = AGE) -> list[str]:
        """Send again the jobs missing from the broker now and at the last sweep; their ids."""
        waiting = jobs.queued_before(self.database_url, self.host, utcnow() - timedelta(seconds=age))
        if not waiting:
            self.missing = set()
            return []
        present = in_broker(self.app, self.queue)
        missing = {job.id for job in waiting if job.id not in present}
        again = [job for job in waiting if job.id in missing & self.missing]
        self.missing = missing - {job.id for job in again}
        for job in again:
            self._send(job)
        return [job.id for job in again]

    def announce(self, age: float = ANNOUNCE_AFTER) -> list[str]:
        """Publish the final event of the jobs that ended unannounced; their ids."""
        ended = jobs.unannounced(self.database_url, self.host, utcnow() - timedelta(seconds=age))
        for job in ended:
            log.warning("job %s ended while its event could not be published: published now", job.id)
            self.publisher.publish(job.event_type, self.host, job.event_data, job=job.id, actor=job.actor)
            jobs.announced(self.database_url, job.id)
        return [job.id for job in ended]

    def _send(self, job: jobs.Waiting) -> None:
        log.warning("job %s was queued with no message for it: sent again", job.id)
        # A connection and producer of its own, not Celery's shared pools: the pool process is
        # forked from this process, and must not inherit a pool's lock held by this thread.
        with self.app.connection_for_write() as connection, connection.Producer() as producer:
            self.app.send_task(
                RUN_ACTION, args=[job.id, job.action, job.params], queue=self.queue, task_id=job.id,
                producer=producer,
            )  # fmt: skip

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                self.sweep()
                self.announce()
            except Exception:
                # Redis or the database away for a moment: the next sweep tries again.
                log.exception("the sweep for jobs left without a message failed")

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.join(timeout)
