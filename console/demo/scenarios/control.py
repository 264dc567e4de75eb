"""Start, list and stop rehearsals: one scenario process each, recorded in the state folder.

``start`` launches the scenario process (``hold``) in a session of its own, hands
it the URL on stdin and returns once its sessions are in place; the process
writes ``<state>/scenarios/<name>.json`` (its pid, its sessions' pids). ``stop``
sends it SIGTERM and waits until it has ended its sessions and gone. Any process
may stop a rehearsal another one started. Everything here blocks for at most a
few seconds: the TUI calls it from a thread worker.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from console.core.run.pids import runner_alive
from console.demo.scenarios.catalog import SCENARIOS
from console.demo.scenarios.hold import READY, SETUP_TIMEOUT_S
from console.errors import BadInput, ConnectError
from console.glyphs import G

START_TIMEOUT_S = SETUP_TIMEOUT_S + 15  # connecting, then the sessions' setup
STOP_TIMEOUT_S = 15.0
_children: dict[int, subprocess.Popen[bytes]] = {}  # started here: reaped when seen gone


@dataclass(frozen=True)
class Running:
    """A rehearsal whose scenario process is alive."""

    name: str
    title: str
    pid: int  # the scenario process
    sessions: tuple[int, ...]  # its sessions' backend pids
    started_at: str
    database: str  # masked
    process_start: int | None = None  # tells the process from a later one with its pid


def records_dir(state_dir: Path | None = None) -> Path:
    if state_dir is None:
        from console.demo.server import demo_state_dir

        state_dir = demo_state_dir()
    return state_dir.expanduser() / "scenarios"


def check_name(name: str) -> str:
    if name not in SCENARIOS:
        shown = name if len(name) <= 40 else f"{name[:40]}{G.ellipsis}"
        raise BadInput(
            f"There is no scenario called {shown!r}.",
            f"Choose one of: {', '.join(SCENARIOS)}.",
        )
    return name


def refuse_if_running(name: str, state_dir: Path | None = None) -> None:
    already = next((r for r in running(state_dir) if r.name == name), None)
    if already is not None:
        raise BadInput(
            f"The rehearsal {name} is already running (scenario process pid {already.pid}).",
            "`migration-console demo --stop-scenarios` ends it.",
        )


def running(state_dir: Path | None = None) -> list[Running]:
    """The rehearsals whose process is alive, in the catalog's order."""
    folder = records_dir(state_dir)
    found: dict[str, Running] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        r = _read(path)
        if r is not None and _alive(r.pid, r.process_start):
            found[r.name] = r
    return [found[n] for n in SCENARIOS if n in found]


def start(url: str, name: str, state_dir: Path | None = None) -> Running:
    """Start a rehearsal on the database at ``url``; returns once its sessions hang."""
    check_name(name)
    refuse_if_running(name, state_dir)
    folder = records_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    record = (folder / f"{name}.json").resolve()
    with (folder / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console.demo.scenarios", name, str(record)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # no terminal: a closed one, or Ctrl-C in it, leaves it be
        )
    _children[proc.pid] = proc
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        proc.stdin.write(json.dumps({"url": url}).encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass  # it ended at once; its first line says why
    line = _first_line(proc, START_TIMEOUT_S)
    proc.stdout.close()
    if line != READY:
        _end(proc.pid, None)
        log_hint = f"Its log is {folder / f'{name}.log'}."
        if line is None:
            raise ConnectError(
                f"The rehearsal {name} did not start within {START_TIMEOUT_S:.0f} s.", log_hint
            )
        if not line.startswith("error: "):
            raise ConnectError(f"The rehearsal {name} ended before it started.", log_hint)
        raise ConnectError(
            f"The rehearsal {name} did not start: {line.removeprefix('error: ').rstrip('.')}.",
            "Rehearsals run on the demo database: `migration-console demo` starts it.",
        )
    r = _read(record)
    if r is None:
        _end(proc.pid, None)
        raise ConnectError(
            f"The rehearsal {name} started but left no record in {record}.",
            f"Its log is {folder / f'{name}.log'}.",
        )
    return r


def stop(name: str | None = None, state_dir: Path | None = None) -> list[Running]:
    """End one rehearsal, or every one; returns those that were running. Each process ends
    its sessions through the server before it goes, so they are gone when this returns."""
    if name is not None:
        check_name(name)
    folder = records_dir(state_dir)
    ended = [r for r in running(state_dir) if name is None or r.name == name]
    for r in ended:
        _signal(r.pid, signal.SIGTERM)  # all at once: they end their sessions side by side
    for r in ended:
        _end(r.pid, r.process_start, signal_first=False)
    for path in folder.glob("*.json") if folder.is_dir() else ():
        got = _read(path)
        if got is None or not _alive(got.pid, got.process_start):
            path.unlink(missing_ok=True)  # its process is gone
    return ended


# -- processes ---------------------------------------------------------------------------------


def _first_line(proc: subprocess.Popen[bytes], limit_s: float) -> str | None:
    """The process's first line; "" if it ended without one, None if it never came."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    end = time.monotonic() + limit_s
    while b"\n" not in data:
        left = end - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break  # it ended without a word
            data += chunk
    return data.decode(errors="replace").split("\n", 1)[0].strip()


def _alive(pid: int, started: int | None) -> bool:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)  # reaped
        return False
    return bool(runner_alive(pid, started=started))


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _end(pid: int, started: int | None, *, signal_first: bool = True) -> None:
    """Wait for the process to go (SIGTERM first unless sent already); SIGKILL if it hangs."""
    if signal_first:
        _signal(pid, signal.SIGTERM)
    end = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid, started):
        if time.monotonic() > end:
            _signal(pid, signal.SIGKILL)
            end = time.monotonic() + 5
            while _alive(pid, started) and time.monotonic() < end:
                time.sleep(0.05)
            return
        time.sleep(0.05)


# -- records -----------------------------------------------------------------------------------


def _read(path: Path) -> Running | None:
    """A record, or None when it is unreadable (or names no scenario of this version)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        sc = SCENARIOS[str(data["name"])]
        started = data.get("started")
        return Running(
            sc.name,
            sc.title,
            int(data["pid"]),
            tuple(int(p) for p in data.get("sessions", ())),
            str(data.get("started_at", "")),
            str(data.get("database", "")),
            started if isinstance(started, int) else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
