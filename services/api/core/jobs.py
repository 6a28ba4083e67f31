"""Jobs: record one, announce it, hand it to its host's worker through Celery.

Order matters: the row exists before the event that names it, and both before the task,
so that whatever the worker does next (update the row, publish job.running) finds them.
A broker that cannot be reached turns into a 503 within a few seconds, and the job that
was recorded is marked failed with that reason rather than left queued forever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import orjson
import redis
from celery import Celery
from fastapi import HTTPException, status
from kombu.exceptions import OperationalError
from pydantic import BaseModel
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from services.api.core import hosts, readmodel
from services.common import keys, tasks
from services.common.actions import Action, public_params, secrets_of
from services.common.db import AuditEntry, Job, utcnow
from services.common.events import Publisher
from services.common.settings import Settings

log = logging.getLogger(__name__)

# Fail fast: a web request waits on these, and an admin prefers a clear 503 in three
# seconds to a spinner. Two quick retries absorb a broker restart.
_CONNECT_TIMEOUT = 2.0
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1.0}


# A job's password hash waits this long for its worker at most (seconds); the worker deletes
# it as soon as the job has ended. A job whose hash expired fails, saying so.
SECRET_TTL = 24 * 3600


class BrokerDown(Exception):
    """The task could not be handed to the broker."""


def broker_url(redis_url: str) -> str:
    """kombu spells a Unix socket ``redis+socket://``; redis-py spells it ``unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


class JobQueue:
    """A Celery app used only to send tasks: no result backend, no task registry."""

    def __init__(self, redis_url: str, visibility_timeout: int) -> None:
        self.app = Celery("wmi2-api", broker=broker_url(redis_url), set_as_current=False)
        self.app.conf.update(
            broker_connection_timeout=_CONNECT_TIMEOUT,
            broker_connection_retry=False,
            task_publish_retry_policy=_PUBLISH_RETRY,
            broker_transport_options={
                "socket_connect_timeout": _CONNECT_TIMEOUT,
                "socket_timeout": _CONNECT_TIMEOUT,
                # The same value as the worker's, which is the one that matters.
                "visibility_timeout": visibility_timeout,
            },
        )

    def send(self, job_id: str, action: Action, params: BaseModel, host: str) -> None:
        """Send the job's public parameters: its secrets wait in ``keys.job_secret``."""
        try:
            self.app.send_task(
                tasks.RUN_ACTION,
                args=[job_id, action.value, public_params(params)],
                queue=keys.host_queue(host),
                task_id=job_id,
            )
        except (OperationalError, redis.RedisError, OSError) as exc:
            raise BrokerDown(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        self.app.close()


@dataclass
class Submitter:
    """Everything one mutating request needs to turn a validated change into a job."""

    db_sessions: sessionmaker[DbSession]
    redis: redis.Redis
    publisher: Publisher
    queue: JobQueue
    host: str
    actor: str
    manage_system_accounts: bool = False
    # The process's models (app.state.readmodels); without them each snapshot reads it all.
    models: readmodel.ReadModels | None = None
    _online_checked: bool = field(default=False, init=False, repr=False)

    def snapshot(self) -> readmodel.HostSnapshot:
        """The host's read model, once it is known to be online: one round trip for both
        while the process's copy of the model is current (see core.readmodel)."""
        pipe = self.redis.pipeline(transaction=True)
        hosts.ask_online(pipe, self.host)
        pipe.mget(keys.host_digest(self.host), keys.host_info(self.host))
        record, beating, (digest, info) = pipe.execute()
        # Checked first: the read model of an offline host may be stale, and "it is offline"
        # is the answer that matters, not what the stale model says about the change.
        hosts.check_online(self.host, record, beating)
        self._online_checked = True
        models = self.models or readmodel.ReadModels(self.redis)
        model = models.kept(self.host, (digest, info))
        if model is not None:
            return readmodel.snapshot(model, manage_system_accounts=self.manage_system_accounts)
        # The host changed since this process last loaded it: read only what the checks ask.
        return readmodel.live_snapshot(
            self.redis, self.host, info, lambda: models.current(self.host).gid_names,
            manage_system_accounts=self.manage_system_accounts,
        )  # fmt: skip

    def submit(self, action: Action, target: str, params: BaseModel) -> Job:
        self._ensure_online()
        job = self._record(action, target, params)
        try:
            self._keep_secrets(job.id, params)
            self.publisher.publish(
                "job.queued",
                self.host,
                {"action": action.value, "target": target},
                job=job.id,
                actor=self.actor,
            )
            self.queue.send(job.id, action, params, self.host)
        except (BrokerDown, redis.RedisError) as exc:
            self._fail(job, exc)
        return job

    def _keep_secrets(self, job_id: str, params: BaseModel) -> None:
        secret = secrets_of(params)
        if secret:
            self.redis.set(keys.job_secret(job_id), orjson.dumps(secret), ex=SECRET_TTL)

    def _ensure_online(self) -> None:
        """Refuse a change for an offline host before anything is recorded (once per request)."""
        if not self._online_checked:
            hosts.ensure_online(self.redis, self.host)
            self._online_checked = True

    def _record(self, action: Action, target: str, params: BaseModel) -> Job:
        job = Job(
            id=uuid4().hex,
            state="queued",
            host=self.host,
            action=action.value,
            target=target,
            actor=self.actor,
            params=public_params(params),
        )
        audit = AuditEntry(
            actor=self.actor,
            action=action.value,
            target=target,
            host=self.host,
            outcome="queued",
            job_id=job.id,
        )
        with self.db_sessions() as db:
            db.add_all([job, audit])
            db.commit()
        return job

    def _fail(self, job: Job, exc: Exception) -> None:
        reason = f"The job queue could not be reached ({exc}); nothing was changed on {self.host}."
        log.warning("job %s not enqueued: %s", job.id, exc)
        with self.db_sessions() as db:
            db.add(job)
            job.state, job.error, job.finished_at = "failed", reason, utcnow()
            db.commit()
        try:
            self.redis.delete(keys.job_secret(job.id))
            data: dict[str, Any] = {"action": job.action, "target": job.target, "error": reason}
            self.publisher.publish("job.failed", self.host, data, job=job.id, actor=self.actor)
        except redis.RedisError:
            # Redis is what is down: the host's worker announces the failure from the row.
            with self.db_sessions() as db:
                db.add(job)
                job.announced = False
                db.commit()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason)


def make_queue(settings: Settings) -> JobQueue:
    return JobQueue(settings.resolved_redis_url, settings.visibility_timeout)
