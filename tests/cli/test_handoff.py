"""The CLI's runner is forked before the engine loads and is handed the plan
(core/run/handoff.py): it never loads the SQL parser, and a face that goes away
before it says go leaves nothing behind, on the server or in history.toml."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from tests.cli.test_hostile import asked
from tests.helpers import (
    MIGRATIONS,
    ROOT,
    SLOW_HOST,
    hold_write,
    processes,
    run_cli,
    run_log,
    slow_dns_hook,
    spawn_cli,
)

NAME = "add_composite_indexes_20251123"
pytestmark = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")

# A face that hands the plan over, hears "ready", and is gone before it says go, as a
# face killed at that moment would be.
GONE_BEFORE_GO = """
import os, sys
from pathlib import Path
from console.core.run import early, handoff

runner = early.forked()
from console.core.history import HistoryStore, open_runs
from console.core.migration_file import parse_migration
from console.core.run.request import plan_for, request_for
from console.settings import resolve_connection

migration = parse_migration(Path(sys.argv[1]))
store = HistoryStore(Path(sys.argv[2]))
history = store.load()
request = request_for(migration, "run", store.path)
runner.hand_over(
    handoff.Handed(
        resolve_connection(), request, migration, plan_for(migration, "run"),
        open_runs(history, migration.name), migration.path.parent,
    )
)
runner.verdict()
print(runner.pid, flush=True)
os._exit(0)
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    shutil.copy(ROOT / "history.toml", tmp_path / "history.toml")
    return tmp_path


def loaded(pid: int, library: str) -> bool:
    """Whether process ``pid`` has a shared object of ``library`` mapped."""
    return library in Path(f"/proc/{pid}/maps").read_text()


