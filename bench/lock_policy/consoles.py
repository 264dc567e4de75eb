"""The two consoles compared: this checkout's and an earlier commit's (``git archive``),
each run as an operator runs it, in a folder of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from _load import ROOT, console_env

OLD_COMMIT = "d8838e6"  # the last commit with the old lock policy, in-process CLI
NEW, OLD = "new", "old"
GIT_TIMEOUT_S = 60.0
TINY_TIMEOUT_S = 60.0  # one tiny run, one CLI start: never longer


def extract_old(work: Path, commit: str = OLD_COMMIT, *, bytecode: bool = False) -> Path:
    """The console package of a commit in a folder of its own (the PYTHONPATH for it),
    compiled to bytecode with ``bytecode`` (as this checkout is, then)."""
    dest = work / f"console-{commit}"
    if dest.exists():
        return dest
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "console"],
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        check=True,
    )
    subprocess.run(
        ["tar", "-x", "-C", str(dest)], input=archive.stdout, timeout=GIT_TIMEOUT_S, check=True
    )
    if bytecode:
        compile_tree(dest)
    return dest


def compile_tree(folder: Path) -> None:
    """Bytecode for every module under ``folder``, as an installed console has it (pip
    compiles a wheel's modules; PYTHONDONTWRITEBYTECODE only stops Python writing it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(folder)],
        env=env,
        timeout=GIT_TIMEOUT_S,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def has_bytecode(folder: Path) -> str:
    """Whether the CLI's modules under ``folder`` load from bytecode (a line to print)."""
    main = folder / "console" / "cli" / "main.py"
    cached = main.parent / "__pycache__" / f"main.{sys.implementation.cache_tag}.pyc"
    fresh = cached.exists() and cached.stat().st_mtime >= main.stat().st_mtime
    return "bytecode" if fresh else "compiled from source at every start"


def describe_commit(commit: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", commit],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
    )
    return proc.stdout.strip() or commit


def run_imports(folder: Path) -> str:
    """Every module a run loads, in its face or its runner (each loads some lazily), in
    the console under ``folder``: its CLI has had three shapes."""
    cli = folder / "console" / "cli"
    rest = "console.cli.render, console.core.run.control, console.core.run.process, "
    rest += "rich.console, rich.table"
    if (cli / "commands" / "run.py").exists():  # one module per command
        return f"console.cli.main, console.cli.commands, console.cli.commands.run, {rest}"
    if (cli / "runs.py").exists():  # the run commands in a module of their own
        return f"console.cli.main, console.cli.commands, console.cli.runs, {rest}"
    return "console.cli.main, console.cli.commands"  # d8838e6 ran in-process: all of it


def cli_env(url: str, pythonpath: Path, state: Path) -> dict[str, str]:
    """The CLI's environment; the runner's event log goes to ``state``."""
    return console_env(
        url, state, pythonpath, NO_COLOR="1", COLUMNS="200", XDG_STATE_HOME=str(state)
    )


def which_console(pythonpath: Path, cwd: Path) -> str:
    """Where `import console` resolves with this PYTHONPATH (a check, printed)."""
    env = cli_env("postgresql://nowhere/none", pythonpath, cwd / "state")
    proc = subprocess.run(
        [sys.executable, "-c", "import console; print(console.__file__)"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=TINY_TIMEOUT_S,
    )
    return proc.stdout.strip() or proc.stderr.strip()[-300:]


def run_folder(parent: Path, name: str, migration: Path) -> Path:
    """A folder as an operator's: migrations/ with the file; history.toml written there."""
    folder = parent / name
    (folder / "migrations").mkdir(parents=True)
    shutil.copy(migration, folder / "migrations" / migration.name)
    return folder
