"""Watching the host's account files, to publish the changes made behind WMI2's back."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import redis
from watchfiles import Change, watch

from services.common.events import Publisher
from services.worker import writer
from services.worker.hostlock import host_lock
from services.worker.readmodel import unchanged

log = logging.getLogger(__name__)
# watchfiles logs every batch it sees at INFO: one line per account change is noise.
logging.getLogger("watchfiles").setLevel(logging.WARNING)

WATCHED = frozenset({"passwd", "group", "shadow", "gshadow"})
# How long the watch waits in native code before it looks at the stop event again.
STOP_CHECK_MS = 200
RETRY_SECONDS = 1.0
# The watcher is in no hurry for the host lock: it tries less often than a job does.
WATCHER_POLL = 0.05


def account_file(_change: Change, path: str) -> bool:
    return Path(path).name in WATCHED


class Watcher(threading.Thread):
    """Re-reads the host after each burst of changes to its account files.

    It watches the directory, not the files: the tools replace a file by renaming a new
    one over it, which a watch on the old file would never see.
    """

    def __init__(
        self, client: redis.Redis, publisher: Publisher, host: str, sysroot: Path, debounce_ms: int
    ) -> None:
        super().__init__(name="account-file-watcher", daemon=True)
        self.client = client
        self.publisher = publisher
        self.host = host
        self.sysroot = sysroot
        self.debounce_ms = debounce_ms
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._watch()
            except Exception:
                log.exception("the watch of %s/etc failed; watching again", self.sysroot)
                self.stop_event.wait(RETRY_SECONDS)

    def _watch(self) -> None:
        watching = False
        for changes in watch(
            self.sysroot / "etc",
            watch_filter=account_file,
            debounce=self.debounce_ms,
            step=min(50, self.debounce_ms),
            stop_event=self.stop_event,
            rust_timeout=STOP_CHECK_MS,
            yield_on_timeout=True,
            recursive=False,
        ):
            if changes or not watching:
                # The first (empty) yield means the watch is in place: re-read once, to catch
                # what changed between the worker's first read and now.
                self._refresh()
            if not watching:
                watching = True
                self.ready.set()

    def _refresh(self) -> None:
        # Most events are a job's own change, which the job has already read and
        # published: seen without the lock, so the next job does not wait for the watcher.
        if unchanged(self.client, self.host, self.sysroot):
            return
        with host_lock(self.client, self.host, poll=WATCHER_POLL):
            # A job killed mid-way (its lock taken over) left its changes: they are its own.
            found, job = writer.publish_unclaimed(self.client, self.publisher, self.host, self.sysroot)
        if found and job:
            log.info("%d change(s) of job %s, which could not publish them, published", len(found), job)
        elif found:
            log.info("%d change(s) made outside WMI2 on %s", len(found), self.host)

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.join(timeout)
