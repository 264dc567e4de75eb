"""`migration-console demo`: the embedded PostgreSQL 18, seeded, and the console on it.

Also its rehearsals (`--scenario NAME`, `--stop-scenarios`) and `--stop`. Without a
`migrations/` folder around it (an installed wheel, any folder), the demo uses the
migration and history the package ships, copied into its state folder, and the
commands it prints name them, so they work from any folder.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import asyncpg

from console.cli.commands.console import command as open_console
from console.cli.commands.status import command as print_status
from console.cli.context import Context
from console.cli.render import escape, out
from console.demo import files as demo_files
from console.demo import scenarios
from console.demo.server import (
    ADMIN_DATABASE,
    DEMO_DATABASE,
    DemoServer,
    create_database,
    demo_state_dir,
    seed_database,
)
from console.errors import BadInput, ExitCode
from console.glyphs import G

MIGRATION = "add_composite_indexes_20251123"


async def command(ctx: Context) -> int:
    state = demo_state_dir()
    args = ctx.demo
    if args.stop and args.reset:
        raise BadInput(
            "--stop and --reset do not go together.",
            "`demo --stop` stops the server and keeps its data; `demo --reset` throws the data "
            "away and starts over.",
        )
    if args.stop:
        return stop_demo(state)
    if args.stop_scenarios:
        _say_ended(scenarios.stop(state_dir=state), none="No rehearsal is running.")
        return ExitCode.OK
    scenario = args.scenario
    if scenario is not None:  # refused before anything starts
        scenarios.check_name(scenario)
        scenarios.refuse_if_running(scenario, state)
    rows = args.rows
    if rows < 1:
        raise BadInput("--rows must be at least 1.", "For example: --rows 100000.")
    server = DemoServer()
    if args.reset:
        _say_ended(scenarios.stop(state_dir=state))
        server.reset(state)
    out.print(f"Starting the embedded PostgreSQL 18 in {escape(str(state))} {G.ellipsis}")
    server.start(state, keep_running=True)
    admin_url, url = server.url(ADMIN_DATABASE), server.url(DEMO_DATABASE)
    if not await _seeded(admin_url, url):
        out.print(f"Seeding {rows:,} conversation_messages (and call_costs, scheduled_tasks) …")
        await create_database(admin_url, DEMO_DATABASE, drop_existing=True)
        await seed_database(url, rows)
    out.print(f"The demo database is ready: {escape(url)}\n")
    if scenario is not None:
        return start_rehearsal(url, scenario, state)
    ctx, flags = _use_packaged_files(ctx, state, fresh_history=args.reset)
    ctx = replace(ctx, database_url=url)
    if sys.stdin.isatty() and sys.stdout.isatty() and not args.no_tui:
        code = await open_console(replace(ctx, rehearsals=state))
        _say_still_running(state)
        return code

    await print_status(replace(ctx, json=False))
    where = " (from any folder)" if flags else ""
    lines = [
        f"export DATABASE_URL={shlex.quote(url)}",
        *(f"migration-console {cmd} {MIGRATION}{flags}" for cmd in ("plan", "run", "verify")),
    ]
    out.print(f"\nPoint the other commands at it{where}:")
    out.print("\n".join(f"  {escape(line)}" for line in lines), soft_wrap=True)
    out.print(
        "Practise a hang: `migration-console demo --scenario NAME` "
        f"({', '.join(scenarios.SCENARIOS)}).\n"
        "The server keeps running in the background: `migration-console demo --stop` stops "
        "it, `--reset` starts over."
    )
    return ExitCode.OK


def _use_packaged_files(ctx: Context, state: Path, *, fresh_history: bool) -> tuple[Context, str]:
    """The context pointed at the packaged migration and history unless the operator has
    a migrations folder, and the options the printed commands need (or "")."""
    flags = ""
    if not demo_files.project_has_migrations(ctx.migrations_option):
        installed = demo_files.install(state, fresh_history=fresh_history)
        ctx = replace(ctx, migrations_option=installed.migrations)
        if not (ctx.history_option or os.environ.get(demo_files.HISTORY_ENV)):
            ctx = replace(ctx, history_option=installed.history)
    for option, value in (("migrations", ctx.migrations_option), ("history", ctx.history_option)):
        if value is not None:
            flags += f" --{option} {shlex.quote(str(Path(value).resolve()))}"
    return ctx, flags


# -- rehearsals and stopping --------------------------------------------------------------------


def start_rehearsal(url: str, name: str, state: Path) -> int:
    sc = scenarios.SCENARIOS[name]
    out.print(f"Starting the rehearsal {name}: {escape(sc.title)} {G.ellipsis}")
    r = scenarios.start(url, name, state_dir=state)
    sessions = ", ".join(map(str, r.sessions))
    out.print(
        f"It is running: scenario process pid {r.pid}, session pid(s) {sessions}, "
        f"application_name '{escape(sc.sessions[0].application_name)}'.\n"
    )
    out.print(escape(sc.description))
    out.print("What to look for (in the console: `migration-console demo`):")
    for line in sc.look_for:
        out.print(f"  - {escape(line)}")
    out.print(
        "\nIt goes on until you end it: from the console (the keys above), with "
        "`migration-console demo --stop-scenarios`, or with `migration-console demo --stop`, "
        "which also stops the server."
    )
    return ExitCode.OK


def stop_demo(state: Path) -> int:
    _say_ended(scenarios.stop(state_dir=state))
    pgdata = DemoServer.pgdata_of(state)
    server = DemoServer()
    if not server.attach(state):
        out.print(f"The demo server is not running (its data is in {escape(str(pgdata))}).")
        return ExitCode.OK
    server.stop()
    out.print(
        f"Stopped the demo server; its data stays in {escape(str(pgdata))}: "
        "`migration-console demo` starts it again, `migration-console demo --reset` starts over."
    )
    return ExitCode.OK


def _say_ended(ended: list[scenarios.Running], none: str = "") -> None:
    for r in ended:
        out.print(f"Ended the rehearsal {r.name} ({escape(r.title)}, process pid {r.pid}).")
    if not ended and none:
        out.print(none)


def _say_still_running(state: Path) -> None:
    live = scenarios.running(state)
    if live:
        names = ", ".join(r.name for r in live)
        out.print(
            f"Rehearsals still running: {names}; `migration-console demo --stop-scenarios` "
            "ends them."
        )
    out.print(
        "The demo server keeps running in the background: `migration-console demo` reopens "
        "the console, `migration-console demo --stop` stops it."
    )


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
