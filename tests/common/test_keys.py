"""Redis key names: each host's and job's keys are distinct, and the queue is the worker's."""

from __future__ import annotations

from services.common import keys

PER_HOST = (keys.host_users, keys.host_groups, keys.host_info, keys.host_digest, keys.host_heartbeat,
            keys.host_state, keys.host_lock, keys.host_writer, keys.host_queue)  # fmt: skip


def test_every_key_of_a_host_is_its_own() -> None:
    names = [make("alpha") for make in PER_HOST] + [make("beta") for make in PER_HOST]
    assert len(set(names)) == len(names)
    assert all("alpha" in name for name in names[: len(PER_HOST)])


def test_a_hosts_keys_share_the_prefix_of_every_wmi2_key() -> None:
    for name in [make("h") for make in PER_HOST] + [keys.EVENT_STREAM, keys.EVENT_CHANNEL, keys.HOSTS]:
        assert name.startswith(keys.PREFIX)


def test_the_queue_keeps_its_name_across_versions() -> None:
    """Renamed, a queue would strand the messages waiting under the old name over an upgrade."""
    assert keys.host_queue("testhost") == "wmi.host.testhost"


def test_job_and_session_keys_are_distinct() -> None:
    job = "0123456789abcdef0123456789abcdef"
    names = [keys.job_applied(job), keys.job_secret(job), keys.session(job), keys.sessions_of("ann"),
             keys.login_failures("ann", "10.0.0.1"), keys.address_failures("10.0.0.1"),
             keys.login_audit_lock("ann", "10.0.0.1")]  # fmt: skip
    assert len(set(names)) == len(names)
