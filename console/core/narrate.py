"""A run's events as lines for people: one wording for the CLI, the TUI's log and its file.

Each line comes with a tone ("head", "step", "ok", "error", "warn", "note", "dim")
that a face may colour; the text itself carries no markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.core.durations import duration
from console.glyphs import G
from console.lazy import lazy

if TYPE_CHECKING:
    from console.core import events as ev
else:
    ev = lazy("console.core.events")  # its dataclasses load with the first event, not before

Line = tuple[str, str]  # (tone, text)
INDENT = "      "
__all__ = ["duration", "event_lines", "progress_text", "short_sql"]


def short_sql(sql: str, width: int = 110) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def progress_text(e: ev.IndexProgress) -> str:
    """The build's phase, lockers, whom it waits for, how far: "phase, lockers 0/1, ...".
    A waiting phase shows the wait, never the percentage of the phase before it."""
    parts = [e.phase]
    if e.lockers_total:
        parts.append(f"lockers {e.lockers_done}/{e.lockers_total}")
    if e.current_locker_pid:
        parts.append(f"waiting for pid {e.current_locker_pid}")
    if e.fraction is not None and not e.waiting:
        parts.append(f"{e.fraction:.0%}")
    return ", ".join(parts)


def _pids(pids: tuple[int, ...]) -> str:
    return ", ".join(f"pid {p}" for p in pids)


_HELPER = {
    ("monitor", "lost"): ("warn", "monitor session lost: the statement goes on; reconnecting"),
    ("monitor", "reconnected"): ("note", "monitor session back"),
    ("lock", "lost"): ("warn", "run-lock session lost: taking the run lock again"),
    ("lock", "retaken"): ("note", "run lock taken again"),
    ("lock", "taken"): ("error", "another session took the run lock; stopping before the next one"),
}


_INVALID = {
    "dropping": "found INVALID index {index}{on} from an earlier build: dropping it concurrently",
    "dropped": "dropped INVALID index {index}; building it again",
    "left": "INVALID index {index}{on} is left behind by the failed statement",
    "building": "index {index}{on} is INVALID because another session is building it now: "
    "leaving it alone",
}


def event_lines(e: ev.Event, total: int) -> list[Line]:
    """The lines for one event; ``total`` is the number of statements in the run."""
    if isinstance(e, ev.RunStarted):
        head = f"{G.start} {e.action} {e.migration} on {e.database}"
        lines = [
            ("head", f"{head} (migration session pid {e.pid})"),
            ("note", f"  {e.reason}"),
        ]
        if e.runner_pid:
            lines.append(("dim", f"  runner pid {e.runner_pid} on {e.host}; log {e.log}"))
        return lines
    if isinstance(e, ev.RunRefused):
        return [("error", f"{G.fail} {e.message} {e.hint}".rstrip())]
    if isinstance(e, ev.StatementSkipped):
        return [("dim", f"[{e.number}/{total}] skipped: {e.reason}")]
    if isinstance(e, ev.StatementStarted):
        again = f" (attempt {e.attempt})" if e.attempt > 1 else ""
        return [("step", f"[{e.number}/{total}] line {e.line}{again}: {short_sql(e.sql)}")]
    if isinstance(e, ev.StatementFinished):
        return [("ok", f"{INDENT}{G.ok} {e.status} in {duration(e.duration_s)}")]
    if isinstance(e, ev.StatementFailed):
        code = f" [SQLSTATE {e.sqlstate}]" if e.sqlstate else ""
        return [("error", f"{INDENT}{G.fail} {e.message}{code} after {duration(e.duration_s)}")]
    if isinstance(e, ev.ServerNotice):
        return [("warn", f"{INDENT}{e.severity}: {e.message}")]
    if isinstance(e, ev.LockRetry):
        early = f", or as soon as {_pids(e.blockers)} lets go" if e.blockers else ""
        return [
            (
                "warn",
                f"{INDENT}{G.retry} attempt {e.attempt} of {e.attempts} gave up waiting for a lock "
                f"({e.message}); retrying in {duration(e.wait_s)}{early}",
            )
        ]
    if isinstance(e, ev.RetryNow):
        return [("note", f"{INDENT}{G.retry} {_pids(e.blockers)} let go: retrying now")]
    if isinstance(e, ev.IndexProgress):
        return [("dim", f"{INDENT}{G.ellipsis} {progress_text(e)}")]
    if isinstance(e, ev.InvalidIndex):
        on = f" on {e.table}" if e.table else ""
        text = _INVALID[e.action].format(index=e.index, on=on)
        return [("error" if e.action == "left" else "warn", f"{INDENT}! {text}")]
    if isinstance(e, ev.Waiting):
        how_long = f" {duration(e.waited_s)}" if e.waited_s >= 1 else ""
        what = "for other transactions" if e.kind == ev.TRANSACTIONS_WAIT else "for a lock"
        lines = [("warn", f"{INDENT}{G.wait} waiting{how_long} {what}: {e.reason}")]
        if e.blockers:
            lines.append(
                (
                    "note",
                    f"{INDENT}see `migration-console blockers`; the console can cancel or "
                    "terminate a blocker from its Blockers panel",
                )
            )
        return lines
    if isinstance(e, ev.WaitEnded):
        what = "for other transactions" if e.kind == ev.TRANSACTIONS_WAIT else "for a lock"
        who = f" ({e.who})" if e.who else ""
        return [("note", f"{INDENT}waited {duration(e.waited_s)} {what}{who}")]
    if isinstance(e, ev.MaxWaitReached):
        waited = f"waited {duration(e.waited_s)} for other transactions (--max-wait)"
        head = f"{INDENT}{G.alarm} {waited}"
        then = (
            "the console asks the operator what to do; the build is kept meanwhile"
            if e.asking
            else "giving up the build"
        )
        return [("error", f"{head}: {then}; holder: {e.holder or 'unknown'}")]
    if isinstance(e, ev.Decision):
        return [("note", f"{INDENT}{e.by}: {e.what}")]
    if isinstance(e, ev.HelperSession):
        tone, text = _HELPER.get((e.role, e.state), ("note", f"{e.role} session {e.state}"))
        detail = f" ({e.detail})" if e.detail else ""
        return [(tone, f"{INDENT}{text}{detail}")]
    if isinstance(e, ev.RecordProblem):
        return [("error", f"! {e.message}")]
    if isinstance(e, ev.RunnerLost):
        return [
            (
                "error",
                f"{G.end} the runner (pid {e.runner_pid}) ended without recording an outcome: "
                "the run is interrupted. `migration-console status` shows what the database holds; "
                "`migration-console recover MIGRATION` adopts, resumes or marks it.",
            )
        ]
    if isinstance(e, ev.RemoteEnded):
        return [
            (
                "ok" if e.ok else "error",
                f"{G.end} the run of {e.migration} ended; the database shows it {e.state}"
                f"{': ' + e.detail if e.detail else ''} (its record is in the history.toml "
                "of the machine that ran it)",
            )
        ]
    if isinstance(e, ev.TransactionRolledBack):
        return [("warn", f"{INDENT}{G.undo} {e.reason}")]
    if isinstance(e, ev.CancelRequested):
        cancelling = f"cancelling the statement on the server (pid {e.pid})"
        return [("warn", f"{INDENT}{cancelling}{G.ellipsis}")]
    if isinstance(e, ev.RunFinished):
        r = e.result
        tone = {"succeeded": "ok", "failed": "error"}.get(r.status, "warn")
        lines = [(tone, f"{G.end} {r.action} {r.status} in {duration(r.duration_s)}")]
        if r.error:
            lines.append(("note", f"  {r.error}"))
        lines += [
            (
                "error",
                f"  INVALID index left: {name} {G.dash} `IF NOT EXISTS` would skip it; run again "
                f"(the console drops and rebuilds it) or drop it with "
                f"DROP INDEX CONCURRENTLY {name};",
            )
            for name in r.invalid_indexes
        ]
        return lines
    return []
