"""The core and the database layer never import Textual: the TUI is a face, not a dependency."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

CORE_MODULES = [
    "console.core.migration_file",
    "console.core.plan",
    "console.core.lint",
    "console.core.run",
    "console.core.verify",
    "console.core.status",
    "console.core.history",
    "console.core.settings",
    "console.core.recording",
    "console.core.preflight",
    "console.core.doctor",
    "console.db.diagnostics",
    "console.db.catalog",
    "console.db.activity",
    "console.db.runlock",
    "console.db.connect",
    "console.cli.main",
    "console.cli.commands",
    "console.cli.doctor",
]


def test_core_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        f"for m in {CORE_MODULES!r}: __import__(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_tui_has_no_sql_driver() -> None:
    """The TUI presents and drives the core: no asyncpg import anywhere in console/tui."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "console" / "tui").rglob("*.py")
        if "asyncpg" in p.read_text() or "console.db" in p.read_text()
    ]
    assert offenders == []


def test_sql_lives_in_files() -> None:
    from console.db.sql import load

    assert "pg_stat_progress_create_index" in load("progress")
    assert "pg_blocking_pids" in load("blockers")
