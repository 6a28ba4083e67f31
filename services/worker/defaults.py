"""What the host's own settings give a new account: its ``login.defs`` and ``default/useradd``,
read as ``useradd`` reads them, so that an account WMI2 writes is the one the tool would make.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def _settings(path: Path, separator: str | None) -> dict[str, str]:
    """KEY VALUE (login.defs) or KEY=VALUE (default/useradd) lines; comments skipped."""
    values: dict[str, str] = {}
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=") if separator == "=" else line.partition(" ")
        values[key.strip()] = value.strip().strip('"')
    return values


def _number(values: dict[str, str], key: str, default: int, base: int = 10) -> int:
    try:
        return int(values[key], base)
    except (KeyError, ValueError):
        return default


@dataclass(frozen=True)
class Defaults:
    uid_min: int
    uid_max: int
    gid_min: int
    gid_max: int
    pass_min_days: int
    pass_max_days: int
    pass_warn_age: int
    user_groups: bool
    home_mode: int
    home_base: str
    shell: str
    skel: str
    inactive: int
    expire: str

    def shadow_aging(self) -> list[str]:
        """Shadow's fields 4 to 8 (min, max, warn, inactive, expire) for a new account."""
        inactive = str(self.inactive) if self.inactive >= 0 else ""
        return [
            str(self.pass_min_days),
            str(self.pass_max_days),
            str(self.pass_warn_age),
            inactive,
            self.expire,
        ]


def read(etc: Path) -> Defaults:
    defs = _settings(etc / "login.defs", None)
    useradd = _settings(etc / "default" / "useradd", "=")
    umask = _number(defs, "UMASK", 0o022, 8)
    home = useradd.get("HOME", "/home")
    return Defaults(
        uid_min=_number(defs, "UID_MIN", 1000),
        uid_max=_number(defs, "UID_MAX", 60000),
        gid_min=_number(defs, "GID_MIN", 1000),
        gid_max=_number(defs, "GID_MAX", 60000),
        pass_min_days=_number(defs, "PASS_MIN_DAYS", 0),
        pass_max_days=_number(defs, "PASS_MAX_DAYS", 99999),
        pass_warn_age=_number(defs, "PASS_WARN_AGE", 7),
        user_groups=defs.get("USERGROUPS_ENAB", "yes").lower() == "yes",
        home_mode=_number(defs, "HOME_MODE", 0o777 & ~umask, 8) & 0o7777,
        home_base=home if home.startswith("/") else "/home",
        shell=useradd.get("SHELL", "/bin/sh"),
        skel=useradd.get("SKEL", "/etc/skel"),
        inactive=_number(useradd, "INACTIVE", -1),
        expire=useradd.get("EXPIRE", ""),
    )
