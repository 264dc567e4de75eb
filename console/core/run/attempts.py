"""Attempts, and the one retry loop (the ``with_lock_retries`` pattern).

An autocommit statement is attempted on its own; a transactional section is
attempted whole, rolled back before the next try. A lock timeout or a deadlock
is retried with a growing pause (``RunOptions.backoff``) that ends as soon as the
sessions that blocked the attempt let go; anything else ends the run. Before a
build, an INVALID leftover of its index is dropped; after a failed statement, an
INVALID index it left is reported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from console.core import events as ev
from console.core.model import StatementPlan
from console.core.run import invalid
from console.core.run.failures import Cancelled, Failed, Lost
from console.core.run.session import RunSession
from console.core.words import Outcome


async def autocommit(s: RunSession, sp: StatementPlan, res: ev.StatementResult) -> None:
    """One statement in a transaction of its own, attempted until it may not retry."""

    async def attempt(n: int) -> None:
        await s.lock.ensure()  # never start a statement without the run lock
        res.attempts, res.status = n, Outcome.RUNNING
        s.emit(ev.StatementStarted(res.number, res.line, sp.statement.sql, n))
        t0 = time.monotonic()
        try:
            await _drop_invalid_leftover(s, sp)
            tag = await s.execute(sp.statement.sql, res.number, sp.concurrent)
        except (Failed, Cancelled, Lost) as exc:
            res.duration_s = time.monotonic() - t0
            res.status = Outcome.CANCELLED if isinstance(exc, Cancelled) else Outcome.FAILED
            if not isinstance(exc, Cancelled):
                code = exc.sqlstate if isinstance(exc, Failed) else None
                s.emit(ev.StatementFailed(res.number, res.duration_s, code, exc.message))
            raise
        res.duration_s, res.status = time.monotonic() - t0, Outcome.SUCCEEDED
        s.emit(ev.StatementFinished(res.number, res.duration_s, tag))

    try:
        await retrying(s, attempt)
    except (Failed, Cancelled, Lost):
        for state in await invalid.invalid(s.watch, (sp,)) or []:
            s.emit(ev.InvalidIndex(invalid.qualified(state), state.table, "left", res.number))
        raise


async def transaction(
    s: RunSession, plans: Sequence[StatementPlan], results: list[ev.StatementResult]
) -> None:
    """The whole section in one transaction: every attempt commits all or nothing."""
    assert s.conn is not None
    run = s.conn
    for sp in plans:
        await _drop_invalid_leftover(s, sp)

    async def attempt(n: int) -> None:
        await s.lock.ensure()
        tr = run.transaction()
        await s.guard(tr.start())
        res, committing = results[0], False
        try:
            for sp, res in zip(plans, results, strict=True):
                res.attempts, res.status = n, Outcome.RUNNING
                s.emit(ev.StatementStarted(res.number, res.line, sp.statement.sql, n))
                t0 = time.monotonic()
                try:
                    tag = await s.execute(sp.statement.sql, res.number, False)
                finally:
                    res.duration_s = time.monotonic() - t0
                res.status = Outcome.SUCCEEDED
                s.emit(ev.StatementFinished(res.number, res.duration_s, tag))
            committing = True
            await s.guard(tr.commit(), number=res.number)
        except (Failed, Cancelled) as exc:
            await _rollback(tr)
            _mark(results, Outcome.ROLLED_BACK)
            if isinstance(exc, Cancelled):
                res.status = Outcome.CANCELLED
                s.emit(ev.TransactionRolledBack("cancelled: nothing in the section took effect"))
                raise
            res.status = Outcome.FAILED
            s.emit(ev.StatementFailed(res.number, res.duration_s, exc.sqlstate, exc.message))
            s.emit(ev.TransactionRolledBack("the transaction was rolled back whole"))
            exc.note = " The transaction was rolled back: nothing changed."
            raise
        except Lost as exc:
            # The server rolls back an open transaction when its session ends; a
            # COMMIT in flight may or may not have landed.
            _mark(results, Outcome.UNKNOWN if committing else Outcome.ROLLED_BACK)
            if not committing:
                res.status = Outcome.FAILED
                s.emit(ev.StatementFailed(res.number, res.duration_s, None, exc.message))
            raise

    await retrying(s, attempt)


async def retrying(s: RunSession, attempt: Callable[[int], Awaitable[None]]) -> None:
    """attempt(1), attempt(2), …: a retryable failure pauses and tries again, at most
    ``options.attempts`` times; anything else goes straight through."""
    attempts = s.options.attempts
    for n in range(1, attempts + 1):
        try:
            await attempt(n)
            return
        except Failed as failure:
            if not failure.retryable or s.cancel_requested.is_set():
                raise
            if n == attempts:
                failure.note += (
                    f" It kept waiting for a lock after {attempts} attempts;"
                    " see who holds it with `migration-console blockers`."
                )
                raise
            await _pause(s, failure, n)


async def _pause(s: RunSession, failure: Failed, attempt: int) -> None:
    """The backoff, cut short as soon as the sessions that blocked the attempt let go."""
    wait = s.options.backoff(attempt)
    block = failure.block
    s.emit(
        ev.LockRetry(
            failure.number or 0, attempt, s.options.attempts, wait, failure.message,
            block.pids if block else (),
        )
    )  # fmt: skip
    released = await s.watch.released_check(block)
    end = time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        if released is not None and await released():
            s.emit(ev.RetryNow(failure.number or 0, block.pids if block else ()))
            return
        step = min(left, s.options.progress_interval_s)
        try:
            await asyncio.wait_for(s.cancel_requested.wait(), step)
        except TimeoutError:
            continue
        raise Cancelled(s.cancel_why)


async def _drop_invalid_leftover(s: RunSession, sp: StatementPlan) -> None:
    async def drop(sql: str) -> None:
        await s.execute(sql, sp.statement.number, True)

    await invalid.drop_leftover(s.watch, sp, s.pid, s.emit, drop)


def _mark(results: list[ev.StatementResult], status: str) -> None:
    for res in results:
        if res.status in (Outcome.SUCCEEDED, Outcome.RUNNING):
            res.status = status


async def _rollback(tr: asyncpg.transaction.Transaction) -> None:
    try:
        await tr.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the server rolls back
        pass
