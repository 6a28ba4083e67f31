"""A job and the jobs queued behind it, applied to the host as one change set.

The delivered job takes along the jobs whose messages wait behind it in the host's queue,
oldest first (a job whose message is queued is complete: its row, its secret and its
``job.queued`` came before it). Each keeps its row, events, result and audit entry; one
that cannot run or is refused fails alone. The set is published from the records it
touched, each change under the first job that touched its name; the jobs are finished in
one transaction and announced in one round trip, and the messages of those taken along
are taken out of the queue, where they would only be delivered to be ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from services.common import actions, keys
from services.common.events import body
from services.worker import batches, changeset, hostfiles, jobs, ownchanges, readmodel, writer
from services.worker.changeset import Item
from services.worker.context import WorkerContext
from services.worker.hostlock import HostBusy, host_lock
from services.worker.jobinput import BadJob, fetch_secrets, parse, with_kept
from services.worker.lookups import index
from services.worker.sweeper import job_id_of

log = logging.getLogger(__name__)

# How long a redelivered job's *applied* mark is kept (seconds).
APPLIED_TTL = 24 * 3600
# The most jobs one change set takes: a set holds the host lock until its last change.
BATCH_MAX = 1000


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


@dataclass
class Ending:
    """How a job of the set ended: its result or error, and a batch's rows."""

    result: str | None = None
    error: str | None = None
    rows: list[batches.Row] | None = None


def items_of(ctx: WorkerContext, pending: list[Pending]) -> tuple[list[Item], dict[str, Ending]]:
    """The set's items, and each job's ending so far: the error of one that cannot be run as
    sent, the rows of a batch (those that cannot be run already ended)."""
    items, endings = [], {}
    secrets = fetch_secrets(ctx.client, [p.job.id for p in pending if actions.wanted_secrets(p.params)])
    for p in pending:
        try:
            known, parsed = parse(p.action, with_kept(secrets.get(p.job.id), p.params))
            if p.job.host != ctx.host.name:
                raise BadJob(f"The job is for host {p.job.host}, not {ctx.host.name}.")
        except BadJob as exc:
            endings[p.job.id] = Ending(error=str(exc))
            continue
        if isinstance(parsed, actions.Batch):
            rows = batches.rows_of(parsed)
            endings[p.job.id] = Ending(rows=rows)
            items.extend(batches.items(p.job.id, rows))
        else:
            endings[p.job.id] = Ending()
            items.append(Item(p.job.id, known, parsed))
    return items, endings


def record_outcomes(endings: dict[str, Ending], outcomes: list[changeset.Outcome]) -> None:
    """Each outcome into its job's ending; a batch's from its rows."""
    by_batch: dict[str, list[changeset.Outcome]] = {}
    for o in outcomes:
        ending = endings[o.item.job]
        if ending.rows is not None:
            by_batch.setdefault(o.item.job, []).append(o)
        else:
            ending.result, ending.error = o.result, o.error if o.result is None else None
            if ending.result is None and ending.error is None:
                ending.error = "The change was not made."
    for job_id, ending in endings.items():
        if ending.rows is not None:
            batches.record(ending.rows, by_batch.get(job_id, []))
            ending.result, ending.error = batches.outcome(ending.rows)


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


def apply_set(ctx: WorkerContext, pending: list[Pending]) -> dict[str, Ending]:
    """Run the set under the host lock; how each job ended."""
    items, endings = items_of(ctx, pending)
    if not items:
        record_outcomes(endings, [])
        return endings
    try:
        with host_lock(ctx.client, ctx.host.name):
            writer.publish_earlier(ctx.client, ctx.publisher, ctx.host.name, ctx.host.sysroot)
            writer.mark(ctx.client, ctx.host.name, pending[0].job.id, pending[0].job.actor)
            applied = changeset.apply(
                ctx.host, items,
                written=lambda done: publish_set(ctx, done, pending),
                progressed=lambda number: publish_progress(ctx, pending, endings, items[:number]),
            )  # fmt: skip
            record_outcomes(endings, applied.outcomes)
            mark_applied(ctx, endings)
    except HostBusy as exc:
        busy = {item.job for item in items}
        for job_id in busy:
            endings[job_id] = Ending(error=str(exc))
        # A batch none of whose rows could run ends from its rows all the same.
        record_outcomes({k: v for k, v in endings.items() if k not in busy}, [])
    return endings


def publish_progress(
    ctx: WorkerContext, pending: list[Pending], endings: dict[str, Ending], done: list[Item]
) -> None:
    """``job.progress`` of each batch of the set: how many of its rows are done of how many."""
    raws = []
    for p in pending:
        rows = endings[p.job.id].rows
        if rows is None:
            continue
        made = sum(1 for item in done if item.job == p.job.id)
        ended_before = sum(1 for row in rows if row.error is not None or row.result is not None)
        data = {"action": p.action, "target": p.job.target, "done": made + ended_before, "total": len(rows)}
        raws.append(body("job.progress", ctx.host.name, data, job=p.job.id, actor=p.job.actor))
    try:
        if raws:
            ctx.publisher.publish_many(raws)
    except redis.RedisError as exc:
        log.info("job.progress not published: %s", exc)


def mark_applied(ctx: WorkerContext, endings: dict[str, Ending]) -> None:
    """Each job whose change reached the host: a delivery of it again must not apply it again."""
    pipe = ctx.client.pipeline(transaction=False)
    for job_id, ending in endings.items():
        if ending.result is not None:
            pipe.set(keys.job_applied(job_id), ending.result, ex=APPLIED_TTL)
    pipe.execute()


def end_set(ctx: WorkerContext, pending: list[Pending], endings: dict[str, Ending]) -> None:
    """Record, forget the secrets of, and announce every job of the set."""
    finished = [finished_job(p, endings[p.job.id]) for p in pending]
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


def finished_job(p: Pending, ending: Ending) -> jobs.Finished:
    rows = [row.shown() for row in ending.rows] if ending.rows is not None else None
    return jobs.Finished(p.job, p.action, ending.result, ending.error, rows)


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
    endings = apply_set(ctx, pending)
    end_set(ctx, pending, endings)
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
