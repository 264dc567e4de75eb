"""A run's face loads the terminal renderer after it has forked its runner, and only the
commands that print for people load rich at all (docs/benchmarks.md, issue 9)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


def _loaded(code: str) -> set[str]:
    probe = (
        f"{code}\n"
        "import sys\n"
        "tops = {m.split('.')[0] for m in sys.modules}\n"
        "print(','.join(sorted(t for t in tops if t in ('rich', 'textual', 'pglast', "
        "'asyncpg', 'tomlkit'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return set(filter(None, proc.stdout.strip().split(",")))


def test_the_run_commands_module_loads_no_renderer_and_no_engine() -> None:
    assert _loaded("import console.cli.main, console.cli.commands.run, console.cli.render") == set()


def test_the_renderer_loads_rich_when_it_first_prints() -> None:
    assert _loaded("from console.cli.render import error") == set()
    assert "rich" in _loaded("from console.cli import render\nrender.out")
    assert "rich" in _loaded("from console.cli.render import escape")

