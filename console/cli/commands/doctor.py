"""`migration-console doctor [MIGRATION] [--json]`: the connection doctor's checks, each
with its verdict and the fix. Exit 0 when no check fails, 3 when any does."""

from __future__ import annotations

import os
from dataclasses import replace

from console.cli.context import Context
from console.cli.jsonout import print_json
from console.core import export
from console.core.doctor import FAIL, OK, SKIP, WARN, Check, DoctorReport, diagnose
from console.core.migration_file import list_migrations, parse_migration
from console.core.model import Migration
from console.errors import BadInput, ExitCode
from console.glyphs import G


def _mark(verdict: str) -> str:
    marks = {OK: f"[green]{G.ok}[/]", WARN: "[yellow]![/]", FAIL: f"[red]{G.fail}[/]"}
    return marks.get(verdict, "[dim]-[/]" if verdict == SKIP else "?")


async def command(ctx: Context) -> int:
    s = ctx.settings
    migrations, unreadable = _migrations(ctx)
    report = await diagnose(s, migrations, os.environ)
    if unreadable:
        report = replace(report, checks=report.checks + [c.redacted(s.redact) for c in unreadable])
    if ctx.json:
        print_json(export.doctor(report))
    else:
        print_report(report)
    return ExitCode.OK if report.ok else ExitCode.CONNECT


def _migrations(ctx: Context) -> tuple[list[Migration], list[Check]]:
    """The named migration, else every readable file in migrations/ (none if no folder);
    files that cannot be read become warnings."""
    if ctx.migration:
        return [ctx.load_migration()], []
    try:
        directory = ctx.migrations_dir
    except BadInput:
        return [], []
    found: list[Migration] = []
    unreadable: list[Check] = []
    for path in list_migrations(directory):
        try:
            found.append(parse_migration(path))
        except BadInput as exc:
            fix = f"Fix the file; `migration-console plan {path.stem}` shows where."
            unreadable.append(Check("migrations", WARN, exc.message, fix))
    return found, unreadable


def print_report(report: DoctorReport) -> None:
    from console.cli.render import escape, out

    out.print(f"[bold]doctor[/] {escape(report.database)}")
    for c in report.checks:
        out.print(f"{_mark(c.verdict)} {c.name}: {escape(c.summary)}")
        if c.fix and c.verdict != OK:
            out.print(f"    fix: {escape(c.fix)}")
    failures, warnings = len(report.failures), len(report.warnings)
    if failures:
        out.print(
            f"[bold red]{failures} check{'s' if failures > 1 else ''} failed[/]"
            + (f", {warnings} warning{'s' if warnings > 1 else ''}" if warnings else "")
            + ": fix what failed before running a migration."
        )
    elif warnings:
        out.print(
            f"[bold yellow]{warnings} warning{'s' if warnings > 1 else ''}[/], nothing failed."
        )
    else:
        out.print("[bold green]No problems found.[/]")
