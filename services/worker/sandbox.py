"""A sandbox root: a real root holding the account files of a fresh Debian host.

Every test, demo and benchmark manages one of these instead of this machine's own
``/etc``. The files are written from the tables below, not copied from the machine, so
a sandbox is the same everywhere.
"""

from __future__ import annotations

from pathlib import Path

# login, uid, gid, full name, home, shell: Debian 12's base-passwd, plus nobody.
SYSTEM_USERS: list[tuple[str, int, int, str, str, str]] = [
    ("root", 0, 0, "root", "/root", "/bin/bash"),
    ("daemon", 1, 1, "daemon", "/usr/sbin", "/usr/sbin/nologin"),
    ("bin", 2, 2, "bin", "/bin", "/usr/sbin/nologin"),
    ("sys", 3, 3, "sys", "/dev", "/usr/sbin/nologin"),
    ("sync", 4, 65534, "sync", "/bin", "/bin/sync"),
    ("games", 5, 60, "games", "/usr/games", "/usr/sbin/nologin"),
    ("man", 6, 12, "man", "/var/cache/man", "/usr/sbin/nologin"),
    ("lp", 7, 7, "lp", "/var/spool/lpd", "/usr/sbin/nologin"),
    ("mail", 8, 8, "mail", "/var/mail", "/usr/sbin/nologin"),
    ("news", 9, 9, "news", "/var/spool/news", "/usr/sbin/nologin"),
    ("uucp", 10, 10, "uucp", "/var/spool/uucp", "/usr/sbin/nologin"),
    ("proxy", 13, 13, "proxy", "/bin", "/usr/sbin/nologin"),
    ("www-data", 33, 33, "www-data", "/var/www", "/usr/sbin/nologin"),
    ("backup", 34, 34, "backup", "/var/backups", "/usr/sbin/nologin"),
    ("list", 38, 38, "Mailing List Manager", "/var/list", "/usr/sbin/nologin"),
    ("irc", 39, 39, "ircd", "/run/ircd", "/usr/sbin/nologin"),
    ("_apt", 42, 65534, "", "/nonexistent", "/usr/sbin/nologin"),
    ("nobody", 65534, 65534, "nobody", "/nonexistent", "/usr/sbin/nologin"),
]

SYSTEM_GROUPS: list[tuple[str, int]] = [
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("man", 12),
    ("proxy", 13),
    ("kmem", 15),
    ("dialout", 20),
    ("fax", 21),
    ("voice", 22),
    ("cdrom", 24),
    ("floppy", 25),
    ("tape", 26),
    ("sudo", 27),
    ("audio", 29),
    ("dip", 30),
    ("www-data", 33),
    ("backup", 34),
    ("operator", 37),
    ("list", 38),
    ("irc", 39),
    ("src", 40),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("sasl", 45),
    ("plugdev", 46),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
]

SHELLS = [
    "/bin/sh",
    "/usr/bin/sh",
    "/bin/bash",
    "/usr/bin/bash",
    "/bin/rbash",
    "/usr/bin/rbash",
    "/bin/dash",
    "/usr/bin/dash",
    "/usr/sbin/nologin",
]

# The settings of Debian's login.defs that the shadow tools read when adding accounts.
LOGIN_DEFS = """\
MAIL_DIR        /var/mail
PASS_MAX_DAYS   99999
PASS_MIN_DAYS   0
PASS_WARN_AGE   7
UID_MIN                  1000
UID_MAX                 60000
SYS_UID_MIN               100
SYS_UID_MAX               999
GID_MIN                  1000
GID_MAX                 60000
SYS_GID_MIN               100
SYS_GID_MAX               999
UMASK           022
HOME_MODE       0700
USERGROUPS_ENAB yes
ENCRYPT_METHOD SHA512
"""

SKEL = {
    ".bashrc": '# ~/.bashrc: executed by bash(1) for non-login shells.\n[ -z "$PS1" ] && return\n',
    ".profile": "# ~/.profile: executed by the command interpreter for login shells.\n",
    ".bash_logout": "# ~/.bash_logout: executed by bash(1) when login shell exits.\n",
}

# The shadow tools' own defaults, so that they never fall back to this machine's /etc/default.
USERADD_DEFAULTS = "SHELL=/bin/bash\nSKEL=/etc/skel\nCREATE_MAIL_SPOOL=no\n"


def _write(path: Path, text: str, mode: int) -> None:
    path.write_text(text)
    path.chmod(mode)


def init_sandbox(root: Path) -> Path:
    """Create a sandbox root in ``root`` (which must not hold one yet) and return it."""
    root = root.resolve()
    etc = root / "etc"
    if (etc / "passwd").exists():
        raise FileExistsError(f"{root} already holds a sandbox")
    for folder in (etc / "skel", etc / "default", root / "home", root / "var" / "mail", root / "root"):
        folder.mkdir(parents=True, exist_ok=True)
    passwd = "".join(f"{n}:x:{u}:{g}:{c}:{h}:{s}\n" for n, u, g, c, h, s in SYSTEM_USERS)
    shadow = "".join(f"{n}:{'*' if n != 'root' else '!'}:20000:0:99999:7:::\n" for n, *_ in SYSTEM_USERS)
    group = "".join(f"{n}:x:{g}:\n" for n, g in SYSTEM_GROUPS)
    gshadow = "".join(f"{n}:*::\n" for n, _ in SYSTEM_GROUPS)
    _write(etc / "passwd", passwd, 0o644)
    _write(etc / "group", group, 0o644)
    _write(etc / "shadow", shadow, 0o640)
    _write(etc / "gshadow", gshadow, 0o640)
    _write(etc / "login.defs", LOGIN_DEFS, 0o644)
    _write(etc / "shells", "# /etc/shells: valid login shells\n" + "\n".join(SHELLS) + "\n", 0o644)
    _write(etc / "default" / "useradd", USERADD_DEFAULTS, 0o644)
    for name, text in SKEL.items():
        _write(etc / "skel" / name, text, 0o644)
    return root
