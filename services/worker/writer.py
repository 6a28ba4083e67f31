"""The job changing a host right now, recorded in Redis, so that its changes keep its name.

A job records itself under the host lock before its tools run, and its own re-read clears
the record in the same transaction that publishes its changes. A record still there when
someone else re-reads the host (the watcher, after taking over the lock of a job killed
mid-way; the next job; a worker's first read) means that job changed the host and could
not say so: what the re-read finds is published under that job's name, not as a change
made outside WMI2, and the record is cleared with it.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import redis

from services.common import keys
from services.common.events import Publisher
from services.worker import readmodel

# A record outlives a job that never came back by this much at most (seconds).
TTL = 24 * 3600


def mark(client: redis.Redis, host: str, job: str, actor: str | None) -> None:
    client.set(keys.host_writer(host), orjson.dumps({"job": job, "actor": actor}), ex=TTL)


def left(client: redis.Redis, host: str) -> tuple[str, str | None] | None:
    """The job whose changes may be on the host unpublished, and its actor; None if none."""
    raw = client.get(keys.host_writer(host))
    try:
        record = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("job"), str):
        return None
    actor = record.get("actor")
    return record["job"], actor if isinstance(actor, str) else None


def publish_unclaimed(
    client: redis.Redis, publisher: Publisher, host: str, sysroot: Path, *, if_changed: bool = True
) -> tuple[list[readmodel.Change], str | None]:
    """Under the host lock: publish what changed since the model was stored, under the
    recorded job's name if there is one, else as made outside WMI2; the changes and that job.
    ``if_changed`` as for :func:`readmodel.refresh`."""
    earlier = left(client, host)
    job, actor = earlier if earlier else (None, None)
    changes = readmodel.refresh(client, publisher, host, sysroot, job=job, actor=actor,
                                if_changed=if_changed, writer_done=earlier is not None)  # fmt: skip
    if earlier is not None and not changes:
        # Its job was stopped before it changed anything: no later change is its doing.
        client.delete(keys.host_writer(host))
    return changes, job


def forget(client: redis.Redis, host: str, job: str) -> None:
    """Under the host lock: drop the record if it names ``job`` (a job given up, whose
    earlier deliveries may have left it)."""
    earlier = left(client, host)
    if earlier is not None and earlier[0] == job:
        client.delete(keys.host_writer(host))


def publish_earlier(client: redis.Redis, publisher: Publisher, host: str, sysroot: Path) -> None:
    """Under the host lock, before a job changes the host: what changed since the model was
    stored is not its own. It goes out under the name of the job recorded as changing the
    host (one killed, or cut off from Redis, before it could publish); anything else (made
    on the host in the instant before the watcher saw it) as made outside WMI2."""
    if readmodel.as_written(client, host, sysroot):
        return  # nothing changed since this process published its last change set
    publish_unclaimed(client, publisher, host, sysroot)
