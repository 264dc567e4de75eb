"""The demo's own migration folder and history, for when there is no project around it.

The package carries the seed's migration (``migrations/*.sql``, the same file as the
repository's ``migrations/``) and the seed's history (``history.toml``: the team's
table with the migration pending). ``install`` copies them into the demo's state
folder, so ``migration-console demo`` works from any folder once the wheel is
installed, and the commands it prints name those paths.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

MIGRATIONS_ENV = "MIGRATION_CONSOLE_MIGRATIONS"
HISTORY_ENV = "MIGRATION_CONSOLE_HISTORY"


@dataclass(frozen=True)
class DemoFiles:
    migrations: Path
    history: Path


def packaged_migrations() -> dict[str, str]:
    """The migrations the package ships: file name → text."""
    folder = files("console.demo").joinpath("migrations")
    return {
        f.name: f.read_text(encoding="utf-8")
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".sql")
    }


def packaged_history() -> str:
    return files("console.demo").joinpath("history.toml").read_text(encoding="utf-8")


def project_has_migrations(given: Path | None, cwd: Path | None = None) -> bool:
    """Whether the operator named a migrations folder (option or environment) or stands
    in a project with one: then the demo uses it, as every other command does."""
    if given is not None or os.environ.get(MIGRATIONS_ENV):
        return True
    return ((cwd or Path.cwd()) / "migrations").is_dir()


def install(state_dir: Path, *, fresh_history: bool = False) -> DemoFiles:
    """Copy the packaged migrations into ``state_dir/migrations`` (a file that differs is
    replaced: the package's is the demo's) and the seed history into
    ``state_dir/history.toml`` when there is none yet or ``fresh_history`` (a reset)."""
    state_dir = state_dir.expanduser().resolve()
    folder = state_dir / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in packaged_migrations().items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            _write(path, text)
    history = state_dir / "history.toml"
    if fresh_history or not history.exists():
        _write(history, packaged_history())
    return DemoFiles(folder, history)


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a temporary file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
