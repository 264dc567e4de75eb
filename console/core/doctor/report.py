"""The connection doctor's verdicts: one check, one plain sentence, one fix."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace

import asyncpg

from console.settings import Redactor

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
VERDICTS = (OK, WARN, FAIL, SKIP)

# Check names, in the order the report lists them.
HOST, POOLER, TLS, CONNECTION = "host", "pooler", "tls", "connection"
SERVER, ROLE, PRIVILEGES, TIMEOUTS = "server", "role", "privileges", "timeouts"
IDLE, INVALID_INDEXES = "idle-transactions", "invalid-indexes"
CONNECTED_CHECKS = (SERVER, ROLE, PRIVILEGES, TIMEOUTS, IDLE, INVALID_INDEXES)


@dataclass(frozen=True)
class Check:
    name: str  # one of the names above; "privileges" may appear once per problem
    verdict: str  # ok, warn, fail or skip
    summary: str  # one plain sentence: what the doctor found
    fix: str = ""  # what to do about it ("" when nothing)

    def redacted(self, redact: Redactor) -> Check:
        return replace(self, summary=redact(self.summary), fix=redact(self.fix))


@dataclass(frozen=True)
class DoctorReport:
    database: str  # masked
    checks: list[Check] = field(default_factory=list)
    migrations: list[str] = field(default_factory=list)  # whose privileges were checked

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == WARN]

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return not self.failures


# Every query the doctor runs is bounded: the monitor session's statement_timeout on the
# server, and this on the client (a network that stops answering).
STAGE_TIMEOUT_S = 10.0
QUERY_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


async def guarded(name: str, work: Awaitable[list[Check]]) -> list[Check]:
    """Run one check; a query that fails or does not answer becomes a warning, not a crash."""
    try:
        return await asyncio.wait_for(work, STAGE_TIMEOUT_S)
    except TimeoutError:
        return [Check(name, WARN, f"Could not check: no answer within {STAGE_TIMEOUT_S:g} s.")]
    except QUERY_ERRORS as exc:
        return [Check(name, WARN, f"Could not check: {first_line(exc)}.")]
