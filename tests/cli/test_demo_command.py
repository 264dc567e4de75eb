"""`migration-console demo` as an operator runs it: in a terminal it opens the console."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers import ROOT, SHIPPED, run_cli

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _read_until(fd: int, needle: bytes, limit_s: float, *, plain: bool = False) -> bytes:
    """Read the terminal until `needle` shows (`plain`: in the text, styles left out)."""
    seen = b""
    end = time.monotonic() + limit_s
    while needle not in (ANSI.sub(b"", seen) if plain else seen):
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
        os.write(master, b"\x10")  # ctrl+p: the palette offers the demo's rehearsals
        _read_until(master, b"Search for commands", 30)
        os.write(master, b"rehearse writer")
        _read_until(master, b"Rehearse: writer idle in transaction", 30, plain=True)
        os.write(master, b"\x1b")  # escape: close it; the table under it is drawn again
        _read_until(master, b"add_composite_indexes_20251123", 30, plain=True)
        os.write(master, b"q")
        after = _read_until(master, b"demo --stop` stops it", 60)
        assert b"The demo server keeps running" in after
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        from console.demo.server import DemoServer

        DemoServer().reset(state / "demo")
        shutil.rmtree(state, ignore_errors=True)


def test_the_packaged_migration_is_the_repositorys() -> None:
    """The wheel's copy (for `demo` outside a checkout) never drifts from migrations/."""
    packaged = ROOT / "console" / "demo" / "migrations"
    assert sorted(p.name for p in packaged.glob("*.sql")) == [SHIPPED.name]
    assert (packaged / SHIPPED.name).read_bytes() == SHIPPED.read_bytes()


def test_the_packaged_history_holds_the_seed_row(tmp_path: Path) -> None:
    from console.core.history import HistoryStore
    from console.core.words import Standing
    from console.demo import files

    installed = files.install(tmp_path / "demo")
    row = HistoryStore(installed.history).load().row(SHIPPED.stem)
    assert row is not None and row.status == Standing.PENDING
    assert (installed.migrations / SHIPPED.name).read_bytes() == SHIPPED.read_bytes()
    # Installing again keeps the demo's history (its runs); a reset starts it over.
    installed.history.write_text(installed.history.read_text() + "# a run was here\n")
    files.install(tmp_path / "demo")
    assert "a run was here" in installed.history.read_text()
    files.install(tmp_path / "demo", fresh_history=True)
    assert "a run was here" not in installed.history.read_text()


def _printed_commands(stdout: str) -> list[str]:
    """The indented lines under "Point the other commands at it"."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Point the other commands"))
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line.strip())
    return block


def test_demo_from_an_empty_folder_prints_commands_that_work_from_any_folder(
    tmp_path: Path,
) -> None:
    """No migrations/ around it (an installed wheel): the demo uses the packaged migration and
    history, copied into its state folder, and the commands it prints name them."""
    state = Path(tempfile.mkdtemp(prefix="mc-demo-test-"))
    empty, elsewhere = tmp_path / "empty", tmp_path / "elsewhere"
    empty.mkdir()
    elsewhere.mkdir()
    try:
        r = run_cli(
            "demo",
            "--rows",
            "2000",
            "--no-tui",
            cwd=empty,
            env={"MIGRATION_CONSOLE_DEMO_DIR": str(state / "demo")},
        )
        assert r.code == 0, r.output
        assert "add_composite_indexes_20251123" in r.stdout and "pending" in r.stdout
        commands = _printed_commands(r.stdout)
        assert commands[0].startswith("export DATABASE_URL=")
        assert [c.split()[1] for c in commands[1:]] == ["plan", "run", "verify"]
        assert all("--migrations " in c and "--history " in c for c in commands[1:])
        # Pasted into a shell in another folder (answering the run's question with --yes).
        script = "\n".join(
            [
                'migration-console() { "$MC_PYTHON" -m console "$@"; }',
                *(f"{c} --yes" if c.split()[1:2] == ["run"] else c for c in commands),
            ]
        )
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_", "RAILWAY_"))
        }
        env.update(MC_PYTHON=sys.executable, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="200")
        shell = subprocess.run(
            ["bash", "-ec", script],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert "run succeeded" in shell.stdout and "All checks hold." in shell.stdout
        assert "Traceback" not in shell.stdout + shell.stderr
        history = (state / "demo" / "history.toml").read_text()
        assert 'status = "applied"' in history and "[[runs]]" in history
        assert list(empty.iterdir()) == [] and list(elsewhere.iterdir()) == []
    finally:
        from console.demo.server import DemoServer

        DemoServer().reset(state / "demo")
        shutil.rmtree(state, ignore_errors=True)


def test_demo_with_a_project_around_it_uses_the_project(tmp_path: Path) -> None:
    """In a checkout (migrations/ here) nothing is copied and the printed commands need no
    --migrations: they work from where they were printed, as before."""
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
        commands = _printed_commands(r.stdout)
        assert "--migrations" not in r.stdout
        assert all(f"--history {tmp_path / 'history.toml'}" in c for c in commands[1:])
        assert not (state / "demo" / "migrations").exists()
    finally:
        from console.demo.server import DemoServer

        DemoServer().reset(state / "demo")
        shutil.rmtree(state, ignore_errors=True)
