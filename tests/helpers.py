"""Shared helpers for tests that talk to a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg

from console.connection import parse_dsn

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
SHIPPED = MIGRATIONS / "add_composite_indexes_20251123.sql"

# A role with a password, for the tests that prove the password never leaks.
SECRET_ROLE = "mc_secret_user"
SECRET_PASSWORD = "Sup3r-S3cret-pw"
# A role that does not own the tables.
OTHER_ROLE = "mc_not_owner"


def with_database(url: str, database: str) -> str:
    """The same server and role, another database (a URL, every part percent-encoded)."""
    return replace(parse_dsn(url), database=database).url(mask=False)


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same server and database as another role, with its password or none."""
    return replace(parse_dsn(url), user=user, password=password).url(mask=False)


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str,
    url: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> CliResult:
    """Run ``python -m console ARGS`` as an operator would, in a separate process."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_", "RAILWAY_"))
    }
    full_env["PYTHONPATH"] = str(ROOT)
    full_env["NO_COLOR"] = "1"
    full_env["COLUMNS"] = "200"
    if url is not None:
        full_env["DATABASE_URL"] = url
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "console", *args],
        cwd=cwd or ROOT,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


async def run_cli_async(*args: str, **kw: Any) -> CliResult:
    """``run_cli`` off the event loop: a test's own sessions go on meanwhile."""
    return await asyncio.to_thread(run_cli, *args, **kw)


# One row each table's writer inserts; a writer left open makes CONCURRENTLY wait.
WRITES = {
    "conversation_messages": "INSERT INTO conversation_messages "
    "(user_id, contact_id, message_type, body, created_at) "
    "VALUES (1, 1, 'sms', 'held open', now())",
    "call_costs": "INSERT INTO call_costs (user_id, billing_date, amount_cents) "
    "VALUES (1, current_date, 5)",
    "scheduled_tasks": "INSERT INTO scheduled_tasks (user_id, task_type, status, scheduled_for) "
    "VALUES (1, 'reminder', 'pending', now())",
}


async def hold_write(conn: asyncpg.Connection, table: str = "conversation_messages") -> None:
    """Leave a transaction open that wrote to ``table``; ``ROLLBACK`` releases it."""
    await conn.execute(f"BEGIN; {WRITES[table]}")


async def poll_until(
    conn: asyncpg.Connection, sql: str, *args: object, limit_s: float = 30
) -> None:
    """Query until it returns something truthy; fail the test if it never does."""
    end = time.monotonic() + limit_s
    while not await conn.fetchval(sql, *args):
        if time.monotonic() > end:
            raise AssertionError(f"never true: {sql}")
        await asyncio.sleep(0.05)


RUN_SESSION = "migration-console run add_composite_indexes_20251123"


def spawn_cli(
    *args: str, url: str, cwd: Path, history: Path | None = None
) -> subprocess.Popen[str]:
    """Start ``python -m console ARGS`` beside the test (collect it with communicate())."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "NO_COLOR": "1"}
    extra = ("--history", str(history)) if history is not None else ()
    return subprocess.Popen(
        [sys.executable, "-m", "console", *extra, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def run_log(history: Path, limit_s: float = 30) -> Path:
    """The event log of the run recorded as running in ``history``, once it is there."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if history.exists():
            runs = tomllib.loads(history.read_text()).get("runs", [])
            running = [r for r in runs if r.get("status") == "running" and r.get("log")]
            if running:
                return Path(running[-1]["log"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no running record in {history}")


async def logged(log: Path, event: str, limit_s: float = 30, **fields: object) -> dict:
    """The first event of that kind (with those fields) in a run's event log, once written."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        for line in log.read_text().splitlines():
            data = json.loads(line) if line.strip() else {}
            if data.get("event") == event and all(data.get(k) == v for k, v in fields.items()):
                return data
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {event} {fields} in {log}")


SLOW_HOST = "slow.dns.invalid"


def slow_dns_hook(folder: Path) -> tuple[Path, Path]:
    """A ``sitecustomize`` (put its folder first on PYTHONPATH) whose host name lookup of
    SLOW_HOST hangs for two minutes, and the file it creates once that lookup started."""
    hook, entered = folder / "hook", folder / "entered"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import socket, time\n"
        "_real = socket.getaddrinfo\n"
        "def _slow(host, *a, **kw):\n"
        f"    if host == {SLOW_HOST!r}:\n"
        f"        open({str(entered)!r}, 'w').close()\n"
        "        time.sleep(120)\n"
        "    return _real(host, *a, **kw)\n"
        "socket.getaddrinfo = _slow\n"
    )
    return hook, entered


def processes(file: str) -> Iterator[tuple[int, bytes]]:
    """Each process's ``/proc/PID/FILE`` (``cmdline``, ``stat``), for those still there
    to be read."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / file).read_bytes()
            except OSError:
                continue
