"""Every Redis key and channel name WMI2 uses, in one place."""

from __future__ import annotations

PREFIX = "wmi"

EVENT_STREAM = f"{PREFIX}:events"
EVENT_CHANNEL = f"{PREFIX}:events:live"
# Hash host name -> JSON {name, sysroot, pid, started_at, last_seen}, written by each beat:
# every host that ever had a worker, and when it was last heard from.
HOSTS = f"{PREFIX}:hosts"
# Digests of sessions just ended, so the events service closes their open streams.
SESSIONS_ENDED_CHANNEL = f"{PREFIX}:sessions:ended"


def host_users(host: str) -> str:
    """Hash login -> user JSON: the host's users as last read."""
    return f"{PREFIX}:host:{host}:users"


def host_groups(host: str) -> str:
    """Hash name -> group JSON: the host's groups as last read."""
    return f"{PREFIX}:host:{host}:groups"


def host_info(host: str) -> str:
    """JSON: the host's shells, uid range and when it was last read."""
    return f"{PREFIX}:host:{host}:info"


def host_digest(host: str) -> str:
    """A digest of the account files the read model was last made from (written with it)."""
    return f"{PREFIX}:host:{host}:digest"


def host_heartbeat(host: str) -> str:
    """Set by the host's worker with a TTL: present exactly while the worker is alive."""
    return f"{PREFIX}:host:{host}:heartbeat"


def host_state(host: str) -> str:
    """The last state announced by an event, online or offline; flipped only by a CAS script."""
    return f"{PREFIX}:host:{host}:state"


def host_lock(host: str) -> str:
    """Serializes every change and re-read of one host's account files."""
    return f"{PREFIX}:host:{host}:lock"


def host_writer(host: str) -> str:
    """The job changing the host's files right now (services/worker/writer.py)."""
    return f"{PREFIX}:host:{host}:writer"


def host_queue(host: str) -> str:
    """The Celery queue that the worker of this host, and only it, consumes."""
    return f"{PREFIX}.host.{host}"


def job_applied(job_id: str) -> str:
    """Set once a job's change reached the host, so a redelivered job is not applied twice."""
    return f"{PREFIX}:job:{job_id}:applied"


def job_secret(job_id: str) -> str:
    """A job's secret parameters (a password hash) from the api to the worker: never in the
    message itself, deleted by the worker once the job has ended, expiring in any case."""
    return f"{PREFIX}:job:{job_id}:secret"


def session(token_digest: str) -> str:
    return f"{PREFIX}:session:{token_digest}"


def sessions_of(login: str) -> str:
    """Set of the session digests of one WMI account, to end them all at once."""
    return f"{PREFIX}:sessions:{login}"


def login_failures(login: str, client: str) -> str:
    return f"{PREFIX}:ratelimit:login:{login}:{client}"


def address_failures(client: str) -> str:
    """Failed logins from one address, whatever the login: a limit on spraying many logins."""
    return f"{PREFIX}:ratelimit:address:{client}"


def login_audit_lock(login: str, client: str) -> str:
    """Held while a failed login of one login+address is written into its burst's audit row."""
    return f"{PREFIX}:ratelimit:login:{login}:{client}:audit"
