"""Rehearsals: each scenario hangs on the demo database as its text says, and stops.

One demo server for the module (started as an operator would, from an empty folder);
the scenario's own behaviour (a hang that ends by itself, refusals) is tried through
the core API on the test server's fresh database.
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from console.demo import scenarios
from console.demo.server import DemoServer
from console.errors import BadInput, ConnectError
from tests.helpers import ROOT, poll_until, run_cli

APP = scenarios.APP_PREFIX
GONE = f"SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE '{APP}%'"

# What each scenario must look like in pg_stat_activity and pg_locks.
HANGS = {
    "idle-writer": f"""
        SELECT count(*) = 1 FROM pg_stat_activity a
         WHERE a.application_name = '{APP}writer idle in transaction'
           AND a.state = 'idle in transaction'
           AND a.backend_xid IS NOT NULL  -- it wrote
           AND EXISTS (SELECT 1 FROM pg_locks l
                        WHERE l.pid = a.pid AND l.granted AND l.mode = 'RowExclusiveLock'
                          AND l.relation = 'conversation_messages'::regclass)""",
    "old-snapshot": f"""
        SELECT count(*) = 1 FROM pg_stat_activity a
         WHERE a.application_name = '{APP}old snapshot (repeatable read)'
           AND a.state = 'idle in transaction'
           AND a.backend_xmin IS NOT NULL AND a.backend_xid IS NULL  -- a snapshot, no write
           AND EXISTS (SELECT 1 FROM pg_locks l
                        WHERE l.pid = a.pid AND l.granted AND l.mode = 'AccessShareLock'
                          AND l.relation = 'users'::regclass)""",
    "lock-queue": f"""
        WITH holder AS (
            SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
             WHERE a.application_name = '{APP}ACCESS EXCLUSIVE holder'
               AND a.state = 'idle in transaction'
               AND l.granted AND l.mode = 'AccessExclusiveLock'
               AND l.relation = 'call_costs'::regclass)
        SELECT count(*) = 3 FROM pg_stat_activity a, holder
         WHERE a.application_name = '{APP}reader queued behind the lock'
           AND a.state = 'active' AND a.wait_event_type = 'Lock'
           AND pg_blocking_pids(a.pid) = ARRAY[holder.pid]""",
    "long-query": f"""
        SELECT count(*) = 1 FROM pg_stat_activity a
         WHERE a.application_name = '{APP}long-running report'
           AND a.state = 'active' AND a.wait_event = 'PgSleep'
           AND a.query LIKE '%pg_sleep%' AND a.backend_xmin IS NOT NULL
           AND EXISTS (SELECT 1 FROM pg_locks l
                        WHERE l.pid = a.pid AND l.granted AND l.mode = 'AccessShareLock'
                          AND l.relation = 'conversation_messages'::regclass)""",
}


@dataclass(frozen=True)
class Demo:
    dir: Path
    url: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """The demo server, started once for the module from an empty folder."""
    root = Path(tempfile.mkdtemp(prefix="mc-demo-scenarios-"))
    (root / "cwd").mkdir()
    env = {"MIGRATION_CONSOLE_DEMO_DIR": str(root / "demo")}
    try:
        r = run_cli("demo", "--rows", "2000", "--no-tui", cwd=root / "cwd", env=env)
        assert r.code == 0, r.output
        export = next(line for line in r.stdout.splitlines() if "export DATABASE_URL=" in line)
        url = shlex.split(export.strip())[1].split("=", 1)[1]
        yield Demo(root / "demo", url, env)
    finally:
        scenarios.stop(state_dir=root / "demo")
        DemoServer().reset(root / "demo")
        shutil.rmtree(root, ignore_errors=True)


async def _watch(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, server_settings={"application_name": "test-observer"})


def test_scenarios_are_listed_in_demo_help() -> None:
    r = run_cli("demo", "--help")
    assert r.code == 0
    for name in scenarios.SCENARIOS:
        assert name in r.stdout


def test_an_unknown_scenario_is_one_sentence_and_starts_nothing(tmp_path: Path) -> None:
    r = run_cli(
        "demo", "--scenario", "hang-everything", env={"MIGRATION_CONSOLE_DEMO_DIR": str(tmp_path)}
    )
    assert r.code == 2
    assert "There is no scenario called 'hang-everything'" in r.stderr
    assert "idle-writer" in r.stderr and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []  # no server started, nothing written


def test_the_scenarios_never_import_textual() -> None:
    code = (
        "import sys, console.demo.scenarios, console.demo.scenarios.hold\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
async def test_each_scenario_from_the_cli_hangs_as_its_text_says_and_stops(
    demo: Demo, name: str
) -> None:
    watch = await _watch(demo.url)
    try:
        r = run_cli("demo", "--scenario", name, env=demo.env)
        assert r.code == 0, r.output
        for line in scenarios.SCENARIOS[name].look_for:
            assert line in r.stdout
        assert "--stop-scenarios" in r.stdout
        await poll_until(watch, HANGS[name])  # the command returned; the hang goes on
        assert [x.name for x in scenarios.running(demo.dir)] == [name]

        r = run_cli("demo", "--stop-scenarios", env=demo.env)
        assert r.code == 0, r.output
        assert f"Ended the rehearsal {name}" in r.stdout
        await poll_until(watch, GONE)
        assert scenarios.running(demo.dir) == []
        assert list((demo.dir / "scenarios").glob("*.json")) == []
    finally:
        scenarios.stop(state_dir=demo.dir)
        await watch.close()


def test_stop_scenarios_with_none_running_says_so(demo: Demo) -> None:
    r = run_cli("demo", "--stop-scenarios", env=demo.env)
    assert r.code == 0, r.output
    assert "No rehearsal is running." in r.stdout


# -- the core API, on the test server -----------------------------------------------------------


async def _until_none_running(state: Path, limit_s: float = 30) -> None:
    end = time.monotonic() + limit_s
    while scenarios.running(state):
        assert time.monotonic() < end, "the rehearsal never ended"
        await asyncio.sleep(0.05)


async def test_a_rehearsal_ends_by_itself_when_its_hang_is_resolved(
    db_url: str, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    """Terminating the writer from the console (or cancelling the long query) is the
    exercise: the scenario process sees it, ends its other sessions and its record."""
    try:
        writer = scenarios.start(db_url, "idle-writer", tmp_path)
        report = scenarios.start(db_url, "long-query", tmp_path)
        assert [r.name for r in scenarios.running(tmp_path)] == ["idle-writer", "long-query"]
        assert await observer.fetchval("SELECT pg_terminate_backend($1)", writer.sessions[0])
        assert await observer.fetchval("SELECT pg_cancel_backend($1)", report.sessions[0])
        await _until_none_running(tmp_path)
        await poll_until(observer, GONE)
        assert list((tmp_path / "scenarios").glob("*.json")) == []
    finally:
        scenarios.stop(state_dir=tmp_path)


async def test_lock_queue_is_over_when_its_holder_goes_and_the_queue_drains(
    db_url: str, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    try:
        queue = scenarios.start(db_url, "lock-queue", tmp_path)
        holder, *readers = queue.sessions
        assert len(readers) == 3
        await poll_until(observer, HANGS["lock-queue"])
        await observer.execute("SELECT pg_terminate_backend($1)", holder)
        await _until_none_running(tmp_path)
        await poll_until(observer, GONE)
    finally:
        scenarios.stop(state_dir=tmp_path)


async def test_the_same_rehearsal_twice_is_refused_and_one_can_be_stopped_alone(
    db_url: str, observer: asyncpg.Connection, tmp_path: Path
) -> None:
    try:
        scenarios.start(db_url, "old-snapshot", tmp_path)
        scenarios.start(db_url, "idle-writer", tmp_path)
        with pytest.raises(BadInput, match="already running"):
            scenarios.start(db_url, "old-snapshot", tmp_path)
        ended = scenarios.stop("old-snapshot", tmp_path)
        assert [r.name for r in ended] == ["old-snapshot"]
        assert [r.name for r in scenarios.running(tmp_path)] == ["idle-writer"]
        await poll_until(
            observer,
            f"SELECT count(*) = 0 FROM pg_stat_activity "
            f"WHERE application_name = '{APP}old snapshot (repeatable read)'",
        )
    finally:
        scenarios.stop(state_dir=tmp_path)
    await poll_until(observer, GONE)


def test_a_rehearsal_on_a_database_without_the_demo_tables_says_why(
    pg_admin_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ConnectError, match="conversation_messages"):
        scenarios.start(pg_admin_url, "idle-writer", tmp_path)  # the postgres database
    assert scenarios.running(tmp_path) == []
    assert list((tmp_path / "scenarios").glob("*.json")) == []


# -- last: it stops the module's server --------------------------------------------------------


async def test_demo_stop_ends_the_rehearsals_and_stops_the_server(demo: Demo) -> None:
    r = run_cli("demo", "--scenario", "lock-queue", env=demo.env)
    assert r.code == 0, r.output

    r = run_cli("demo", "--stop", env=demo.env)
    assert r.code == 0, r.output
    assert "Ended the rehearsal lock-queue" in r.stdout
    assert "Stopped the demo server" in r.stdout
    assert not DemoServer.is_up(demo.dir)
    assert scenarios.running(demo.dir) == []

    r = run_cli("demo", "--stop", env=demo.env)
    assert r.code == 0, r.output
    assert "The demo server is not running" in r.stdout
