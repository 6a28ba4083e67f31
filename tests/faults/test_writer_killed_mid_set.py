"""Issue 10's last finding: a tool killed between two of the four files left them inconsistent.

Bug: ``useradd`` writes passwd, shadow, group and gshadow one after the other; SIGKILLed in
between (the chaos run did it), it left a user in passwd without its shadow line, which
pwck reports and no later job repaired. Fix: the worker writes the files itself, all the
new files and a journal first, then the renames; whoever takes the files' lock next
finishes the renames of a journal it finds. Here a process applying a change set of 300
creations is SIGKILLed at moments spread over its run, and after each kill the next change
set leaves files the shadow tools accept, holding each account whole or not at all.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.common import actions
from services.common.actions import Action
from services.worker import changeset
from services.worker.changeset import Host, Item
from tests.support.oracle import check_with_the_tools
from tests.support.processes import ROOT

APPLY_A_SET = """
import sys
from pathlib import Path
from services.common import actions
from services.common.actions import Action
from services.worker import changeset
root, prefix = Path(sys.argv[1]), sys.argv[2]
host = changeset.Host("testhost", root, root.parent / "archives")
items = [changeset.Item(f"j{n}", Action.USER_CREATE, actions.UserCreate(login=f"{prefix}{n:03d}"))
         for n in range(300)]
print("ready", flush=True)
changeset.apply(host, items)
print("done", flush=True)
"""


def _kill_during_a_set(sysroot: Path, prefix: str, after: float) -> None:
    child = subprocess.Popen([sys.executable, "-c", APPLY_A_SET, str(sysroot), prefix], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    time.sleep(after)
    child.send_signal(signal.SIGKILL)
    child.wait(30)


def _accounts_whole(sysroot: Path, prefix: str) -> None:
    """Each account of the killed set is in all four files, or in none."""
    names = {}
    for file in ("passwd", "shadow", "group", "gshadow"):
        text = (sysroot / "etc" / file).read_text()
        names[file] = {line.split(":")[0] for line in text.splitlines() if line.startswith(prefix)}
    assert names["passwd"] == names["shadow"] == names["group"] == names["gshadow"], {
        k: len(v) for k, v in names.items()
    }


@pytest.mark.parametrize("after", [0.0, 0.02, 0.05, 0.1, 0.2, 0.4])
def test_a_set_killed_anywhere_leaves_nothing_half_written(
    sysroot: Path, tmp_path: Path, after: float
) -> None:
    prefix = "cut"
    _kill_during_a_set(sysroot, prefix, after)
    host = Host("testhost", sysroot, tmp_path / "archives")
    # The next set, on what the killed one left: finishes its renames if it was cut there.
    [outcome] = changeset.apply(
        host, [Item("next", Action.USER_CREATE, actions.UserCreate(login="after"))]
    ).outcomes
    assert outcome.error is None, outcome.error
    _accounts_whole(sysroot, prefix)
    check_with_the_tools(sysroot)
    assert not list((sysroot / "etc").glob("*.wmi2-new")) and not (sysroot / "etc" / ".wmi2-journal").exists()
