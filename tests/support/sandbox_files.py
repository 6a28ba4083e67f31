"""Reading a sandbox's account files as a test checks them: the truth, not the read model."""

from __future__ import annotations

from pathlib import Path

ACCOUNT_FILES = ("passwd", "group", "shadow", "gshadow")


def entry(sysroot: Path, file: str, name: str) -> list[str] | None:
    for line in (sysroot / "etc" / file).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


def members(sysroot: Path, group: str) -> set[str]:
    fields = entry(sysroot, "group", group)
    assert fields is not None, f"no group {group}"
    return {m for m in fields[3].split(",") if m}


def snapshot(sysroot: Path) -> dict[str, bytes]:
    """Every account file, and the listing of home/, byte for byte."""
    files = {name: (sysroot / "etc" / name).read_bytes() for name in ACCOUNT_FILES}
    files["home/"] = "\n".join(sorted(p.name for p in (sysroot / "home").iterdir())).encode()
    return files
