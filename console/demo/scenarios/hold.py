"""The scenario process: it opens a scenario's sessions and keeps them until told to stop.

``control.start`` runs it as ``python -m console.demo.scenarios NAME RECORD`` in a
session of its own (no terminal), so the hang outlives the command that asked for
it. It reads the database URL from its stdin (never from a command line), opens
the sessions, waits until the server shows each one as the scenario wants it
(idle in transaction, active, or waiting on a lock), writes its record and says
``ready`` on stdout.

It ends on SIGTERM or SIGINT, or by itself when the hang is over: its main session
was terminated, or that session's query was cancelled or finished. Then it ends
the sessions it still has through the server (``pg_terminate_backend``, then
waits until the server no longer lists them, so a stopped rehearsal leaves nothing
behind, not even a ``pg_sleep``) and removes its record.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from console.connection import mask
from console.core.run.pids import process_start
from console.demo.scenarios.catalog import Scenario

READY = "ready"
SETUP_TIMEOUT_S = 20.0
POLL_S = 0.2
_CONTROL = {"application_name": "migration-console demo"}
# The scenario's sessions must hang as long as asked, whatever the server's defaults.
_PATIENT = {
    "statement_timeout": "0",
    "lock_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
}


class NotInPlace(Exception):
    """The sessions did not reach the states the scenario wants in time."""


async def hold(url: str, sc: Scenario, record: Path, ready: Any) -> None:
    """Open the sessions, report ``ready`` (a callable), and keep them until it is over."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    conns: list[asyncpg.Connection] = []
    tasks: dict[int, asyncio.Task[str]] = {}
    try:
        for i, s in enumerate(sc.sessions):
            conn = await asyncpg.connect(
                url,
                server_settings={"application_name": s.application_name, **_PATIENT},
                timeout=10,
            )
            conns.append(conn)
            if s.kind == "holds":
                await conn.execute(s.sql)
            else:
                tasks[i] = asyncio.create_task(conn.execute(s.sql))
        pids = [c.get_server_pid() for c in conns]
        await _until_in_place(url, sc, pids, tasks)
        _write_record(record, sc, pids, url)
        ready()
        await _until_over(sc, conns, tasks, stop)
    finally:
        await _end(url, conns, tasks)
        _remove_record(record)


async def _until_in_place(
    url: str, sc: Scenario, pids: list[int], tasks: dict[int, asyncio.Task[str]]
) -> None:
    conn = await asyncpg.connect(url, server_settings=_CONTROL, timeout=10)
    try:
        end = time.monotonic() + SETUP_TIMEOUT_S
        while True:
            for task in tasks.values():
                if task.done():
                    task.result()  # a query that failed at once: its error says why
                    raise NotInPlace("a query ended at once instead of holding")
            rows = await conn.fetch(
                "SELECT pid, state, wait_event_type FROM pg_stat_activity WHERE pid = ANY($1)",
                pids,
            )
            seen = {r["pid"]: (r["state"], r["wait_event_type"]) for r in rows}
            wanted = zip(sc.sessions, pids, strict=True)
            if all(_in_place(s.kind, seen.get(pid)) for s, pid in wanted):
                return
            if time.monotonic() > end:
                raise NotInPlace(f"the sessions were not in place after {SETUP_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def _in_place(kind: str, seen: tuple[str | None, str | None] | None) -> bool:
    if seen is None:
        return False
    state, wait = seen
    if kind == "holds":
        return state == "idle in transaction"
    if kind == "queues":
        return state == "active" and wait == "Lock"
    return state == "active"


async def _until_over(
    sc: Scenario,
    conns: list[asyncpg.Connection],
    tasks: dict[int, asyncio.Task[str]],
    stop: asyncio.Event,
) -> None:
    main = next(i for i, s in enumerate(sc.sessions) if s.main)
    while not stop.is_set():
        if conns[main].is_closed() or (main in tasks and tasks[main].done()):
            return  # terminated, cancelled or done: the hang is over
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_S)


async def _end(
    url: str, conns: list[asyncpg.Connection], tasks: dict[int, asyncio.Task[str]]
) -> None:
    live = [c.get_server_pid() for c in conns if not c.is_closed()]
    if live:
        try:
            ctl = await asyncpg.connect(url, server_settings=_CONTROL, timeout=5)
            try:
                await _terminate(ctl, live)
            finally:
                await ctl.close()
        except (OSError, asyncpg.PostgresError, TimeoutError):
            pass  # the server is gone, and the sessions with it
    for c in conns:
        c.terminate()
    for t in tasks.values():
        t.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)


async def _terminate(ctl: asyncpg.Connection, pids: list[int]) -> None:
    """Terminate the sessions and wait until the server no longer lists them. Short
    queries, each with a fresh snapshot: waiting inside one (pg_terminate_backend's
    timeout) would hold a snapshot a CREATE INDEX CONCURRENTLY then waits for."""
    await ctl.fetch("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        if not await ctl.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids
        ):
            return
        await asyncio.sleep(0.02)


def _write_record(record: Path, sc: Scenario, pids: list[int], url: str) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "name": sc.name,
        "pid": os.getpid(),
        "started": process_start(os.getpid()),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sessions": pids,
        "database": mask(url),
    }
    tmp = record.with_name(f".{record.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, record)


def _remove_record(record: Path) -> None:
    """Remove the record if it is this process's (a later start may have replaced it)."""
    try:
        if json.loads(record.read_text(encoding="utf-8")).get("pid") == os.getpid():
            record.unlink()
    except (OSError, ValueError):
        pass
