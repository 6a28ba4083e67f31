"""Roster imports through the API (routes/api/imports.py, core/imports.py): a preview that
changes nothing, its apply as one job run by the worker's own code on a sandbox root."""

from __future__ import annotations

import csv
import io
import subprocess
from typing import Any

import crypt_r
import httpx

from tests.security import hostile
from tests.support.inprocess import Host
from tests.support.oracle import check_with_the_tools
from tests.support.sandbox_files import entry, members
from tests.support.seed import seed_users

ROSTER = (
    "first_name;last_name;groups;password\r\n"
    "Hélène;Lefèvre;audio;\r\n"
    "Zoë;Le Bœuf;audio video;a-long-enough-secret-9\r\n"
    "Ann;;nosuchgroup;\r\n"
    ";;;\r\n"
).encode("cp1252")


def _preview(admin: httpx.Client, raw: bytes, **params: str) -> httpx.Response:
    return admin.post("/api/v1/imports", content=raw, params=params, headers={"Content-Type": "text/csv"})


def _apply(host: Host, admin: httpx.Client, preview_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    answer = admin.post(f"/api/v1/imports/{preview_id}/apply")
    assert answer.status_code == 202, answer.text
    assert answer.json()["id"] in host.worker.run_queued()
    return answer.json(), admin.get(answer.headers["Location"]).json()


def test_preview_then_apply(host: Host) -> None:
    admin, sysroot = host.api.admin(), host.sysroot
    before = {name: (sysroot / "etc" / name).read_bytes() for name in ("passwd", "shadow", "group")}
    preview = _preview(admin, ROSTER)
    assert preview.status_code == 201, preview.text
    shown = preview.json()
    assert shown["counts"] == {"create": 2, "update": 0, "unchanged": 0, "leave": 0, "error": 1}
    assert shown["encoding"] == "windows-1252" and shown["columns"] == [
        "first_name",
        "last_name",
        "groups",
        "password",
    ]
    first = shown["rows"][0]  # the rows with problems first
    assert (first["line"], first["login"], first["action"]) == (4, "ann", "error")
    assert first["problems"] == ["There is no group 'nosuchgroup' on host 'apihost'."]
    assert [(r["login"], r["action"]) for r in shown["rows"][1:]] == [
        ("helene_lefevre", "create"),
        ("zoe_le-boeuf", "create"),
    ]
    assert {name: (sysroot / "etc" / name).read_bytes() for name in before} == before, (
        "a preview changes nothing"
    )

    answer, job = _apply(host, admin, shown["id"])
    assert [c["login"] for c in answer["credentials"]] == ["helene_lefevre"]  # zoë's password was in the file
    assert answer["credentials"][0]["full_name"] == "Hélène Lefèvre"
    assert job["state"] == "succeeded" and job["result"] == "2 of 2 changes made.", job
    helene = entry(sysroot, "passwd", "helene_lefevre")
    assert (
        helene is not None
        and helene[4] == "Hélène Lefèvre"
        and (sysroot / "home" / "helene_lefevre").is_dir()
    )
    for login, password in (
        ("helene_lefevre", answer["credentials"][0]["password"]),
        ("zoe_le-boeuf", "a-long-enough-secret-9"),
    ):
        stored = entry(sysroot, "shadow", login)
        assert stored is not None and crypt_r.crypt(password, stored[1]) == stored[1]
    assert {"helene_lefevre", "zoe_le-boeuf"} <= set(members(sysroot, "audio"))
    assert "a-long-enough-secret-9" not in str(job) and answer["credentials"][0]["password"] not in str(job)
    again = admin.post(f"/api/v1/imports/{shown['id']}/apply")
    assert again.status_code == 404, "a preview applies once"
    check_with_the_tools(sysroot)


def test_a_change_on_the_host_between_preview_and_apply_is_a_409(host: Host) -> None:
    admin = host.api.admin()
    preview = _preview(admin, b"login\nkim\n")
    assert preview.status_code == 201, preview.text
    subprocess.run(["useradd", "-P", str(host.sysroot), "-M", "--", "someone"], check=True)
    host.worker.reread()
    refused = admin.post(f"/api/v1/imports/{preview.json()['id']}/apply")
    assert refused.status_code == 409 and "preview the file again" in refused.json()["detail"]
    assert entry(host.sysroot, "passwd", "kim") is None


def test_a_sync_updates_the_cohort_and_locks_its_leavers(host: Host) -> None:
    logins = seed_users(host.sysroot, 4, groups={"class6b": [0, 1, 2]})
    host.worker.reread()
    admin = host.api.admin()
    lines = [
        "login,full_name,groups",
        f"{logins[0]},New Name,class6b",
        f"{logins[1]},,",
        "newpupil,New Pupil,",  # the cohort group added to each,
    ]
    raw = "\n".join(lines) + "\n"
    preview = _preview(admin, raw.encode(), mode="sync", group="class6b")
    assert preview.status_code == 201, preview.text
    rows = {r["login"]: (r["action"], r["changes"]) for r in preview.json()["rows"]}
    assert rows == {
        logins[0]: ("update", ["full_name"]), logins[1]: ("unchanged", []),
        "newpupil": ("create", ["login", "groups"]), logins[2]: ("leave", ["lock"]),
    }  # fmt: skip
    _answer, job = _apply(host, admin, preview.json()["id"])
    assert job["state"] == "succeeded", job
    changed = entry(host.sysroot, "passwd", logins[0])
    assert changed is not None and changed[4] == "New Name"
    leaver = entry(host.sysroot, "shadow", logins[2])
    assert leaver is not None and leaver[1].startswith("!")
    assert "newpupil" in members(host.sysroot, "class6b")
    check_with_the_tools(host.sysroot)


def test_bad_requests_change_nothing(host: Host) -> None:
    admin = host.api.admin()
    assert _preview(admin, b"").status_code == 422
    assert _preview(admin, b"shell\n/bin/sh\n").status_code == 422
    assert _preview(admin, b"login\nann\n", mode="sync").status_code == 422  # no group
    assert _preview(admin, b"login\nann\n", mode="sync", group="nosuch").status_code == 404
    assert _preview(admin, b"login\nann\n", host="nowhere").status_code == 404
    assert admin.post("/api/v1/imports/" + "0" * 32 + "/apply").status_code == 404
    big = admin.post(
        "/api/v1/imports", content=b"login\n" + b"a" * (6 * 1024 * 1024), headers={"Content-Type": "text/csv"}
    )
    assert big.status_code == 413
    form = admin.post("/api/v1/imports", files={"file": ("pupils.csv", b"login\nkim\n", "text/csv")})
    assert form.status_code == 201 and form.json()["counts"]["create"] == 1
    other = host.api.viewer().post(
        "/api/v1/imports", content=b"login\nkim\n", headers={"Content-Type": "text/csv"}
    )
    assert other.status_code == 403
    assert admin.get("/api/v1/jobs").json() == []


def test_hostile_cells_are_rows_in_error_and_change_nothing(host: Host) -> None:
    """Every value of the security corpus in every column a tool would read: each row is an
    error in the preview, so the apply has nothing to do."""
    admin = host.api.admin()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["login", "full_name", "groups", "shell"])
    sent = 0
    for value in hostile.CORPUS:
        if not value.strip():
            continue  # a blank cell is a field not given (cells are trimmed, as spreadsheets trim them)
        for column in range(4):
            if column == 1 and value in hostile.MAY_ACCEPT["full_name"]:
                continue  # text the GECOS field may hold
            row = ["fine", "Fine", "", ""] if column else [value, "Fine", "", ""]
            if column:
                row[0], row[column] = f"ok{sent}", value
            writer.writerow(row)
            sent += 1
    preview = _preview(admin, out.getvalue().encode())
    assert preview.status_code == 201, preview.text
    rows = preview.json()["rows"]
    accepted = [r for r in rows if r["action"] != "error"]
    assert accepted == [], accepted
    assert admin.post(f"/api/v1/imports/{preview.json()['id']}/apply").status_code == 409
    check_with_the_tools(host.sysroot)
