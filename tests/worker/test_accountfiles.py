"""The account files in memory and written back: bytes kept, backups, all or nothing."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from services.worker import accountfiles, pwlock
from services.worker.accountfiles import JOURNAL, NEW_SUFFIX


def _edit(etc: Path) -> accountfiles.AccountFiles:
    with pwlock.locked(etc):
        files = accountfiles.read(etc)
        files.passwd.put("zed", ["zed", "x", "1500", "1500", "", "/home/zed", "/bin/sh"])
        files.shadow.put("zed", ["zed", "!", "20000", "0", "99999", "7", "", "", ""])
        return files


def test_a_line_that_is_not_utf8_is_written_back_as_it_was(sysroot: Path) -> None:
    etc = sysroot / "etc"
    odd = b"ren\xe9:x:1400:1400:Ren\xe9 Latin-1:/home/rene:/bin/sh\n"
    (etc / "passwd").write_bytes((etc / "passwd").read_bytes() + odd)
    accountfiles.forget(etc)
    accountfiles.write(_edit(etc))
    assert odd in (etc / "passwd").read_bytes()


def test_the_old_file_is_kept_as_a_backup_with_the_same_mode(sysroot: Path) -> None:
    etc = sysroot / "etc"
    before = (etc / "shadow").read_bytes()
    accountfiles.write(_edit(etc))
    assert (etc / "shadow-").read_bytes() == before
    assert (etc / "shadow").stat().st_mode & 0o777 == 0o640 == (etc / "shadow-").stat().st_mode & 0o777
    assert b"zed:" in (etc / "shadow").read_bytes()
    assert not list(etc.glob(f"*{NEW_SUFFIX}")) and not (etc / JOURNAL).exists()


def _cut_after_first_rename(etc: Path) -> dict[str, bytes]:
    """What a writer killed between the renames of passwd and shadow leaves; the new files."""
    files = _edit(etc)
    planned = []
    for name in ("passwd", "shadow"):
        st = (etc / name).stat()
        (etc / f"{name}{NEW_SUFFIX}").write_bytes(files.tables[name].text())
        planned.append({"file": name, "replaces": [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]})
    (etc / JOURNAL).write_bytes(orjson.dumps(planned))
    os.replace(etc / f"passwd{NEW_SUFFIX}", etc / "passwd")
    accountfiles.forget(etc)
    return {name: files.tables[name].text() for name in ("passwd", "shadow")}


def test_a_set_cut_off_between_two_renames_is_finished_by_the_next_writer(sysroot: Path) -> None:
    etc = sysroot / "etc"
    new = _cut_after_first_rename(etc)
    assert b"zed:" not in (etc / "shadow").read_bytes()  # zed in passwd only: inconsistent
    with pwlock.locked(etc):
        assert accountfiles.recover(etc) == ["shadow"]
    assert (etc / "shadow").read_bytes() == new["shadow"] and (etc / "passwd").read_bytes() == new["passwd"]
    assert not (etc / JOURNAL).exists() and not list(etc.glob(f"*{NEW_SUFFIX}"))


def test_a_file_changed_since_the_cut_is_not_overwritten(sysroot: Path) -> None:
    etc = sysroot / "etc"
    _cut_after_first_rename(etc)
    by_hand = (etc / "shadow").read_bytes() + b"hand:!:20000:0:99999:7:::\n"
    (etc / "shadow").write_bytes(by_hand)  # a tool wrote it after the writer died
    with pwlock.locked(etc):
        assert accountfiles.recover(etc) == []
    assert (etc / "shadow").read_bytes() == by_hand
    assert not (etc / JOURNAL).exists() and not list(etc.glob(f"*{NEW_SUFFIX}"))


def test_files_unchanged_since_the_last_write_are_not_read_again(sysroot: Path) -> None:
    etc = sysroot / "etc"
    written = _edit(etc)
    accountfiles.write(written)
    with pwlock.locked(etc):
        assert accountfiles.read(etc) is written
    os.utime(etc / "group", ns=(1, 1))  # any writer changes the file's identity
    with pwlock.locked(etc):
        assert accountfiles.read(etc) is not written
