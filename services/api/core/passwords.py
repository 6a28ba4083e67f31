"""Passwords: the WMI accounts' own (argon2) and the host accounts' (crypt(3) SHA-512).

A host account's clear-text password lives only in this process, for the time it takes to
hash it: the worker, the job store and the event log only ever see the hash (or not even it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import crypt_r
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Library defaults (argon2id, RFC 9106 low-memory profile); kept in one place so that
# `needs_rehash` upgrades stored hashes when they change.
_hasher = PasswordHasher()


def hash_admin_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("wmi2: no such account")


def verify_admin_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no stored hash, spends the same time and says no.

    Verifying against a dummy hash for an unknown login keeps its answer as slow as a
    wrong password's, so the timing does not tell which logins exist.
    """
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class ChecksBusy(Exception):
    """Every turn to check a password is taken, and none came free in time."""


class PasswordGate:
    """At most ``size`` argon2 runs at once in this process (each allocates 64 MiB).

    Anyone may ask to log in, so without a bound a crowd of logins makes the process
    allocate 64 MiB per concurrent request. A caller waits ``wait`` seconds at most for a
    turn, then is refused: the queue is bounded too, by the callers' patience. A threading
    semaphore, since logins run in the thread pool (argon2 releases the GIL).
    """

    def __init__(self, size: int, wait: float) -> None:
        self._turns = threading.BoundedSemaphore(size)
        self._wait = wait

    @contextmanager
    def turn(self) -> Iterator[None]:
        if not self._turns.acquire(timeout=self._wait):
            raise ChecksBusy
        try:
            yield
        finally:
            self._turns.release()


def admin_hash_needs_update(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def host_password_hash(password: str) -> str:
    """A "$6$" (SHA-512) crypt(3) hash, which every glibc/libxcrypt host reads."""
    return str(crypt_r.crypt(password, crypt_r.mksalt(crypt_r.METHOD_SHA512)))
