"""Issue 10.1: a tool outlived the job that ran it.

Bug: a pool process SIGKILLed mid-``useradd`` left the tool running on (no parent-death
signal); it finished the change after the job had been handed to another delivery, which
then failed with "user already exists", and no lock could tell that a writer was still
at work. Fix: every tool is started through ``setpriv --pdeathsig KILL``, so the kernel
kills it with the thread that started it.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import psutil

from tests.support.processes import ROOT
from tests.support.wait import wait_for

RUN_A_TOOL = """
import subprocess, sys
from services.worker.shadow import dying_with_caller
print("starting", flush=True)
subprocess.run(dying_with_caller(["/bin/sleep", "600"]))
"""


def test_a_tool_dies_with_the_process_that_ran_it() -> None:
    job = subprocess.Popen([sys.executable, "-c", RUN_A_TOOL], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert job.stdout is not None and job.stdout.readline().strip() == "starting"
    parent = psutil.Process(job.pid)
    # setpriv execs the tool in its own process: wait until it has.
    tool = wait_for(lambda: next((p for p in parent.children() if p.name() == "sleep"), None),
                    timeout=30, what="the tool")  # fmt: skip
    assert tool is not None
    job.send_signal(signal.SIGKILL)
    job.wait()
    try:
        gone = wait_for(lambda: not tool.is_running() or tool.status() == psutil.STATUS_ZOMBIE,
                        timeout=30, what="the tool to die with its job")  # fmt: skip
        assert gone
    finally:
        if tool.is_running():
            tool.kill()
