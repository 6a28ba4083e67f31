"""The one task: run a job's action on this host, exactly once, and record how it ended.

A first delivery runs with the jobs queued behind it, as one change set
(:mod:`services.worker.jobset`); a delivery after the first (its worker died mid-way)
runs alone, after looking at what the interrupted one left.

A job may be delivered more than once (a redelivery after a worker died, a duplicate
send). The job's state in SQL tells a finished job from an unfinished one, and a Redis
mark set right after the change reached the host tells a redelivered job not to apply
it again. Params may hold a password hash: they are never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from services.common import actions, keys
from services.common.actions import Action
from services.common.tasks import RUN_ACTION
from services.worker import batches, homes, jobs, reached, readmodel, writer
from services.worker.app import celery_app
from services.worker.apply import apply
from services.worker.changeset import apply as apply_set
from services.worker.checks import ToolError
from services.worker.context import WorkerContext, context
from services.worker.hostlock import HostBusy, host_lock
from services.worker.jobinput import BadJob, parse, with_secrets
from services.worker.jobset import APPLIED_TTL, Ending, Pending, run_set

log = logging.getLogger(__name__)

GAVE_UP = "The worker stopped {attempts} times while running this job: it is not run again."
CREATION_FINISHED = "User {login} created; its {left} made after its worker was interrupted."
FOUND_DONE = batches.FOUND_DONE


def finish_interrupted(
    ctx: WorkerContext, job: jobs.Claimed, action: Action, params: BaseModel
) -> str | None:
    """What an interrupted earlier delivery left: done (its result), or a creation whose home
    or password is left to make (made here); None when the action must run again in full."""
    sysroot, host = ctx.host.sysroot, ctx.host.name
    if reached.already_there(sysroot, host, action, params):
        log.info("job %s: its change is on the host already: not applied again", job.id)
        return FOUND_DONE
    if not isinstance(params, actions.UserCreate):
        return None
    left = reached.unfinished_creation(sysroot, host, params)
    if left is None:
        return None
    if left.home:
        homes.make_home(sysroot, left.user.home, left.user.uid, left.user.gid)
    if left.password and params.password_hash is not None:
        apply(
            ctx.host,
            Action.USER_PASSWORD,
            actions.UserPassword(login=params.login, password_hash=params.password_hash),
        )
    log.info("job %s: its account was made before the interruption; its %s made now", job.id, left.what())
    return CREATION_FINISHED.format(login=params.login, left=left.what())


def apply_once(ctx: WorkerContext, job: jobs.Claimed, action: Action, params: BaseModel) -> Ending:
    """Apply the action, unless an earlier delivery of this job already did."""
    mark = keys.job_applied(job.id)
    earlier = ctx.client.get(mark)
    if earlier is not None:
        log.info("job %s reached the host before: not applied again", job.id)
        return Ending(result=earlier.decode() if isinstance(earlier, bytes) else str(earlier))
    if isinstance(params, actions.Batch):
        ending = apply_batch(ctx, job, params)
    elif job.attempts > 1:
        # An earlier delivery may have died between the tools' change and the mark.
        ending = Ending(
            result=finish_interrupted(ctx, job, action, params) or apply(ctx.host, action, params)
        )
    else:
        ending = Ending(result=apply(ctx.host, action, params))
    if ending.result is not None:
        ctx.client.set(mark, ending.result, ex=APPLIED_TTL)
    return ending


def apply_batch(ctx: WorkerContext, job: jobs.Claimed, batch: actions.Batch) -> Ending:
    """A batch's rows as one change set; after an interruption, the rows already on the host
    (its change set was written whole, or not at all) are not applied again."""
    rows = batches.rows_of(batch)
    if job.attempts > 1:
        for row in rows:
            if row.params is None or row.error is not None:
                continue
            if reached.already_there(ctx.host.sysroot, ctx.host.name, row.action, row.params):
                row.result = FOUND_DONE
    applied = apply_set(ctx.host, batches.items(job.id, rows))
    batches.record(rows, applied.outcomes)
    result, error = batches.outcome(rows)
    return Ending(result, error, rows)


def publish_changes(ctx: WorkerContext, job: jobs.Claimed) -> None:
    """After a job: its changes, published with its name. Redis away, its record stays and
    whoever re-reads the host next publishes them under its name."""
    host = ctx.host
    try:
        readmodel.refresh(ctx.client, ctx.publisher, host.name, host.sysroot, job=job.id, actor=job.actor,
                          writer_done=True)  # fmt: skip
    except redis.RedisError as exc:
        log.warning("the changes of job %s will be published by the next re-read: %s", job.id, exc)


def execute(ctx: WorkerContext, job: jobs.Claimed, action: str, params: dict[str, Any]) -> Ending:
    """Run the job under the host lock; how it ended."""
    try:
        if job.host != ctx.host.name:
            raise BadJob(f"The job is for host {job.host}, not {ctx.host.name}.")
        known, parsed = parse(action, with_secrets(ctx.client, job.id, params))
        with host_lock(ctx.client, ctx.host.name):
            writer.publish_earlier(ctx.client, ctx.publisher, ctx.host.name, ctx.host.sysroot)
            writer.mark(ctx.client, ctx.host.name, job.id, job.actor)
            try:
                return apply_once(ctx, job, known, parsed)
            finally:
                # Even a failed change may have changed something: publish it with this job.
                publish_changes(ctx, job)
    except (ToolError, BadJob, HostBusy) as exc:
        return Ending(error=str(exc))
    except Exception:
        log.exception("job %s (%s) failed unexpectedly", job.id, action)
        return Ending(error="The worker failed unexpectedly; its log says why.")


def give_up(ctx: WorkerContext, job: jobs.Claimed) -> Ending:
    """Not run again; its record as the host's writer, if an earlier delivery left one, must
    not name whatever changes the host next."""
    with host_lock(ctx.client, ctx.host.name):
        writer.forget(ctx.client, ctx.host.name, job.id)
    return Ending(error=GAVE_UP.format(attempts=job.attempts - 1))


def forget_secrets(ctx: WorkerContext, job: jobs.Claimed) -> None:
    try:
        ctx.client.delete(keys.job_secret(job.id))
    except redis.RedisError as exc:
        log.warning("the secret of job %s stays until it expires: %s", job.id, exc)


def publish(ctx: WorkerContext, type_: str, job: jobs.Claimed, data: dict[str, Any]) -> bool:
    """Publish one of the job's events; False if Redis could not be reached (the final one
    is then published later by the sweeper, from the job's row)."""
    try:
        ctx.publisher.publish(type_, ctx.host.name, data, job=job.id, actor=job.actor)
    except redis.RedisError as exc:
        log.warning("event %s of job %s not published: %s", type_, job.id, exc)
        return False
    return True


