"""The CLI's commands: each gathers its inputs, calls the core, prints the result.

Each command imports what it needs when it runs: `blockers --json` must not pay for
the SQL parser, the history writer or the terminal renderer it never uses."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.cli.jsonout import print_json
from console.connection import password_forms, secrets_of
from console.core.durations import duration, parse_duration
from console.errors import BadInput, ExitCode
from console.glyphs import G
from console.settings import (
    ConnectionSettings,
    Redactor,
    default_operator,
    resolve_connection,
)

if TYPE_CHECKING:
    from console.core.model import Migration
    from console.core.run import RunOptions


def _get(ns: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(ns, name, default)


def migrations_dir(ns: argparse.Namespace) -> Path:
    d = _get(ns, "migrations") or Path(os.environ.get("MIGRATION_CONSOLE_MIGRATIONS", "migrations"))
    if not d.is_dir():
        raise BadInput(
            f"The migrations folder {d} does not exist.",
            "Run from the project root or pass --migrations DIR.",
        )
    return Path(d)


def history_path(ns: argparse.Namespace) -> Path:
    return Path(_get(ns, "history") or os.environ.get("MIGRATION_CONSOLE_HISTORY", "history.toml"))


def settings(ns: argparse.Namespace) -> ConnectionSettings:
    s = resolve_connection(_get(ns, "database_url"))
    return replace(s, read_only=True) if _get(ns, "read_only") else s


def redact_any(ns: argparse.Namespace, text: str) -> str:
    try:
        return settings(ns).redact(text)
    except Exception:  # noqa: BLE001 - no settings: whatever may be a secret in the strings
        url = _get(ns, "database_url") or os.environ.get("DATABASE_URL", "")
        pgpassword = password_forms(os.environ.get("PGPASSWORD"))
        return Redactor((*secrets_of(url), *pgpassword))(text)


MAX_RETRIES = 100


def run_options(ns: argparse.Namespace) -> RunOptions:
    """The time options in PostgreSQL's duration syntax; anything odd is exit 2."""
    from console.core.run import RunOptions

    retries = int(ns.lock_retries)
    if not 0 <= retries <= MAX_RETRIES:
        raise BadInput(
            f"--lock-retries must be between 0 and {MAX_RETRIES}, not {retries}.",
            "See `migration-console run --help`.",
        )
    statement = parse_duration(ns.statement_timeout, "--statement-timeout", unlimited_ok=True)
    return RunOptions(
        lock_timeout_s=parse_duration(ns.lock_timeout, "--lock-timeout") or 0.0,
        lock_retries=retries,
        backoff_s=parse_duration(ns.retry_backoff, "--retry-backoff") or 0.0,
        statement_timeout_s=statement or 0.0,
        max_wait_s=parse_duration(ns.max_wait, "--max-wait", unlimited_ok=True),
    )


def load_migration(ns: argparse.Namespace) -> Migration:
    from console.core.migration_file import parse_migration, resolve_migration

    return parse_migration(resolve_migration(ns.migration, migrations_dir(ns)))


# -- status ---------------------------------------------------------------------------


async def cmd_status(ns: argparse.Namespace) -> int:
    from console.cli.render import escape, out, table

    service = build_service(ns)
    try:
        rows = await service.statuses()
    finally:
        await service.close()
    s = service.settings
    if _get(ns, "json"):
        print_json({"database": s.display, "migrations": rows})
        return ExitCode.OK
    out.print(f"database: {escape(s.display)}")
    t = table("migration", "state", "detail", "last run")
    for r in rows:
        t.add_row(escape(r.name), r.state, escape(r.detail), escape(r.last_run or "-"))
    out.print(t)
    return ExitCode.OK


# -- plan -----------------------------------------------------------------------------


