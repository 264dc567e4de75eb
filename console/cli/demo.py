"""`migration-console demo`: the embedded PostgreSQL 18, seeded, and the console on it."""

from __future__ import annotations

import argparse
import sys

import asyncpg
from rich.markup import escape

from console.cli.render import out
from console.core.errors import BadInput, ExitCode
from console.demo.server import (
    ADMIN_DATABASE,
    DEMO_DATABASE,
    DemoServer,
    create_database,
    demo_state_dir,
    seed_database,
)


async def run_demo(ns: argparse.Namespace) -> int:

    rows = int(ns.rows)
    if rows < 1:
        raise BadInput("--rows must be at least 1.", "For example: --rows 100000.")
    state = demo_state_dir()
    server = DemoServer()
    if ns.reset:
        server.reset(state)
    out.print(f"Starting the embedded PostgreSQL 18 in {escape(str(state))} …")
    server.start(state, keep_running=True)
    admin_url, url = server.url(ADMIN_DATABASE), server.url(DEMO_DATABASE)
    if not await _seeded(admin_url, url):
        out.print(f"Seeding {rows:,} conversation_messages (and call_costs, scheduled_tasks) …")
        await create_database(admin_url, DEMO_DATABASE, drop_existing=True)
        await seed_database(url, rows)
    out.print(f"The demo database is ready: {escape(url)}\n")
    from console.cli.commands import cmd_console, cmd_status

    if sys.stdin.isatty() and sys.stdout.isatty() and not getattr(ns, "no_tui", False):
        ns.database_url = url
        return await cmd_console(ns)

    status_ns = argparse.Namespace(**{k: v for k, v in vars(ns).items() if k != "json"})
    status_ns.database_url = url
    await cmd_status(status_ns)
    out.print(
        "\nPoint the other commands at it:\n"
        f"  export DATABASE_URL='{escape(url)}'\n"
        "  migration-console plan add_composite_indexes_20251123\n"
        "  migration-console run add_composite_indexes_20251123\n"
        "  migration-console verify add_composite_indexes_20251123\n"
        "The server keeps running in the background; `demo --reset` starts over."
    )
    return ExitCode.OK


async def _seeded(admin_url: str, url: str) -> bool:
    """Whether the demo database exists with its tables (an interrupted seed is redone)."""
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DEMO_DATABASE):
            return False
    finally:
        await conn.close()
    conn = await asyncpg.connect(url)
    try:
        return bool(await conn.fetchval("SELECT to_regclass('scheduled_tasks') IS NOT NULL"))
    finally:
        await conn.close()
