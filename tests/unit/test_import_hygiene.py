"""What each layer may load, checked by importing every module of it (found by walking the
packages, never listed by hand): the core, the database layer and the ground floor load no
Textual and no rich; the CLI loads no Textual until it opens the TUI. import-linter
(``lint-imports`` in CI, contracts in pyproject.toml) proves the same of the import graph."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

GROUND = ["console.connection", "console.settings", "console.errors", "console.glyphs",
          "console.lazy"]  # fmt: skip


def modules_of(package: str) -> list[str]:
    """Every module of ``package`` and its subpackages, found on disk."""
    mod = __import__(package, fromlist=["__path__"])
    found = [package]
    for info in pkgutil.walk_packages(mod.__path__, prefix=package + "."):
        found.append(info.name)
    return found


def loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        f"import sys\nfor m in {modules!r}: __import__(m)\nprint('\\n'.join(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def top_level(loaded: set[str]) -> set[str]:
    return {m.split(".")[0] for m in loaded}


def test_the_walk_finds_every_module_of_the_core() -> None:
    """The walk is the list: a module added tomorrow is checked without editing this file."""
    core = set(modules_of("console.core"))
    on_disk = {
        "console." + ".".join(p.relative_to(ROOT / "console").with_suffix("").parts)
        for p in (ROOT / "console" / "core").rglob("*.py")
    }
    on_disk = {m.removesuffix(".__init__") for m in on_disk}
    assert on_disk <= core
    assert len(core) > 30


@pytest.mark.parametrize("package", ["console.core", "console.db", "console.demo"])
def test_core_and_db_load_no_screen(package: str) -> None:
    loaded = top_level(loaded_after_import(modules_of(package) + GROUND))
    assert not loaded & {"textual", "rich"}, f"{package} loads {loaded & {'textual', 'rich'}}"


def test_the_cli_loads_no_textual_until_it_opens_the_tui() -> None:
    cli = modules_of("console.cli")
    loaded = top_level(loaded_after_import(cli))
    assert "textual" not in loaded
    assert "console" in loaded


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
