"""How a statement ends badly: cancelled, lost, or failed (retryable or not).

``Failed`` carries what a retry needs: whether it may be retried (a lock timeout or
a deadlock) and who blocked the attempt (``attempts.retrying`` pauses until they
let go).
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from console.core.run.policy import Block

LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK = "40P01"
RETRYABLE = {LOCK_NOT_AVAILABLE, DEADLOCK}


class Cancelled(Exception):
    """The operator (or another session) cancelled the statement."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Lost(Exception):
    """The migration's own session is gone: terminated, network, server restart."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Failed(Exception):
    """The server refused the statement, or the console stopped it by its policy."""

    def __init__(
        self,
        message: str,
        sqlstate: str | None,
        *,
        retryable: bool = False,
        block: Block | None = None,
        number: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.retryable = retryable
        self.block = block
        self.number = number
        self.note = ""  # what follows the message for people (e.g. "nothing changed")

    @classmethod
    def of(
        cls,
        exc: asyncpg.PostgresError,
        redact: Callable[[str], str],
        *,
        block: Block | None = None,
        number: int | None = None,
    ) -> Failed:
        message = redact(str(getattr(exc, "message", None) or exc))
        retryable = exc.sqlstate in RETRYABLE
        return cls(message, exc.sqlstate, retryable=retryable, block=block, number=number)

    def describe(self, file_name: str, line: int | None) -> str:
        where = f"{file_name}:{line}: " if line else f"{file_name}: "
        code = f" (SQLSTATE {self.sqlstate})" if self.sqlstate else ""
        return f"{where}{self.message}{code}.{self.note}"
