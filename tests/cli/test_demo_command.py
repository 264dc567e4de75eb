"""`migration-console demo` as an operator runs it: in a terminal it opens the console."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers import ROOT, run_cli


def _read_until(fd: int, needle: bytes, limit_s: float) -> bytes:
    seen = b""
    end = time.monotonic() + limit_s
    while needle not in seen:
        if time.monotonic() > end:
            raise AssertionError(f"never saw {needle!r}; got {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def test_demo_opens_the_console_in_a_terminal_and_quits() -> None:
    state = Path(tempfile.mkdtemp(prefix="mc-demo-test-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        MIGRATION_CONSOLE_DEMO_DIR=str(state / "demo"),
        TERM="xterm-256color",
        COLUMNS="100",
        LINES="30",
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console",
            "--history",
            str(state / "history.toml"),
            "demo",
            "--rows",
            "2000",
        ],
        cwd=ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    try:
        screen = _read_until(master, b"Checklist", 120)
        assert b"Traceback" not in screen
        _read_until(master, b"pending", 60)  # the migrations table came from the database
        os.write(master, b"q")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        from console.demo.server import DemoServer

        DemoServer().reset(state / "demo")
        shutil.rmtree(state, ignore_errors=True)


def test_demo_without_terminal_prints_status(tmp_path: Path) -> None:
    state = Path(tempfile.mkdtemp(prefix="mc-demo-test-"))
    try:
        r = run_cli(
            "--history",
            str(tmp_path / "history.toml"),
            "demo",
            "--rows",
            "2000",
            "--no-tui",
            env={"MIGRATION_CONSOLE_DEMO_DIR": str(state / "demo")},
        )
        assert r.code == 0, r.output
        assert "add_composite_indexes_20251123" in r.stdout and "export DATABASE_URL=" in r.stdout
    finally:
        from console.demo.server import DemoServer

        DemoServer().reset(state / "demo")
        shutil.rmtree(state, ignore_errors=True)
