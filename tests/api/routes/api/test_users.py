"""A user's whole life through the API, its jobs run by the worker's own code on a sandbox root,
checked in the sandbox's own files and through the API."""

from __future__ import annotations

import tarfile
from pathlib import Path

import crypt_r

from tests.support.api_app import ApiWorld
from tests.support.inprocess import Host
from tests.support.sandbox_files import entry, members

PASSWORD = "correct horse battery staple"


def _shadow_hash(sysroot: Path, login: str) -> str:
    fields = entry(sysroot, "shadow", login)
    assert fields is not None
    return fields[1]


def test_create_modify_password_lock_unlock_delete(host: Host) -> None:
    admin, sysroot = host.api.admin(), host.sysroot
    host.run_ok(admin, "POST", "/api/v1/users", json={"login": "alice", "full_name": "Alice Liddell",
           "shell": "/bin/bash", "groups": ["users", "audio"], "password": PASSWORD})  # fmt: skip
    passwd = entry(sysroot, "passwd", "alice")
    assert passwd is not None and passwd[4] == "Alice Liddell" and passwd[6] == "/bin/bash"
    assert (sysroot / "home" / "alice" / ".bashrc").is_file()
    assert "alice" in members(sysroot, "users") and "alice" in members(sysroot, "audio")
    first_hash = _shadow_hash(sysroot, "alice")
    assert first_hash.startswith("$6$") and crypt_r.crypt(PASSWORD, first_hash) == first_hash

    host.run_ok(admin, "PATCH", "/api/v1/users/alice", json={"full_name": "Alice L.", "shell": "/bin/sh",
           "groups_add": ["video"], "groups_remove": ["audio"]})  # fmt: skip
    passwd = entry(sysroot, "passwd", "alice")
    assert passwd is not None and passwd[4] == "Alice L." and passwd[6] == "/bin/sh"
    assert "alice" in members(sysroot, "video") and "alice" not in members(sysroot, "audio")
    user = admin.get("/api/v1/users/alice").json()
    assert user["full_name"] == "Alice L." and sorted(user["groups"]) == ["users", "video"]

    host.run_ok(admin, "POST", "/api/v1/users/alice/password", json={"password": "another secret"})
    second_hash = _shadow_hash(sysroot, "alice")
    assert second_hash != first_hash and crypt_r.crypt("another secret", second_hash) == second_hash

    host.run_ok(admin, "POST", "/api/v1/users/alice/lock")
    assert _shadow_hash(sysroot, "alice") == "!" + second_hash
    assert admin.get("/api/v1/users/alice").json()["locked"] is True

    host.run_ok(admin, "POST", "/api/v1/users/alice/unlock")
    assert _shadow_hash(sysroot, "alice") == second_hash
    assert admin.get("/api/v1/users/alice").json()["locked"] is False

    host.run_ok(admin, "DELETE", "/api/v1/users/alice", params={"home": "keep"})
    assert entry(sysroot, "passwd", "alice") is None and entry(sysroot, "shadow", "alice") is None
    assert (sysroot / "home" / "alice").is_dir()
    assert admin.get("/api/v1/users/alice").status_code == 404


def test_delete_removing_the_home(host: Host) -> None:
    admin, sysroot = host.api.admin(), host.sysroot
    host.run_ok(admin, "POST", "/api/v1/users", json={"login": "bob"})
    assert (sysroot / "home" / "bob").is_dir()
    host.run_ok(admin, "DELETE", "/api/v1/users/bob", params={"home": "remove"})
    assert entry(sysroot, "passwd", "bob") is None
    assert not (sysroot / "home" / "bob").exists()


def test_delete_archiving_the_home(host: Host) -> None:
    admin, sysroot, settings = host.api.admin(), host.sysroot, host.settings
    host.run_ok(admin, "POST", "/api/v1/users", json={"login": "carol"})
    (sysroot / "home" / "carol" / "notes.txt").write_text("keep me")
    job = host.run_ok(admin, "DELETE", "/api/v1/users/carol", params={"home": "archive"})
    assert not (sysroot / "home" / "carol").exists()
    archives = list(settings.archive_dir.rglob("carol-*.tar.gz"))
    assert len(archives) == 1, job
    with tarfile.open(archives[0]) as tar:
        names = tar.getnames()
        notes = next(n for n in names if n.endswith("notes.txt"))
        extracted = tar.extractfile(notes)
        assert extracted is not None and extracted.read() == b"keep me"


def test_create_without_home(host: Host) -> None:
    admin, sysroot = host.api.admin(), host.sysroot
    host.run_ok(admin, "POST", "/api/v1/users", json={"login": "dave", "create_home": False})
    assert entry(sysroot, "passwd", "dave") is not None
    assert not (sysroot / "home" / "dave").exists()


def test_deleting_a_missing_user_is_refused_before_any_job(host: Host) -> None:
    admin = host.api.admin()
    for home in ("keep", "remove", "archive"):
        response = admin.delete("/api/v1/users/nobody-here", params={"home": home})
        assert response.status_code == 404, response.text
    assert admin.get("/api/v1/jobs").json() == []


def test_a_tool_error_reaches_the_job(host: Host) -> None:
    """groupdel refuses a user's primary group: the job fails with the tool's words."""
    admin, sysroot = host.api.admin(), host.sysroot
    host.run_ok(admin, "POST", "/api/v1/users", json={"login": "erin"})
    job = host.run(admin, "DELETE", "/api/v1/groups/erin")
    assert job["state"] == "failed"
    assert "primary group" in job["error"]
    assert entry(sysroot, "group", "erin") is not None


def test_users_come_from_the_read_model(api: ApiWorld) -> None:
    viewer = api.viewer()
    users = viewer.get("/api/v1/users", params={"system": False}).json()["items"]
    assert [u["login"] for u in users] == ["alice", "bob"]
    assert set(users[0]) == {"login", "uid", "gid", "primary_group", "full_name", "home", "shell", "groups",
                             "locked", "has_password", "last_change", "system"}  # fmt: skip
    everyone = [u["login"] for u in viewer.get("/api/v1/users").json()["items"]]
    assert "root" in everyone and everyone == sorted(everyone)
    assert viewer.get("/api/v1/users/root").json()["uid"] == 0
    assert viewer.get("/api/v1/users/nobody-here").status_code == 404
