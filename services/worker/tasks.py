"""The one task: run a job's action on this host, exactly once, and record how it ended.

A job may be delivered more than once (a redelivery after a worker died, a duplicate
send). The job's state in SQL tells a finished job from an unfinished one, and a Redis
mark set right after the change reached the host tells a redelivered job not to apply
it again. Params may hold a password hash: they are never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError

from services.common import actions, keys
from services.common.actions import Action
from services.common.events import body
from services.common.tasks import RUN_ACTION
from services.worker import changeset, homes, hostfiles, jobs, ownchanges, reached, readmodel, writer
from services.worker.app import celery_app
from services.worker.apply import apply
from services.worker.changeset import Item
from services.worker.checks import ToolError
from services.worker.context import WorkerContext, context
from services.worker.hostlock import HostBusy, host_lock
from services.worker.lookups import index
from services.worker.sweeper import job_id_of

log = logging.getLogger(__name__)

APPLIED_TTL = 24 * 3600
# The most jobs one change set takes: a set holds the host lock until its last change.
BATCH_MAX = 1000
GAVE_UP = "The worker stopped {attempts} times while running this job: it is not run again."
CREATION_FINISHED = "User {login} created; its {left} made after its worker was interrupted."
FOUND_DONE = "Done: the change had reached the host before its worker was interrupted."


class BadJob(Exception):
    """The job cannot be run as sent; the message says why, without any parameter's value."""


def fetch_secrets(client: redis.Redis, job_ids: list[str]) -> dict[str, Any]:
    """The secrets the api kept aside for these jobs (one round trip)."""
    if not job_ids:
        return {}
    return dict(zip(job_ids, client.mget([keys.job_secret(job_id) for job_id in job_ids]), strict=True))


