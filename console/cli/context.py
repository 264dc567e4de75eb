"""What a command is given: the command line, read once by ``main``, as one frozen value.

A command reads its inputs here and nowhere else. What needs checking or looking up
(the connection, the migrations folder, the run options, the operator) is worked out
when a command first asks for it, so a command that never connects never resolves a
connection, and an error names what is wrong with the input it concerns.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.errors import BadInput

if TYPE_CHECKING:
    from console.core.model import Migration
    from console.core.run import RunOptions
    from console.core.service import ConsoleService
    from console.settings import ConnectionSettings

MAX_RETRIES = 100


@dataclass(frozen=True)
class Timing:
    """A run's time options as typed, in PostgreSQL's duration syntax (``options``)."""

    lock_timeout: str = "5s"
    lock_retries: int = 5
    retry_backoff: str = "2s"
    statement_timeout: str = "0"
    max_wait: str = "0"


@dataclass(frozen=True)
class DemoArgs:
    """`demo`'s own options."""

    rows: int = 1_000_000
    reset: bool = False
    no_tui: bool = False
    scenario: str | None = None
    stop_scenarios: bool = False
    stop: bool = False


@dataclass(frozen=True)
class Context:
    command: str  # "console" when none is given: the TUI
    database_url: str | None = None  # --database-url; else DATABASE_URL, else libpq's PG*
    migrations_option: Path | None = None  # --migrations
    history_option: Path | None = None  # --history
    operator_option: str | None = None  # --operator
    read_only: bool = False
    debug: bool = False  # --debug (main also reads MIGRATION_CONSOLE_DEBUG)
    json: bool = False
    migration: str | None = None  # the MIGRATION argument
    yes: bool = False
    notes: str = ""
    timing: Timing = field(default_factory=Timing)
    rehearsals: Path | None = None  # set by `demo`: its practice hangs in the console's palette
    # one command's own
    rollback: bool = False  # plan --rollback
    pid: int | None = None  # blockers --pid
    recover: str | None = None  # recover --adopt, --resume or --mark: "adopt", "resume", "mark"
    mark_note: str | None = None  # recover --mark NOTE
    demo: DemoArgs = field(default_factory=DemoArgs)

    # -- what the inputs mean, worked out when first asked ---------------------------------

    @cached_property
    def settings(self) -> ConnectionSettings:
        from console.settings import resolve_connection

        s = resolve_connection(self.database_url)
        return replace(s, read_only=True) if self.read_only else s

    @property
    def migrations_dir(self) -> Path:
        d = self.migrations_option or Path(
            os.environ.get("MIGRATION_CONSOLE_MIGRATIONS", "migrations")
        )
        if not d.is_dir():
            raise BadInput(
                f"The migrations folder {d} does not exist.",
                "Run from the project root or pass --migrations DIR.",
            )
        return Path(d)

    @property
    def history_path(self) -> Path:
        return Path(
            self.history_option or os.environ.get("MIGRATION_CONSOLE_HISTORY", "history.toml")
        )

    @cached_property
    def operator(self) -> str:
        from console.settings import default_operator

        return self.operator_option or default_operator()

    @cached_property
    def options(self) -> RunOptions:
        """The time options in PostgreSQL's duration syntax; anything odd is exit 2."""
        from console.core.durations import parse_duration
        from console.core.run import RunOptions

        t = self.timing
        retries = int(t.lock_retries)
        if not 0 <= retries <= MAX_RETRIES:
            raise BadInput(
                f"--lock-retries must be between 0 and {MAX_RETRIES}, not {retries}.",
                "See `migration-console run --help`.",
            )
        statement = parse_duration(t.statement_timeout, "--statement-timeout", unlimited_ok=True)
        return RunOptions(
            lock_timeout_s=parse_duration(t.lock_timeout, "--lock-timeout") or 0.0,
            lock_retries=retries,
            backoff_s=parse_duration(t.retry_backoff, "--retry-backoff") or 0.0,
            statement_timeout_s=statement or 0.0,
            max_wait_s=parse_duration(t.max_wait, "--max-wait", unlimited_ok=True),
        )

    def migration_path(self) -> Path:
        """The MIGRATION argument's file (BadInput if there is none such), not read yet."""
        from console.core.migration_file import resolve_migration

        assert self.migration is not None, f"{self.command} takes no migration"
        return resolve_migration(self.migration, self.migrations_dir)

    def load_migration(self) -> Migration:
        """The MIGRATION argument's file, read and split into sections."""
        from console.core.migration_file import parse_migration

        return parse_migration(self.migration_path())

    def service(self) -> ConsoleService:
        """What the TUI (and `status`) ask of the core; a corrupt history.toml is refused
        here, before any screen opens."""
        from console.core.service import ConsoleService

        s = self.settings
        service = ConsoleService(
            s, self.migrations_dir, self.history_path, self.operator, read_only=s.read_only
        )
        service.history()
        return service

    def refuse_if_read_only(self, what: str) -> None:
        if self.read_only:
            raise BadInput(
                f"--read-only monitors only: it does not {what}.",
                "Run the command again without --read-only.",
            )

    def redact(self, text: str) -> str:
        """``text`` with every secret of the connection masked, even one that did not
        resolve: then whatever in the URL or PGPASSWORD may be a secret."""
        try:
            return self.settings.redact(text)
        except Exception:  # noqa: BLE001 - no settings: whatever may be a secret in the strings
            from console.connection import password_forms, secrets_of
            from console.settings import Redactor

            url = self.database_url or os.environ.get("DATABASE_URL", "")
            pgpassword = password_forms(os.environ.get("PGPASSWORD"))
            return Redactor((*secrets_of(url), *pgpassword))(text)


def from_arguments(ns: argparse.Namespace) -> Context:
    """The parsed command line as a ``Context``; options a command does not take are
    left at their defaults."""

    def arg(name: str, default: Any = None) -> Any:
        return getattr(ns, name, default)

    recover = next((f for f in ("adopt", "resume") if arg(f)), None)
    if recover is None and arg("mark") is not None:
        recover = "mark"
    return Context(
        command=ns.command or "console",
        database_url=arg("database_url"),
        migrations_option=arg("migrations"),
        history_option=arg("history"),
        operator_option=arg("operator"),
        read_only=bool(arg("read_only")),
        debug=bool(arg("debug")),
        json=bool(arg("json")),
        migration=arg("migration"),
        yes=bool(arg("yes")),
        notes=str(arg("notes") or ""),
        timing=Timing(
            ns.lock_timeout, ns.lock_retries, ns.retry_backoff, ns.statement_timeout, ns.max_wait
        ),
        rollback=bool(arg("rollback")),
        pid=arg("pid"),
        recover=recover,
        mark_note=arg("mark"),
        demo=DemoArgs(
            rows=int(arg("rows", 1_000_000)),
            reset=bool(arg("reset")),
            no_tui=bool(arg("no_tui")),
            scenario=arg("scenario"),
            stop_scenarios=bool(arg("stop_scenarios")),
            stop=bool(arg("stop")),
        ),
    )
