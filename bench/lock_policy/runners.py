"""The runner processes this benchmark started, found by their pid and ended by it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from console.core import events as ev
from console.core.run.pids import runner_alive

REAP_TIMEOUT_S = 15.0  # a runner process must exit this soon after its run ended


def runner_pids(state: Path) -> list[int]:
    """Runner processes named in the event logs under ``state`` (RunStarted.runner_pid)."""
    pids: list[int] = []
    for log in (state / "runs").glob("*.jsonl") if (state / "runs").exists() else []:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            e = ev.decode(line) if line.strip() else None
            if isinstance(e, ev.RunStarted) and e.runner_pid:
                pids.append(e.runner_pid)
    return pids


def end_runners(state: Path, *, wait_s: float) -> list[int]:
    """Wait (bounded) for the runners started under ``state`` to exit; SIGKILL, by pid,
    any that has not. Returns the pids that had to be killed."""
    killed = []
    deadline = time.monotonic() + wait_s
    for pid in runner_pids(state):
        while runner_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if runner_alive(pid):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


def reap_child(pid: int, wait_s: float = REAP_TIMEOUT_S) -> float | None:
    """Wait for a forked runner (our child) to exit; SIGKILL it after wait_s. Returns when
    it was seen gone (perf_counter), None if it was already reaped (by Launched.alive)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return time.perf_counter()
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise RuntimeError(f"runner pid {pid} did not exit within {wait_s:.0f} s: killed")
        time.sleep(0.001)