async def cmd_plan(ns: argparse.Namespace) -> int:
    from console.cli.render import escape, out, table
    from console.core.model import DOWN, UP
    from console.core.plan import plan_migration

    migration = load_migration(ns)
    plan = plan_migration(migration, DOWN if _get(ns, "rollback") else UP)
    sp = plan.section
    if _get(ns, "json"):
        print_json(
            {
                "migration": migration.name,
                "section": sp.section.name,
                "in_transaction": sp.in_transaction,
                "reason": sp.reason,
                "tables": sp.tables,
                "statements": [
                    {
                        "number": p.statement.number,
                        "line": p.statement.line,
                        "sql": p.statement.sql,
                        "kind": p.kind,
                        "targets": p.targets,
                        "lock": p.lock,
                        "blocks": p.blocks,
                        "transactional": p.transactional,
                    }
                    for p in sp.statements
                ],
                "findings": plan.findings,
            }
        )
        return ExitCode.OK
    out.print(
        f"[bold]{escape(migration.name)}[/] {G.dash} {sp.section.name} section: {escape(sp.reason)}"
    )
    t = table("#", "line", "statement", "lock", "blocks", "tx")
    for p in sp.statements:
        target = f" on {', '.join(p.targets)}" if p.targets else ""
        t.add_row(
            str(p.statement.number),
            str(p.statement.line),
            escape(p.kind + target),
            p.lock or "-",
            ", ".join(p.blocks) or "nothing",
            "yes" if p.transactional else "no",
        )
    out.print(t)
    if plan.findings:
        out.print("[bold]lint (squawk):[/]")
        for f in plan.findings:
            out.print(
                f"  {migration.path.name}:{f.line}:{f.column} {f.level} {f.rule}: "
                f"{escape(f.message)}"
            )
    else:
        out.print("lint (squawk): no findings")
    return ExitCode.OK


# -- verify -------------------------------------------------------------------------------


async def cmd_verify(ns: argparse.Namespace) -> int:
    from console.cli.render import escape, out
    from console.core.verify import verify

    migration = load_migration(ns)
    s = settings(ns)
    report = await verify(s, migration)
    if _get(ns, "json"):
        print_json(
            {
                "migration": report.migration,
                "database": report.database,
                "ok": report.ok,
                "indexes": [
                    {
                        "name": c.spec.name,
                        "table": c.spec.table,
                        "verdict": c.verdict,
                        "detail": c.detail,
                        "definition": c.state.definition,
                        "valid": c.state.valid,
                        "size": c.state.size,
                        "size_bytes": c.state.size_bytes,
                        "idx_scan": c.state.idx_scan,
                    }
                    for c in report.indexes
                ],
                "queries": [
                    {
                        "line": q.statement.line,
                        "sql": q.statement.sql,
                        "ok": q.ok,
                        "result": q.result,
                        "error": q.error,
                    }
                    for q in report.queries
                ],
            }
        )
        return ExitCode.OK if report.ok else ExitCode.FAILED
    out.print(f"[bold]verify {escape(migration.name)}[/] on {escape(s.display)}")
    for c in report.indexes:
        mark = f"[green]{G.ok}[/]" if c.verdict == "ok" else f"[red]{G.fail}[/]"
        out.print(f"{mark} {escape(c.spec.name)} on {escape(c.spec.table)}: {c.verdict}")
        if c.state.definition:
            out.print(f"    {escape(c.state.definition)}")
            out.print(f"    size {c.state.size}, idx_scan {c.state.idx_scan}")
        if c.detail:
            out.print(f"    {escape(c.detail)}")
    for q in report.queries:
        mark = f"[green]{G.ok}[/]" if q.ok else f"[red]{G.fail}[/]"
        out.print(f"{mark} query at line {q.statement.line}: {escape(q.statement.first_line)}")
        out.print(f"    result: {escape(q.error or q.result)}")
    out.print(
        "[bold green]All checks hold.[/]" if report.ok else "[bold red]Verification failed.[/]"
    )
    return ExitCode.OK if report.ok else ExitCode.FAILED


# -- blockers ---------------------------------------------------------------------------------


async def cmd_blockers(ns: argparse.Namespace) -> int:
    from console.core import waits

    s = settings(ns)
    report = await waits.report_for(s, _get(ns, "pid"), _get(ns, "migration"))
    root = report.root_pid
    rows = report.sessions
    if _get(ns, "json"):
        print_json(
            {
                "database": s.display,
                "root_pid": report.root_pid,
                "reason": report.reason,
                "tree": [{"depth": n.depth, "pid": n.session.pid} for n in report.tree],
                "edges": report.edges,
                "sessions": rows,
            }
        )
        return ExitCode.OK
    from console.cli.render import escape, out, table

    if _get(ns, "migration") and root is None:
        out.print(f"No running session of {escape(ns.migration)} (it is not running now).")
    if not rows:
        out.print("No other non-idle sessions.")
        return ExitCode.OK
    depth = {n.session.pid: n.depth for n in report.tree}
    ordered = [n.session for n in report.tree] + [r for r in rows if r.pid not in depth]
    t = table("tree", "pid", "state", "age", "xact", "wait", "blocked by", "application", "query")
    for r in ordered:
        wait = f"{r.wait_event_type}:{r.wait_event}" if r.wait_event_type else "-"
        d = depth.get(r.pid)
        tree = (
            ""
            if d is None
            else (f"{G.root} root" if d == 0 else (f"{G.above}{-d}" if d < 0 else f"{G.below}{d}"))
        )
        t.add_row(
            tree,
            str(r.pid),
            r.state or "hidden",
            duration(r.age_s or 0.0),
            duration(r.xact_age_s) if r.xact_age_s is not None else "-",
            escape(wait),
            ", ".join(map(str, r.blocked_by)) or "-",
            escape(r.application_name or "-"),
            escape(" ".join(r.query.split())[:80]),
        )
    out.print(t)
    if report.reason:
        out.print(f"[bold]{escape(report.reason)}[/]")
    by_pid = {r.pid: r for r in rows}
    for r in rows:
        if r.blocked_by and r.pid != report.root_pid:
            out.print(
                f"[bold]pid {r.pid}[/] waits for "
                + ", ".join(
                    escape(waits.describe(by_pid[b]) if b in by_pid else f"pid {b} (not visible)")
                    for b in r.blocked_by
                )
            )
    return ExitCode.OK


