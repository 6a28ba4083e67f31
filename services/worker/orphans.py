"""Jobs left behind by a worker that died: handed back at once when the host's worker starts again.

kombu's Redis transport keeps each delivered, unacknowledged message in its ``unacked``
hash until it is acknowledged, and gives it back to the queue only once the visibility
timeout has passed (an hour here, since it must exceed the longest job). When a whole
worker is killed, its job would wait that hour. But each host has one worker, consuming
only its own queue: when that worker starts, any unacknowledged message of its queue
belongs to a worker that is gone, and can be handed back straight away. A job handed
back twice is still run once (see tasks.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from celery import Celery

log = logging.getLogger(__name__)


def requeue_orphans(app: Celery, queue: str) -> int:
    """Put this queue's unacknowledged messages back at its head, in the order they were
    delivered (so, accepted); return how many."""
    restored = 0
    with app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        client = channel.client
        # Newest first: each goes to the head (the right end, where BRPOP takes), so the
        # oldest ends up first in line.
        for tag in client.zrange(channel.unacked_index_key, 0, -1, desc=True):
            raw = client.hget(channel.unacked_key, tag)
            if raw is not None and json.loads(raw)[2] == queue:
                channel.qos.restore_by_tag(tag, leftmost=False)
                restored += 1
    if restored:
        log.warning("%d job(s) of a worker that died handed back to queue %s", restored, queue)
    return restored
