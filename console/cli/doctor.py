"""`migration-console doctor [MIGRATION] [--json]`: the connection doctor's checks, each
with its verdict and the fix. Exit 0 when no check fails, 3 when any does."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, replace

from rich.markup import escape

from console.cli.commands import load_migration, migrations_dir, settings
from console.cli.render import out, print_json
from console.core.doctor import FAIL, OK, SKIP, WARN, Check, DoctorReport, diagnose
from console.core.migration_file import list_migrations, parse_migration
from console.core.model import Migration
from console.errors import BadInput, ExitCode
from console.glyphs import G


def _mark(verdict: str) -> str:
    marks = {OK: f"[green]{G.ok}[/]", WARN: "[yellow]![/]", FAIL: f"[red]{G.fail}[/]"}
    return marks.get(verdict, "[dim]-[/]" if verdict == SKIP else "?")


async def run_doctor(ns: argparse.Namespace) -> int:
    s = settings(ns)
    migrations, unreadable = _migrations(ns)
    report = await diagnose(s, migrations, os.environ)
    if unreadable:
        report = replace(report, checks=report.checks + [c.redacted(s.redact) for c in unreadable])
    if getattr(ns, "json", False):
        print_json(
            {
                "database": report.database,
                "ok": report.ok,
                "migrations": report.migrations,
                "checks": [asdict(c) for c in report.checks],
            }
        )
    else:
        print_report(report)
    return ExitCode.OK if report.ok else ExitCode.CONNECT


def _migrations(ns: argparse.Namespace) -> tuple[list[Migration], list[Check]]:
    """The named migration, else every readable file in migrations/ (none if no folder);
    files that cannot be read become warnings."""
    if getattr(ns, "migration", None):
        return [load_migration(ns)], []
    try:
        directory = migrations_dir(ns)
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
