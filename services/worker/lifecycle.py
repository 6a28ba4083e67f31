"""The worker's life beside its tasks: the first read of the host, the watcher, the heartbeat,
and the sweeper of jobs left without a message."""

from __future__ import annotations

import logging

from celery import Celery

from services.common.db import engine_for, init_db
from services.common.events import Publisher
from services.common.redis import patient_client
from services.common.settings import Settings
from services.worker import writer
from services.worker.heartbeat import Heartbeat
from services.worker.hostlock import host_lock
from services.worker.sweeper import Sweeper
from services.worker.watcher import Watcher

log = logging.getLogger(__name__)


class Runtime:
    """Started once in the worker's main process, stopped when it shuts down."""

    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self.app = app
        # Its own Redis client: the pool children are forked while these threads run,
        # and must not inherit a connection pool that a thread is using.
        self.client = patient_client(settings.resolved_redis_url)
        self.publisher = Publisher(self.client, settings.event_log_max)
        self.watcher: Watcher | None = None
        self.heartbeat: Heartbeat | None = None
        self.sweeper: Sweeper | None = None
        self.first_changes = 0

    def prepare(self) -> None:
        """Before any task runs: the schema, and the first read of the host."""
        init_db(self.settings.resolved_database_url)
        host, sysroot = self.settings.host_name, self.settings.resolved_sysroot
        with host_lock(self.client, host):
            # A job killed with its worker may have left its changes: published as its own.
            found, _job = writer.publish_unclaimed(
                self.client, self.publisher, host, sysroot, if_changed=False
            )
            self.first_changes = len(found)

    def start(self) -> None:
        s = self.settings
        self.watcher = Watcher(
            self.client, self.publisher, s.host_name, s.resolved_sysroot, s.watch_debounce_ms
        )
        self.heartbeat = Heartbeat(self.client, s.host_name, s.resolved_sysroot,
                                   s.heartbeat_interval, s.heartbeat_ttl, s.event_log_max)  # fmt: skip
        self.sweeper = Sweeper(self.app, self.publisher, s.resolved_database_url, s.host_name)
        self.watcher.start()
        self.heartbeat.start()
        self.sweeper.start()
        # Logged here, not in prepare(): Celery sets up its logging in between.
        log.info("host %s read from %s (%d change(s) made while no worker watched); watching its files",
                 s.host_name, s.resolved_sysroot, self.first_changes)  # fmt: skip

    def stopping(self) -> None:
        """A warm shutdown begins: the running job may finish, but from now on the host is
        offline, so that the api refuses changes that no worker would take."""
        if self.heartbeat is not None:
            self.heartbeat.stop(reason="its worker is stopping")

    def stop(self) -> None:
        for thread in (self.sweeper, self.watcher, self.heartbeat):
            if thread is not None:
                thread.stop()
        self.client.close()


def after_fork(settings: Settings) -> None:
    """In a pool child: never reuse the database connections inherited from the parent."""
    engine_for(settings.resolved_database_url).dispose(close=False)
