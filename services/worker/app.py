"""The Celery app of a host's worker, configured from the settings.

Run it with ``wmi2 worker`` (or ``celery -A services.worker.app:celery_app worker``).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from kombu import Queue

from services.common import keys
from services.common.settings import get_settings
from services.worker import requeue
from services.worker.lifecycle import Runtime, after_fork
from services.worker.orphans import requeue_orphans


def broker_url(redis_url: str) -> str:
    """kombu spells redis-py's ``unix:///path`` as ``redis+socket:///path``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


def make_app() -> Celery:
    requeue.install()
    settings = get_settings()
    queue = keys.host_queue(settings.host_name)
    app = Celery("wmi2", broker=broker_url(settings.resolved_redis_url), include=["services.worker.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A task is acknowledged once done, and handed back if its process dies mid-way.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        broker_connection_retry_on_startup=True,
        task_queues=[Queue(queue)],
        task_default_queue=queue,
    )
    return app


celery_app = make_app()
_runtime: Runtime | None = None


@signals.worker_init.connect
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    global _runtime
    if getattr(sender, "app", None) is not celery_app:
        return
    settings = get_settings()
    _runtime = Runtime(settings, celery_app)
    _runtime.prepare()
    requeue_orphans(celery_app, keys.host_queue(settings.host_name))


@signals.worker_ready.connect
def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    if _runtime is not None and getattr(sender, "app", None) is celery_app:
        _runtime.start()


@signals.worker_shutting_down.connect
def _on_worker_shutting_down(**_: Any) -> None:
    # Sent by the main process as soon as it is told to stop, before the running job ends.
    if _runtime is not None:
        _runtime.stopping()


@signals.worker_shutdown.connect
def _on_worker_shutdown(sender: Any = None, **_: Any) -> None:
    if _runtime is not None and getattr(sender, "app", None) is celery_app:
        _runtime.stop()


@signals.worker_process_init.connect
def _on_worker_process_init(**_: Any) -> None:
    after_fork(get_settings())