def with_secrets(client: redis.Redis, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters with the secrets the api kept aside for this job put back in place."""
    if not actions.wanted_secrets(params):
        return params
    return with_kept(client.get(keys.job_secret(job_id)), params)


def with_kept(raw: Any, params: dict[str, Any]) -> dict[str, Any]:
    wanted = actions.wanted_secrets(params)
    if not wanted:
        return params
    kept = orjson.loads(raw) if raw else {}
    if not all(isinstance(kept.get(name), str) for name in wanted):
        raise BadJob(
            "The password given with this job is no longer held (it waits a day at most): "
            "nothing was changed; set the password again."
        )
    return {**params, **{name: kept[name] for name in wanted}}


def parse(action: str, params: dict[str, Any]) -> tuple[Action, BaseModel]:
    try:
        known = Action(action)
    except ValueError:
        raise BadJob(f"Unknown action {action!r}.") from None
    try:
        return known, actions.parse_params(known, params)
    except ValidationError as exc:
        # Only the names of the fields: a validation error repeats the values, hashes included.
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
        raise BadJob(f"The parameters of {action} are invalid: {', '.join(fields)}.") from None


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


def apply_once(ctx: WorkerContext, job: jobs.Claimed, action: Action, params: BaseModel) -> str:
    """Apply the action, unless an earlier delivery of this job already did."""
    mark = keys.job_applied(job.id)
    earlier = ctx.client.get(mark)
    if earlier is not None:
        log.info("job %s reached the host before: not applied again", job.id)
        return earlier.decode() if isinstance(earlier, bytes) else str(earlier)
    if job.attempts > 1:
        # An earlier delivery may have died between the tools' change and the mark.
        result = finish_interrupted(ctx, job, action, params) or apply(ctx.host, action, params)
    else:
        result = apply(ctx.host, action, params)
    ctx.client.set(mark, result, ex=APPLIED_TTL)
    return result


def publish_earlier_changes(ctx: WorkerContext) -> None:
    """Before a job changes the host: what changed since the model was stored is not its own.

    It goes out under the name of the job recorded as changing the host (one killed, or
    cut off from Redis, before it could publish); anything else (made on the host in the
    instant before the watcher saw it) as made outside WMI2.
    """
    if readmodel.as_written(ctx.client, ctx.host.name, ctx.host.sysroot):
        return  # nothing changed since this process published its last change set
    writer.publish_unclaimed(ctx.client, ctx.publisher, ctx.host.name, ctx.host.sysroot)


def publish_changes(ctx: WorkerContext, job: jobs.Claimed) -> None:
    """After a job: its changes, published with its name. Redis away, its record stays and
    whoever re-reads the host next publishes them under its name."""
    host = ctx.host
    try:
        readmodel.refresh(ctx.client, ctx.publisher, host.name, host.sysroot, job=job.id, actor=job.actor,
                          writer_done=True)  # fmt: skip
    except redis.RedisError as exc:
        log.warning("the changes of job %s will be published by the next re-read: %s", job.id, exc)


def execute(
    ctx: WorkerContext, job: jobs.Claimed, action: str, params: dict[str, Any]
) -> tuple[str | None, str | None]:
    """Run the job under the host lock; return (result, None) or (None, error)."""
    try:
        if job.host != ctx.host.name:
            raise BadJob(f"The job is for host {job.host}, not {ctx.host.name}.")
        known, parsed = parse(action, with_secrets(ctx.client, job.id, params))
        with host_lock(ctx.client, ctx.host.name):
            publish_earlier_changes(ctx)
            writer.mark(ctx.client, ctx.host.name, job.id, job.actor)
            try:
                return apply_once(ctx, job, known, parsed), None
            finally:
                # Even a failed change may have changed something: publish it with this job.
                publish_changes(ctx, job)
    except (ToolError, BadJob, HostBusy) as exc:
        return None, str(exc)
    except Exception:
        log.exception("job %s (%s) failed unexpectedly", job.id, action)
        return None, "The worker failed unexpectedly; its log says why."


def give_up(ctx: WorkerContext, job: jobs.Claimed) -> tuple[None, str]:
    """Not run again; its record as the host's writer, if an earlier delivery left one, must
    not name whatever changes the host next."""
    with host_lock(ctx.client, ctx.host.name):
        writer.forget(ctx.client, ctx.host.name, job.id)
    return None, GAVE_UP.format(attempts=job.attempts - 1)


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


@dataclass(frozen=True)
class Pending:
    """A claimed job of a change set, with what it asks (its public parameters)."""

    job: jobs.Claimed
    action: str
    params: dict[str, Any]


def waiting_in_queue(ctx: WorkerContext, first: jobs.Claimed) -> list[tuple[str, Any]]:
    """The jobs whose messages wait in the host's queue behind ``first``, oldest first: their
    ids and messages. Only a job whose message is queued is complete (its row, its secret
    and its ``job.queued`` come before its message)."""
    raws = ctx.client.lrange(keys.host_queue(ctx.host.name), -BATCH_MAX, -1)
    found = []
    for raw in reversed(raws):  # kombu pushes on the left and pops on the right
        try:
            job_id = job_id_of(orjson.loads(raw))
        except orjson.JSONDecodeError:
            continue
        if job_id and job_id != first.id:
            found.append((job_id, raw))
    return found


def coalesce(ctx: WorkerContext, first: Pending) -> tuple[list[Pending], list[Any]]:
    """``first`` and the jobs queued behind it that it can take along, in the order they were
    accepted; and the messages of those taken along, to remove once they have ended."""
    waiting = waiting_in_queue(ctx, first.job)
    joined = jobs.claim_queued(ctx.database_url, ctx.host.name, [job_id for job_id, _ in waiting])
    taken = {j.job.id for j in joined}
    messages = [raw for job_id, raw in waiting if job_id in taken]
    return [first, *(Pending(j.job, j.action, j.params) for j in joined)], messages


def items_of(ctx: WorkerContext, pending: list[Pending]) -> tuple[list[Item], dict[str, str]]:
    """The set's items, and the errors of the jobs that cannot be run as sent."""
    items, errors = [], {}
    secrets = fetch_secrets(ctx.client, [p.job.id for p in pending if actions.wanted_secrets(p.params)])
    for p in pending:
        try:
            known, parsed = parse(p.action, with_kept(secrets.get(p.job.id), p.params))
            if p.job.host != ctx.host.name:
                raise BadJob(f"The job is for host {p.job.host}, not {ctx.host.name}.")
        except BadJob as exc:
            errors[p.job.id] = str(exc)
            continue
        items.append(Item(p.job.id, known, parsed))
    return items, errors


def own_changes(applied: changeset.Applied, pending: list[Pending], digest: bytes) -> readmodel.OwnChanges:
    """What the set touched, each name under the first job that touched it."""
    assert applied.files is not None and applied.defaults is not None
    actors = {p.job.id: p.job.actor for p in pending}
    user_makers: dict[str, tuple[str, str | None]] = {}
    group_makers: dict[str, tuple[str, str | None]] = {}
    for outcome in applied.outcomes:
        if outcome.done is None:
            continue
        maker = (outcome.item.job, actors.get(outcome.item.job))
        for login in outcome.done.users:
            user_makers.setdefault(login, maker)
        for name in outcome.done.groups:
            group_makers.setdefault(name, maker)
    found = index(applied.files, applied.defaults)
    users, groups = ownchanges.records(
        applied.files, found, applied.defaults, set(user_makers), set(group_makers)
    )
    return readmodel.OwnChanges(users, groups, digest, user_makers, group_makers)


def publish_set(ctx: WorkerContext, applied: changeset.Applied, pending: list[Pending]) -> None:
    """The set's changes, published each under its job's name, from what it wrote; from a
    re-read of the host when that cannot be (Redis holds a model this process did not write)."""
    host = ctx.host
    try:
        if applied.files is not None and applied.defaults is not None:
            etc = host.sysroot / "etc"
            raws = {name: table.raw for name, table in applied.files.tables.items()}
            raws.update({name: hostfiles.read_raw(etc, name) for name in ("login.defs", "shells")})
            own = own_changes(applied, pending, hostfiles.digest_of(raws))
            if readmodel.store_own(ctx.client, ctx.publisher, host.name, own) is not None:
                return
        first = pending[0].job
        readmodel.refresh(ctx.client, ctx.publisher, host.name, host.sysroot, job=first.id, actor=first.actor,
                          writer_done=True)  # fmt: skip
    except redis.RedisError as exc:
        log.warning("the changes of job %s will be published by the next re-read: %s", pending[0].job.id, exc)


def apply_set(ctx: WorkerContext, pending: list[Pending]) -> dict[str, tuple[str | None, str | None]]:
    """Run the set under the host lock; each job's (result, error)."""
    items, errors = items_of(ctx, pending)
    ended: dict[str, tuple[str | None, str | None]] = {job_id: (None, e) for job_id, e in errors.items()}
    if not items:
        return ended
    try:
        with host_lock(ctx.client, ctx.host.name):
            publish_earlier_changes(ctx)
            writer.mark(ctx.client, ctx.host.name, pending[0].job.id, pending[0].job.actor)
            applied = changeset.apply(ctx.host, items)
            mark_applied(ctx, applied.outcomes)
            publish_set(ctx, applied, pending)
    except HostBusy as exc:
        return {**ended, **{item.job: (None, str(exc)) for item in items}}
    return {**ended, **{o.item.job: (o.result, o.error) for o in applied.outcomes}}


def mark_applied(ctx: WorkerContext, outcomes: list[changeset.Outcome]) -> None:
    """Each job whose change reached the host: a delivery of it again must not apply it again."""
    pipe = ctx.client.pipeline(transaction=False)
    for outcome in outcomes:
        if outcome.result is not None:
            pipe.set(keys.job_applied(outcome.item.job), outcome.result, ex=APPLIED_TTL)
    pipe.execute()


def end_set(
    ctx: WorkerContext, pending: list[Pending], ended: dict[str, tuple[str | None, str | None]]
) -> None:
    """Record, forget the secrets of, and announce every job of the set."""
    finished = [jobs.Finished(p.job, p.action, *ended[p.job.id]) for p in pending]
    jobs.finish_all(ctx.database_url, finished)
    secret_keys = [keys.job_secret(p.job.id) for p in pending if actions.wanted_secrets(p.params)]
    try:
        if secret_keys:
            ctx.client.delete(*secret_keys)
        raws = []
        for f in finished:
            e = f.ended()
            raws.append(body(e.event_type, ctx.host.name, e.event_data, job=e.id, actor=e.actor))
        ctx.publisher.publish_many(raws)
    except redis.RedisError as exc:
        log.warning("the end of %d job(s) will be announced by the sweeper: %s", len(finished), exc)
        return
    jobs.announced_all(ctx.database_url, [p.job.id for p in pending])


def drop_messages(ctx: WorkerContext, messages: list[Any]) -> None:
    """The messages of jobs that ended in another's set: delivered now, they would be ignored."""
    if messages:
        pipe = ctx.client.pipeline(transaction=False)
        for raw in messages:
            pipe.lrem(keys.host_queue(ctx.host.name), -1, raw)
        pipe.execute()


def run_set(ctx: WorkerContext, first: Pending) -> None:
    pending, messages = coalesce(ctx, first)
    announce_running(ctx, pending)
    ended = apply_set(ctx, pending)
    end_set(ctx, pending, ended)
    try:
        drop_messages(ctx, messages)
    except redis.RedisError as exc:
        log.info("the messages of finished jobs stay queued (each will be ignored): %s", exc)
    log.info("change set of %d job(s) ended", len(pending))


def announce_running(ctx: WorkerContext, pending: list[Pending]) -> None:
    raws = [
        body("job.running", ctx.host.name, {"action": p.action, "target": p.job.target}, job=p.job.id,
             actor=p.job.actor)
        for p in pending
    ]  # fmt: skip
    try:
        ctx.publisher.publish_many(raws)
    except redis.RedisError as exc:
        log.warning("job.running of %d job(s) not published: %s", len(pending), exc)


def run_alone(ctx: WorkerContext, job: jobs.Claimed, action: str, params: dict[str, Any]) -> None:
    """A job delivered again (its worker died) or given up: on its own, as it always ran."""
    publish(ctx, "job.running", job, {"action": action, "target": job.target})
    result, error = (
        give_up(ctx, job) if job.attempts > jobs.MAX_ATTEMPTS else execute(ctx, job, action, params)
    )
    state = jobs.finish(ctx.database_url, job, action, result=result, error=error)
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
