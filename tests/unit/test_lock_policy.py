"""The lock policy's pure parts: durations, the wait policy's verdicts, the event log codec."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.core import events as ev
from console.core.durations import duration, parse_duration, pg_ms
from console.core.run.options import ASK, FAIL, RunOptions
from console.core.run.policy import GIVE_UP, LOCK_TIMEOUT, WaitPolicy
from console.core.waits import TreeNode, WaitReport
from console.db.activity import LockWait, Session
from console.db.catalog import IndexProgress
from console.errors import BadInput


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5", 5.0),
        ("0.5", 0.5),
        ("500ms", 0.5),
        ("5s", 5.0),
        ("2min", 120.0),
        ("1h", 3600.0),
        ("1.5 h", 5400.0),
        ("2500us", 0.0025),
        ("1e1s", 10.0),
    ],
)
def test_durations_in_postgresql_syntax(text: str, seconds: float) -> None:
    assert parse_duration(text, "--lock-timeout") == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0", "rounds to 0 ms"),
        ("0.0001", "rounds to 0 ms"),
        ("400us", "rounds to 0 ms"),
        ("nan", "not a duration"),
        ("inf", "not a duration"),
        ("1e400", "positive duration"),
        ("-5s", "positive duration"),
        ("5 parsecs", "unknown unit"),
        ("30d", "longer than PostgreSQL allows"),
        ("", "not a duration"),
    ],
)
def test_durations_refused(text: str, why: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_duration(text, "--lock-timeout")
    assert why in info.value.message
    assert info.value.exit_code == 2


def test_zero_means_no_limit_only_where_documented() -> None:
    assert parse_duration("0", "--max-wait", unlimited_ok=True) is None
    assert parse_duration("none", "--statement-timeout", unlimited_ok=True) is None
    with pytest.raises(BadInput):
        parse_duration("0.0001", "--max-wait", unlimited_ok=True)  # not 0, yet rounds to it
    assert pg_ms(None) == "0" and pg_ms(0.5) == "500ms" and pg_ms(0.0004) == "1ms"
    assert duration(0.25) == "250 ms" and duration(150) == "2 min 30 s"
    assert duration(7500) == "2 h 5 min"


# -- the wait policy -------------------------------------------------------------------------


def session(pid: int, app: str = "psql") -> Session:
    return Session(
        pid, "idle in transaction", 1.0, 1.0, "SELECT 1", app, "app", "local",
        None, None, True, (),
    )  # fmt: skip


def report(wait: LockWait | None, phase: str | None = None, blocker: int | None = 42) -> WaitReport:
    root = session(7, "migration-console run m")
    sessions = [root] + ([session(blocker)] if blocker else [])
    tree = [TreeNode(root, 0)] + ([TreeNode(session(blocker), -1)] if blocker else [])
    progress = IndexProgress(phase, "i", "t", 1, 0, blocker or 0, 0, 0, 0, 0) if phase else None
    return WaitReport(7, sessions, [], progress, tree, "pid 7 waits for pid 42.", wait)


TABLE = LockWait("relation", "ShareUpdateExclusiveLock", 1234, "call_costs", 0.0)
VXID = LockWait("virtualxid", "ShareLock", None, None, 0.0)


def policy(concurrent: bool, on_max_wait: str = FAIL, **options: float) -> tuple[WaitPolicy, list]:
    seen: list[ev.Event] = []
    p = WaitPolicy(3, concurrent, RunOptions(**options), on_max_wait, seen.append)  # type: ignore[arg-type]
    return p, seen


def test_concurrent_table_lock_wait_is_bounded_by_the_lock_timeout() -> None:
    p, seen = policy(True, lock_timeout_s=5.0)
    assert p.observe(report(TABLE), 100.0) is None
    assert p.next_poll_in(101.0) == pytest.approx(4.0)  # poll right at the deadline
    assert p.observe(report(TABLE), 105.0) == LOCK_TIMEOUT
    assert p.block is not None and p.block.pids == (42,) and p.block.relation == "call_costs"
    waiting = [e for e in seen if isinstance(e, ev.Waiting)]
    assert waiting[0].kind == ev.LOCK_WAIT and waiting[0].blockers == (42,)


def test_concurrent_wait_for_transactions_is_never_cut_by_the_lock_timeout() -> None:
    p, seen = policy(True, lock_timeout_s=5.0)
    for t in (100.0, 200.0, 10_000.0):
        assert p.observe(report(VXID, "waiting for old snapshots"), t) is None
    assert p.next_poll_in(10_000.0) is None
    # reported again while it lasts, with how long so far
    waited = [e.waited_s for e in seen if isinstance(e, ev.Waiting)]
    assert waited == [0.0, 100.0, 9900.0]
    p.finish(10_005.0)
    ended = [e for e in seen if isinstance(e, ev.WaitEnded)]
    assert ended[0].waited_s == pytest.approx(9905.0) and ended[0].kind == ev.TRANSACTIONS_WAIT


def test_max_wait_gives_up_from_the_cli_and_asks_in_the_tui() -> None:
    p, seen = policy(True, max_wait_s=60.0)
    assert p.observe(report(VXID, "waiting for writers before build"), 0.0) is None
    assert p.observe(report(VXID, "waiting for writers before build"), 60.0) == GIVE_UP
    reached = [e for e in seen if isinstance(e, ev.MaxWaitReached)]
    assert reached[0].holder_pid == 42 and not reached[0].asking
    p, seen = policy(True, ASK, max_wait_s=60.0)
    p.observe(report(VXID, "waiting for writers before build"), 0.0)
    assert p.observe(report(VXID, "waiting for writers before build"), 61.0) is None
    assert [e.asking for e in seen if isinstance(e, ev.MaxWaitReached)] == [True]
    assert p.observe(report(VXID, "waiting for writers before build"), 90.0) is None  # asked once
    p.keep_waiting(90.0)
    p.observe(report(VXID, "waiting for writers before build"), 151.0)
    assert len([e for e in seen if isinstance(e, ev.MaxWaitReached)]) == 2  # asked again


def test_plain_statements_leave_the_bound_to_the_server() -> None:
    p, _ = policy(False, lock_timeout_s=1.0, max_wait_s=1.0)
    assert p.observe(report(TABLE), 0.0) is None
    assert p.observe(report(TABLE), 50.0) is None
    assert p.observe(report(VXID), 100.0) is None  # e.g. a row lock: still the server's
    assert p.next_poll_in(100.0) is None


def test_a_short_wait_is_reported_with_its_length_when_it_ends() -> None:
    p, seen = policy(True)
    p.observe(report(LockWait("relation", "ShareUpdateExclusiveLock", 1, "t", 0.03)), 10.0)
    p.observe(report(None, blocker=None), 10.2)
    ended = [e for e in seen if isinstance(e, ev.WaitEnded)]
    assert ended[0].waited_s == pytest.approx(0.23) and "pid 42" in ended[0].who


# -- the event log ----------------------------------------------------------------------------


def test_events_round_trip_through_json_lines() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    result = ev.RunResult(
        "m", "run", "failed", now, now,
        [ev.StatementResult(1, 11, "CREATE INDEX …", "failed", 1.5, 2)],
        "boom", "55P03", ["idx"], [{"what": "terminate", "pid": 4}], "run-1",
    )  # fmt: skip
    events: list[ev.Event] = [
        ev.RunStarted("m", "run", "up", 7, False, "why", "db", 9, now, "run-1", 99, "h", "/l"),
        ev.Waiting(1, "reason", (4, 5), "waiting for old snapshots", ev.TRANSACTIONS_WAIT, 2.5),
        ev.LockRetry(1, 1, 6, 2.0, "timeout", (4,)),
        ev.RunFinished(result),
    ]
    for e in events:
        assert ev.decode(ev.encode(e)) == e
    assert ev.decode("{not json") is None
    assert ev.decode('{"event": "FromTheFuture", "x": 1}') is None


def test_event_logs_written_before_msgspec_still_read() -> None:
    """A run's log from an older console (json.dumps, datetimes by isoformat) is followed
    and replayed as it was written; a field added by a newer console is left out, and a
    line whose field has the wrong type is no event."""
    started = (
        '{"event": "RunStarted", "migration": "m", "action": "run", "section": "up", '
        '"statements": 7, "in_transaction": false, "reason": "why", "database": "db", '
        '"pid": 9, "started_at": "2026-12-01T12:00:00.250000+00:00", "run_id": "run-1", '
        '"runner_pid": 99, "host": "h", "log": "/l", "runner_started": 0, "from_later": 1}'
    )
    e = ev.decode(started)
    assert isinstance(e, ev.RunStarted)
    assert e.started_at == datetime(2026, 12, 1, 12, 0, 0, 250000, tzinfo=UTC)
    assert (e.pid, e.run_id, e.log) == (9, "run-1", "/l")
    waiting = ev.decode('{"event": "Waiting", "number": 1, "reason": "r", "blockers": [4, 5]}')
    assert waiting == ev.Waiting(1, "r", (4, 5))
    assert ev.decode('{"event": "Waiting", "number": "one", "reason": "r", "blockers": []}') is None
    assert ev.decode('{"event": "Waiting", "number": 1') is None  # torn


def test_an_event_holding_bytes_that_are_not_utf8_is_written_with_u_fffd() -> None:
    # A path from the system (the --history file's name, say) can hold a byte that is not
    # UTF-8, which Python keeps as a lone surrogate and no JSON reader takes.
    e = ev.RecordProblem("history.toml at /tmp/h\udce9.toml cannot be written", "/tmp/x")
    line = ev.encode(e)
    line.encode("utf-8")  # a line the log can hold
    assert ev.decode(line) == ev.RecordProblem(
        "history.toml at /tmp/h\ufffd.toml cannot be written", "/tmp/x"
    )
