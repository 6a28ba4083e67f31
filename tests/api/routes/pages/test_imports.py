"""The roster import page (routes/pages/imports.py) as a browser without script uses it: the
file posted, its preview, its apply, the sheet of passwords; the job run by the worker's code."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import crypt_r
import httpx

from tests.api.routes.pages.forms import refusal
from tests.support.inprocess import Host
from tests.support.sandbox_files import entry

ROSTER = "first_name;last_name\r\nHélène;Lefèvre\r\nZoë;Le Bœuf\r\n;;\r\n".encode("cp1252")
APPLY = re.compile(r'action="/imports/([0-9a-f]{32})/apply"')
CARD = re.compile(r"Login: <code>([^<]+)</code></p>\s*<p>Password: <code>([^<]+)</code>")


def _post_file(client: httpx.Client, raw: bytes, **fields: str) -> httpx.Response:
    data = {"csrf_token": client.headers["X-CSRF-Token"], **fields}
    return client.post("/imports/", data=data, files={"file": ("6b.csv", raw, "text/csv")})


def test_preview_apply_and_the_sheet(host: Host) -> None:
    admin = host.api.admin()
    page = admin.get("/imports/")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    assert 'href="/imports/"' in page.text  # in the admin's navigation
    preview = _post_file(admin, ROSTER)
    assert preview.status_code == 200, preview.text
    assert 'data-count="create">2<' in preview.text and "windows-1252" in preview.text
    assert "helene_lefevre" in preview.text and "zoe_le-boeuf" in preview.text
    assert entry(host.sysroot, "passwd", "helene_lefevre") is None, "a preview changes nothing"
    found = APPLY.search(preview.text)
    assert found is not None

    sheet = admin.post(f"/imports/{found.group(1)}/apply", data={"csrf_token": admin.headers["X-CSRF-Token"]})
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["cache-control"] == "no-store"
    cards = {login: html.unescape(password) for login, password in CARD.findall(sheet.text)}
    assert sorted(cards) == ["helene_lefevre", "zoe_le-boeuf"]
    csv_link = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)" download', sheet.text)
    assert csv_link is not None and all(
        p in unquote(html.unescape(csv_link.group(1))) for p in cards.values()
    )
    assert len(host.worker.run_queued()) == 1
    for login, password in cards.items():
        stored = entry(host.sysroot, "shadow", login)
        assert stored is not None and crypt_r.crypt(password, stored[1]) == stored[1]
    assert (
        admin.post(
            f"/imports/{found.group(1)}/apply", data={"csrf_token": admin.headers["X-CSRF-Token"]}
        ).status_code
        == 404
    )


def test_refusals_are_pages_and_a_viewer_cannot_import(host: Host) -> None:
    admin = host.api.admin()
    empty = _post_file(admin, b"")
    assert empty.status_code == 422 and "The file is empty" in refusal(empty)
    unknown_mode = _post_file(admin, b"login\nkim\n", mode="explode")
    assert unknown_mode.status_code == 422
    no_group = _post_file(admin, b"login\nkim\n", mode="sync")
    assert no_group.status_code == 422 and "cohort's group" in refusal(no_group)
    forged = admin.post(
        "/imports/", data={"csrf_token": "forged"}, files={"file": ("a.csv", b"login\nkim\n")}
    )
    assert forged.status_code == 403
    viewer = host.api.viewer()
    assert viewer.get("/imports/").status_code == 403
    assert 'href="/imports/"' not in viewer.get("/users/").text
