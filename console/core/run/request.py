"""What a runner is asked to do (``RunRequest``), and the exit code its outcome makes.

Kept apart from ``execute``: a face builds a request, and the CLI forks its runner,
before anything of the engine (asyncio, asyncpg, the SQL parser) is loaded.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from console.core.run.options import FAIL, RunOptions
from console.core.words import Outcome
from console.errors import BadInput, ExitCode

if TYPE_CHECKING:
    from console.core.model import Migration, SectionPlan

ACTIONS = {"run": "up", "rollback": "down"}  # the section each action runs
STATE_ENV = "MIGRATION_CONSOLE_STATE_DIR"

EXIT_CODES: dict[str, ExitCode] = {
    Outcome.SUCCEEDED: ExitCode.OK,
    Outcome.CANCELLED: ExitCode.INTERRUPTED,
}


def exit_code(status: str) -> int:
    """A run's outcome as the CLI's exit code (failed and interrupted: 1)."""
    return int(EXIT_CODES.get(status, ExitCode.FAILED))


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunRequest:
    """Everything a runner needs besides the connection."""

    migration_path: Path
    action: str = "run"
    options: RunOptions = field(default_factory=RunOptions)
    operator: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    history_path: Path | None = None  # None: no record (benchmarks)
    log_path: Path | None = None  # None: no event log
    run_id: str = field(default_factory=new_run_id)
    on_max_wait: str = FAIL  # "ask" when a face will ask the operator
    skip: tuple[int, ...] = ()  # statements done by the run this one resumes
    resumes: str = ""  # that run's id


def state_dir() -> Path:
    """Where runs keep their event logs: $MIGRATION_CONSOLE_STATE_DIR, else the platform's
    state folder (~/.local/state/migration-console on Linux)."""
    override = os.environ.get(STATE_ENV)
    if override:
        # Absolute: the path goes into history.toml, read from other folders (attach,
        # recover, the console started elsewhere).
        return Path(override).expanduser().absolute()
    import platformdirs

    return platformdirs.user_state_path("migration-console")


def start_log(request: RunRequest) -> Path:
    """The run's event log, made empty before its runner starts (a face follows it from
    the start), and the runner's stderr file beside it; BadInput (exit 2) if their
    folder cannot take them (full, read-only, a name that is not UTF-8), before
    anything runs."""
    log = request.log_path
    assert log is not None
    from console.connection import as_text, is_text

    if not is_text(str(log.parent)):  # the name in it is the migration's: read as text
        raise BadInput(
            f"The folder for the run's event log, {as_text(str(log.parent))}, has a name that "
            "is not UTF-8, and history.toml could not record where the log is: nothing was run.",
            f"Point {STATE_ENV} at a folder whose name is UTF-8.",
        )
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        log.with_suffix(".stderr").touch(mode=0o600)
    except OSError as exc:
        raise BadInput(
            f"Cannot write the run's event log in {log.parent} ({exc.strerror or exc}): "
            "nothing was run.",
            f"Free some space there, or point {STATE_ENV} at a writable folder.",
        ) from None
    return log


def log_path_for(migration: str, action: str, run_id: str) -> Path:
    return state_dir() / "runs" / f"{migration}-{action}-{run_id}.jsonl"


def request_for(
    migration: Migration, action: str, history_path: Path, **fields: object
) -> RunRequest:
    request = RunRequest(migration.path, action, history_path=history_path)
    request = replace(request, **fields)  # type: ignore[arg-type]
    return replace(request, log_path=log_path_for(migration.name, action, request.run_id))


def plan_for(migration: Migration, action: str) -> SectionPlan:
    """The plan of the section ``action`` runs; BadInput (exit 2) if it has no statements."""
    section = migration.section(ACTIONS[action])
    if section is None or not section.statements:
        raise BadInput(
            f"{migration.path} has no statements in its `-- migrate:{ACTIONS[action]}` section.",
            "Add them to the file, or pick another migration.",
        )
    from console.core.plan import plan_section  # the SQL parser: a face's, not a runner's

    return plan_section(section)
