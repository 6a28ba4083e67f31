"""Many plausible users written straight into a sandbox's account files, before its worker starts.

Writing the files (rather than running useradd 2,000 times) takes milliseconds; the
worker's first read then finds them as it would on a real host.
"""

from __future__ import annotations

from pathlib import Path

FIRST = [
    "alice", "bruno", "chloe", "david", "emma", "farid", "gina", "hugo", "ines", "jules", "karim", "lea",
    "marc", "nina", "omar", "paula", "quentin", "rosa", "samir", "tara", "ugo", "vera", "wael", "yann", "zoe",
]  # fmt: skip
LAST = [
    "martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy", "moreau",
    "simon", "laurent", "lefebvre", "michel", "garcia", "david", "bertrand", "roux", "vincent", "fournier",
]  # fmt: skip
FIRST_UID = 2000


def people(count: int) -> list[tuple[str, str]]:
    """``count`` distinct (login, full name) pairs."""
    found = []
    for n in range(count):
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
        round_ = n // (len(FIRST) * len(LAST))
        login = f"{first}_{last}" + (str(round_) if round_ else "")
        found.append((login, f"{first.title()} {last.title()}"))
    return found


def seed_users(sysroot: Path, count: int, *, groups: dict[str, list[int]] | None = None) -> list[str]:
    """Append ``count`` users (each with its own group, a password, a home path) to the account files.

    ``groups`` maps a new group's name to the indexes of the seeded users who are its members.
    Returns the logins, in order.
    """
    etc = sysroot / "etc"
    chosen = people(count)
    passwd, shadow, group, gshadow = [], [], [], []
    for n, (login, name) in enumerate(chosen):
        uid = FIRST_UID + n
        passwd.append(f"{login}:x:{uid}:{uid}:{name}:/home/{login}:/bin/bash\n")
        # A "$6$" hash of nothing in particular: the account has a password, locked or not.
        locked = "!" if n % 17 == 5 else ""
        shadow.append(f"{login}:{locked}$6$seed$0123456789abcdefghijklmnopqrstuvwxyz:20000:0:99999:7:::\n")
        group.append(f"{login}:x:{uid}:\n")
        gshadow.append(f"{login}:!::\n")
    for k, (name, members) in enumerate((groups or {}).items()):
        listed = ",".join(chosen[i][0] for i in members)
        group.append(f"{name}:x:{FIRST_UID + count + k}:{listed}\n")
        gshadow.append(f"{name}:!::{listed}\n")
    for file, lines in (("passwd", passwd), ("shadow", shadow), ("group", group), ("gshadow", gshadow)):
        with (etc / file).open("a") as out:
            out.writelines(lines)
    return [login for login, _ in chosen]