# -- history -------------------------------------------------------------------------------


async def cmd_history(ns: argparse.Namespace) -> int:
    from console.cli.render import escape, out, table
    from console.core.history import HistoryStore, actions

    store = HistoryStore(history_path(ns))
    data = store.load()
    if _get(ns, "json"):
        print_json(data.raw)
        return ExitCode.OK
    t = table(
        "date", "migration", "status", "executed by", "result", "notes", title="Migration history"
    )
    for m in data.migrations:
        t.add_row(
            str(m.date),
            escape(m.migration),
            m.status,
            escape(m.executed_by or "-"),
            escape(m.result or "-"),
            escape(m.notes),
        )
    out.print(t)
    if data.runs:
        t = table("started (UTC)", "migration", "action", "status", "duration", "by", title="Runs")
        for r in data.runs:
            t.add_row(
                f"{r.started_at:%Y-%m-%d %H:%M:%S}" if r.started_at else "-",
                escape(r.migration),
                r.action,
                r.status,
                duration(r.duration_s or 0.0),
                escape(r.executed_by),
            )
        out.print(t)
    done = actions(data)
    if done:
        t = table("when (UTC)", "what", "pid", "by", "migration", "session", title="Actions")
        for a in done:
            t.add_row(
                f"{a.at:%Y-%m-%d %H:%M:%S}" if a.at else "-",
                escape(a.what),
                "-" if a.pid is None else str(a.pid),
                escape(a.by or "-"),
                escape(a.migration or "-"),
                escape(a.detail or "-"),
            )
        out.print(t)
    return ExitCode.OK


# -- doctor ---------------------------------------------------------------------------------


async def cmd_doctor(ns: argparse.Namespace) -> int:
    from console.cli.doctor import run_doctor

    return await run_doctor(ns)


# -- demo -----------------------------------------------------------------------------------


async def cmd_demo(ns: argparse.Namespace) -> int:
    from console.cli.demo import run_demo

    return await run_demo(ns)


# -- the console (TUI) ------------------------------------------------------------------------


def build_service(ns: argparse.Namespace, s: ConnectionSettings | None = None) -> Any:
    from console.core.service import ConsoleService

    s = s or settings(ns)
    service = ConsoleService(
        s,
        migrations_dir(ns),
        history_path(ns),
        _get(ns, "operator") or default_operator(),
        read_only=s.read_only,
    )
    service.history()  # a corrupt history is refused before the screen opens
    return service


async def cmd_console(ns: argparse.Namespace, s: ConnectionSettings | None = None) -> int:
    from console.cli.render import escape, out
    from console.tui.app import MigrationConsoleApp

    service = build_service(ns, s)
    app = MigrationConsoleApp(
        service,
        options=run_options(ns),
        notes=_get(ns, "notes") or "",
        debug=bool(_get(ns, "debug")),
        rehearsals=_get(ns, "rehearsals"),  # set by `demo`: its practice hangs in the palette
    )
    try:
        code = await app.run_async()
    finally:
        await service.close()
    left = app.runs.left
    if left is not None:
        out.print(
            f"{left.action} {escape(left.migration)} goes on in runner pid {left.runner_pid}: "
            f"`migration-console attach {escape(left.migration)}` follows it, "
            f"`migration-console cancel {escape(left.migration)}` stops it."
        )
    if app.return_code:  # the console stopped on an error: it has said which
        return ExitCode.FAILED
    return int(code or 0)


COMMANDS = {
    "status": cmd_status,
    "plan": cmd_plan,
    "verify": cmd_verify,
    "blockers": cmd_blockers,
    "history": cmd_history,
    "doctor": cmd_doctor,
    "demo": cmd_demo,
    "console": cmd_console,
}
