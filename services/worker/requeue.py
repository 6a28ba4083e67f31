"""A message handed back to its queue goes to the head of the queue, not to its tail.

Changes to one host must apply in the order they were accepted: "create, then modify"
must never become "modify (fails), then create". kombu's Redis transport publishes with
LPUSH and consumes with BRPOP, so the right end of the list is the head; but it hands a
rejected message back with LPUSH, behind every message queued since (a pool process
killed mid-job: ``task_reject_on_worker_lost``), which ran one job seen here after a
hundred and thirty later ones. Here a requeue is an RPUSH, to be taken next.

A job that kills its worker each time would then block its queue; the claim gives up on
a job after a few attempts (``jobs.MAX_ATTEMPTS``), so it fails instead.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

_kombu_ack = virtual.QoS.ack


def _reject_to_head(self: Any, delivery_tag: Any, requeue: bool = False) -> None:
    if requeue:
        self.restore_by_tag(delivery_tag, leftmost=False)
    else:
        self._remove_from_indices(delivery_tag).execute()
    _kombu_ack(self, delivery_tag)


def install() -> None:
    """For the worker's process only: the api never consumes, so never rejects."""
    kombu_redis.QoS.reject = _reject_to_head  # type: ignore[method-assign]