async def ended(pid: int, limit_s: float = 30) -> None:
    """Wait until process ``pid`` has ended (gone, or a zombie nobody reaped yet)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state == "Z":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"pid {pid} is still running")


def children(pid: int) -> list[int]:
    def parent(stat: bytes) -> int:
        return int(stat.rsplit(b")", 1)[1].split()[1])  # after the command's name

    return [child for child, stat in processes("stat") if parent(stat) == pid]


async def nothing_held(observer: asyncpg.Connection, limit_s: float = 10) -> None:
    """No session of the console's, no run lock, no index of the migration: at once, or
    once sessions just closed have left pg_stat_activity (a backend ends a moment after
    its client closes). A session kept open never leaves, and the wait fails."""
    end = time.monotonic() + limit_s
    while True:
        found = (
            await observer.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE 'migration-console%'"
            ),
            await observer.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 19779"
            ),
            await observer.fetchval("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx_%'"),
        )
        if found == (0, 0, 0):
            return
        assert time.monotonic() < end, f"still held (sessions, run locks, indexes): {found}"
        await asyncio.sleep(0.05)


async def test_the_runner_never_loads_the_sql_parser(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)  # the first build waits for this writer: the runner stays
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    try:
        await run_log(workdir / "history.toml")  # the run has started: its record says so
        record = (workdir / "history.toml").read_text()
        runner = int(record.split("runner_pid = ")[-1].split()[0])
        assert runner != face.pid
        assert loaded(face.pid, "pglast")  # the face read and planned the file ...
        assert not loaded(runner, "pglast")  # ... its runner was handed the plan
        assert loaded(runner, "asyncpg")
    finally:
        await helper.execute("ROLLBACK")
        stdout, stderr = await asyncio.to_thread(face.communicate, timeout=120)
    assert face.returncode == 0, stdout + stderr
    assert "run succeeded" in stdout


async def test_a_face_gone_before_go_leaves_nothing(
    db_url: str, observer: asyncpg.Connection, workdir: Path
) -> None:
    history = (workdir / "history.toml").read_text()
    script = workdir / "gone_before_go.py"
    script.write_text(GONE_BEFORE_GO)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url}
    face = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script), str(workdir / "migrations" / f"{NAME}.sql"), "history.toml"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert face.returncode == 0, face.stderr
    runner = int(face.stdout.split()[0])
    await ended(runner)  # it read the end of the socket: no go is coming
    await nothing_held(observer)
    assert (workdir / "history.toml").read_text() == history  # no run was recorded


async def test_the_face_killed_at_the_question_leaves_nothing(
    db_url: str, observer: asyncpg.Connection, workdir: Path
) -> None:
    history = (workdir / "history.toml").read_text()
    face, master = await asked(db_url, workdir)
    try:
        runners = children(face.pid)
        assert len(runners) == 1  # the forked runner, waiting for go, holding nothing
        await nothing_held(observer)
        face.send_signal(signal.SIGKILL)  # the terminal's process is killed at the question
        await asyncio.to_thread(face.wait, 30)
    finally:
        os.close(master)
    await ended(runners[0])
    await nothing_held(observer)
    assert (workdir / "history.toml").read_text() == history


async def connecting(
    workdir: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], int]:
    """``python -m console ARGS`` whose runner's host name lookup hangs (a sitecustomize
    hook, for 2 min), once the runner is in it: the face, and its one runner's pid."""
    hook, entered = slow_dns_hook(tmp_path)
    face = subprocess.Popen(  # noqa: ASYNC220 - started once; waited for in a thread
        [sys.executable, "-m", "console", *args],
        cwd=workdir,
        env={**os.environ, **(env or {}), "PYTHONPATH": f"{hook}:{ROOT}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 60
        while not entered.exists():
            assert time.monotonic() < end and face.poll() is None, "the runner never connected"
            await asyncio.sleep(0.02)
        (runner,) = children(face.pid)
    except BaseException:
        face.kill()
        raise
    return face, runner


async def test_a_runner_lost_before_it_is_ready_is_said(workdir: Path, tmp_path: Path) -> None:
    # The face waits for "ready" while its runner connects; the runner is then killed.
    url = f"postgresql://u:Sekr1t-pw@{SLOW_HOST}:5432/x"
    face, runner = await connecting(
        workdir, tmp_path, "run", NAME, "--yes", env={"DATABASE_URL": url}
    )
    try:
        os.kill(runner, signal.SIGKILL)
        _out, err = await asyncio.to_thread(face.communicate, timeout=30)
    finally:
        if face.poll() is None:
            face.kill()
    assert face.returncode == 1, err
    assert f"The runner (pid {runner}) ended before the run started; nothing was run." in err
    assert "Traceback" not in err and "Sekr1t" not in err
    history = (workdir / "history.toml").read_text()
    assert history == (ROOT / "history.toml").read_text()  # nothing recorded


def test_a_runner_that_cannot_start_says_why(workdir: Path, tmp_path: Path) -> None:
    # An installation whose driver is broken: the face never loads it, its runner does.
    hook = tmp_path / "broken"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Broken:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'asyncpg':\n"
        "            raise ImportError('asyncpg is broken here')\n"
        "sys.meta_path.insert(0, _Broken())\n"
    )
    r = run_cli(
        "run",
        NAME,
        "--yes",
        url="postgresql://u:Sekr1t-pw@localhost:1/x",
        cwd=workdir,
        env={"PYTHONPATH": f"{hook}:{ROOT}"},
    )
    assert r.code == 1, r.output
    assert (
        "The runner could not start (ImportError: asyncpg is broken here); nothing was run."
        in r.stderr
    )
    assert "Traceback" not in r.output and "Sekr1t" not in r.output
    assert (workdir / "history.toml").read_text() == (ROOT / "history.toml").read_text()


async def test_a_password_on_the_command_line_is_masked_in_ps(
    workdir: Path, tmp_path: Path
) -> None:
    # The face and its runner stay alive (the runner is connecting) for the look at their
    # command lines (/proc/PID/cmdline, what `ps` shows every user).
    url = f"postgresql://u:Sekr1t-pw@{SLOW_HOST}:5432/x"
    face, runner = await connecting(workdir, tmp_path, "--database-url", url, "run", NAME, "--yes")
    try:
        for pid in (face.pid, runner):
            shown = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
            assert "Sekr1t" not in shown, shown
            assert f"postgresql://u:***@{SLOW_HOST}:5432/x" in shown and NAME in shown
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(runner, signal.SIGKILL)
        face.kill()
        await asyncio.to_thread(face.communicate, timeout=30)
