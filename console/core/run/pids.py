"""Which process is a runner, and whether it is still there."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def this_host() -> str:
    return socket.gethostname()


def process_start(pid: int) -> int | None:
    """When a process started (clock ticks since boot; Linux only): with its pid, it names
    the process, where a pid alone may since have been given to another one."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def runner_alive(pid: int | None, host: str = "", started: int | None = None) -> bool | None:
    """Whether a runner process is alive: True/False on this host, None on another
    (a face there can tell; here the database can: see ``recovery``). ``started``
    (from the run's record) tells the runner from a later process with the same pid."""
    if not pid:
        return False
    if host and host != this_host():
        return None
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return False
        if fields[0] in ("Z", "X"):
            return False
        if started:
            return fields[19] == str(started)
        try:
            return b"console" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
    return pid_exists(pid)


def pid_exists(pid: int) -> bool:
    """Whether some process has this pid (one of another user's counts too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def record_alive(record: object) -> bool | None:
    """runner_alive for a run's record (or anything with its runner_pid, host, runner_started)."""
    return runner_alive(
        getattr(record, "runner_pid", None),
        getattr(record, "host", ""),
        getattr(record, "runner_started", None),
    )