def run_alone(ctx: WorkerContext, job: jobs.Claimed, action: str, params: dict[str, Any]) -> None:
    """A job delivered again (its worker died) or given up: on its own, as it always ran."""
    publish(ctx, "job.running", job, {"action": action, "target": job.target})
    ending = give_up(ctx, job) if job.attempts > jobs.MAX_ATTEMPTS else execute(ctx, job, action, params)
    result, error = ending.result, ending.error
    rows = [row.shown() for row in ending.rows] if ending.rows is not None else None
    state = jobs.finish(ctx.database_url, job, action, result=result, error=error, rows=rows)
    if actions.wanted_secrets(params):
        forget_secrets(ctx, job)
    ended = jobs.Ended(job.id, state, action, job.target, job.actor, result, error)
    if publish(ctx, ended.event_type, job, ended.event_data):
        jobs.announced(ctx.database_url, job.id)
    log.info("job %s %s", job.id, state)


@celery_app.task(
    name=RUN_ACTION,
    # The database or Redis being briefly away is worth a retry: a retry is safe, see above.
    autoretry_for=(OperationalError, redis.ConnectionError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=20,
)
def run_action(job_id: str, action: str, params: dict[str, Any]) -> None:
    ctx = context()
    job = jobs.claim(ctx.database_url, job_id)
    if job is None:
        log.info("job %s is finished or unknown: this delivery is ignored", job_id)
        return
    log.info("job %s: %s %s, attempt %d", job_id, action, job.target, job.attempts)
    if job.attempts > 1:
        run_alone(ctx, job, action, params)
    else:
        run_set(ctx, Pending(job, action, params))
