"""Errors meant for people, each with the exit code the CLI documents."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # migration failed or verification mismatch
    BAD_INPUT = 2  # bad input or configuration
    CONNECT = 3  # cannot connect or not permitted
    LOCKED = 4  # another run holds the migration's lock
    INTERRUPTED = 130


class ConsoleError(Exception):
    """A user-facing error: one clear sentence plus what to do next."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, hint: str = "", *, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class BadInput(ConsoleError):
    exit_code = ExitCode.BAD_INPUT


class MigrationSyntaxError(BadInput):
    """A migration file that PostgreSQL's parser rejects, reported as file:line:column."""

    def __init__(self, path: str, line: int, column: int, message: str):
        super().__init__(f"{path}:{line}:{column}: {message}", "Fix the SQL and try again.")
        self.path = path
        self.line = line
        self.column = column


class TransactionControl(MigrationSyntaxError):
    """BEGIN, COMMIT, SAVEPOINT, SET TRANSACTION... in a migration: the console owns the
    transaction, so a file may not start, end or change it. Located like a syntax error."""

    def __init__(self, path: str, line: int, column: int, message: str, hint: str):
        super().__init__(path, line, column, message)
        self.hint = hint


class ConnectError(ConsoleError):
    exit_code = ExitCode.CONNECT


class NotPermitted(ConsoleError):
    exit_code = ExitCode.CONNECT


class LockHeld(ConsoleError):
    exit_code = ExitCode.LOCKED


class HistoryError(BadInput):
    """history.toml cannot be read or written; it is never overwritten when corrupt."""


class PreflightFailed(ConsoleError):
    """The database is not ready for this migration (missing table, not the owner, ...)."""

    exit_code = ExitCode.CONNECT
