"""The child processes of bench_tui.py and the pseudo-terminals they draw into.

The standard library only: a child imports this before the console, whose import it
measures.
"""

from __future__ import annotations

import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _load import console_env

SCRIPT = Path(__file__).resolve().parent.parent / "bench_tui.py"  # what a child runs
SIZE = (120, 40)
CHILD_TIMEOUT_S = 300.0  # one child process, whatever it does
STARTUP_TIMEOUT_S = 30.0  # one start-up, to the table filled
QUIT_TIMEOUT_S = 10.0
LAUNCH_ENV = "BENCH_TUI_LAUNCH"  # time.monotonic() of the parent just before spawning
ESC = re.compile(rb"\x1b(?:\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def child_env(url: str, work: Path) -> dict[str, str]:
    """The console's environment on ``url``, with no Textual or terminal settings of ours."""
    state = work / "state"  # the runs' event logs, if any
    strip = ("TEXTUAL", "COLUMNS", "LINES", "NO_COLOR")
    return console_env(url, state, strip=strip, TERM="xterm-256color", XDG_STATE_HOME=str(state))


def spawn_child(
    what: str,
    url: str,
    work: Path,
    out: Path,
    *args: str,
    tty: bool = False,
    timeout_s: float = CHILD_TIMEOUT_S,
) -> dict[str, Any]:
    """``bench_tui.py --child WHAT … --out OUT``, headless or (``tty``) drawing into a real
    pseudo-terminal (Textual's LinuxDriver: ANSI output included) that this process only
    drains; what the child wrote to ``out``."""
    cmd = [sys.executable, str(SCRIPT), "--child", what, "--url", url, "--work", str(work)]
    cmd += ["--out", str(out), *args]
    env = child_env(url, work)
    env[LAUNCH_ENV] = repr(time.monotonic())
    if not tty:
        proc = subprocess.run(
            cmd, env=env, cwd=work, capture_output=True, text=True, timeout=timeout_s
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the {what} child failed:\n{proc.stdout}{proc.stderr}")
    else:
        buf = bytearray()
        with in_pty(cmd, env, work) as (p, fd):
            end = time.monotonic() + timeout_s
            while p.poll() is None and time.monotonic() < end:
                if not drain(fd, time.monotonic() + 0.2, buf):
                    break
                del buf[:-20000]  # keep the tail: an error message is at the end
        if p.returncode != 0:
            tail = ESC.sub(b"", bytes(buf[-4000:])).decode(errors="replace")
            raise RuntimeError(f"the {what} child (pty) failed: {tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def rss_kib() -> tuple[int, int]:
    """(current, peak) resident set size of this process in KiB (Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    current = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1])
    except OSError:
        pass
    return current, peak


# -- a pseudo-terminal ------------------------------------------------------------------------


@contextmanager
def in_pty(cmd: list[str], env: dict[str, str], cwd: Path) -> Iterator[tuple[Any, int]]:
    """``cmd`` in a new 120x40 pseudo-terminal: (the process, the terminal's fd); at the
    end its process group is waited for (its output drained), then killed."""
    import fcntl
    import pty
    import struct
    import termios

    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    proc = subprocess.Popen(
        cmd, stdin=child, stdout=child, stderr=child, env=env, cwd=cwd, start_new_session=True
    )
    os.close(child)
    try:
        yield proc, parent
    finally:
        stop_process(proc, parent)
        os.close(parent)


def drain(fd: int, until: float, buf: bytearray | None = None) -> bool:
    """Read what the child writes to the terminal until `until` or EOF; False on EOF."""
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return True
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            if buf is not None:
                buf += data


def watch(
    fd: int, t0: float, tests: dict[str, Callable[[bytes], bool]], last: str
) -> tuple[dict[str, float | None], bytearray]:
    """Seconds from ``t0`` (monotonic) to the first byte on the terminal ("output") and to
    each of ``tests`` first holding on what it shows (escape sequences removed); until
    ``last`` holds, EOF or STARTUP_TIMEOUT_S. The marks, and all it read."""
    marks: dict[str, float | None] = dict.fromkeys(("output", *tests))
    buf = bytearray()
    end = t0 + STARTUP_TIMEOUT_S
    while marks[last] is None and time.monotonic() < end:
        before = len(buf)
        if not drain(fd, time.monotonic() + 0.01, buf):
            break
        if len(buf) == before:
            continue
        now = time.monotonic() - t0
        if marks["output"] is None:
            marks["output"] = now
        plain = ESC.sub(b"", bytes(buf))
        for name, test in tests.items():
            if marks[name] is None and test(plain):
                marks[name] = now
    return marks, buf


def stop_process(proc: subprocess.Popen[bytes], fd: int | None = None) -> None:
    """Wait for the child (draining its terminal), then kill its process group."""
    end = time.monotonic() + QUIT_TIMEOUT_S
    while proc.poll() is None and time.monotonic() < end:
        if fd is None or not drain(fd, time.monotonic() + 0.1):
            try:
                proc.wait(0.1)
            except subprocess.TimeoutExpired:
                pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)
