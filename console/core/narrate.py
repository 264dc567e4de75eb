"""A run's events as lines for people: one wording for the CLI, the TUI's log and its file.

Each line comes with a tone ("head", "step", "ok", "error", "warn", "note", "dim")
that a face may colour; the text itself carries no markup.
"""

from __future__ import annotations

from console.core import events as ev

Line = tuple[str, str]  # (tone, text)
INDENT = "      "


def duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def short_sql(sql: str, width: int = 110) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def progress_text(e: ev.IndexProgress) -> str:
    """The build's phase, lockers, whom it waits for, how far: "phase, lockers 0/1, ..."."""
    parts = [e.phase]
    if e.lockers_total:
        parts.append(f"lockers {e.lockers_done}/{e.lockers_total}")
    if e.current_locker_pid:
        parts.append(f"waiting for pid {e.current_locker_pid}")
    if e.fraction is not None:
        parts.append(f"{e.fraction:.0%}")
    return ", ".join(parts)


_INVALID = {
    "dropping": "found INVALID index {index}{on} from an earlier build: dropping it concurrently",
    "dropped": "dropped INVALID index {index}; building it again",
    "left": "INVALID index {index}{on} is left behind by the failed statement",
}


def event_lines(e: ev.Event, total: int) -> list[Line]:
    """The lines for one event; ``total`` is the number of statements in the run."""
    if isinstance(e, ev.RunStarted):
        return [
            ("head", f"▶ {e.action} {e.migration} on {e.database} (migration session pid {e.pid})"),
            ("note", f"  {e.reason}"),
        ]
    if isinstance(e, ev.StatementStarted):
        again = f" (attempt {e.attempt})" if e.attempt > 1 else ""
        return [("step", f"[{e.number}/{total}] line {e.line}{again}: {short_sql(e.sql)}")]
    if isinstance(e, ev.StatementFinished):
        return [("ok", f"{INDENT}✓ {e.status} in {duration(e.duration_s)}")]
    if isinstance(e, ev.StatementFailed):
        code = f" [SQLSTATE {e.sqlstate}]" if e.sqlstate else ""
        return [("error", f"{INDENT}✗ {e.message}{code} after {duration(e.duration_s)}")]
    if isinstance(e, ev.ServerNotice):
        return [("warn", f"{INDENT}{e.severity}: {e.message}")]
    if isinstance(e, ev.LockRetry):
        return [
            (
                "warn",
                f"{INDENT}↻ attempt {e.attempt} of {e.attempts} gave up waiting for a lock "
                f"({e.message}); retrying in {e.wait_s:.1f} s",
            )
        ]
    if isinstance(e, ev.IndexProgress):
        return [("dim", f"{INDENT}… {progress_text(e)}")]
    if isinstance(e, ev.InvalidIndex):
        on = f" on {e.table}" if e.table else ""
        text = _INVALID[e.action].format(index=e.index, on=on)
        return [("error" if e.action == "left" else "warn", f"{INDENT}! {text}")]
    if isinstance(e, ev.Waiting):
        lines = [("warn", f"{INDENT}⏳ waiting: {e.reason}")]
        if e.blockers:
            lines.append(
                (
                    "note",
                    f"{INDENT}see `migration-console blockers`; the console can cancel or "
                    "terminate a blocker from its Blockers panel",
                )
            )
        return lines
    if isinstance(e, ev.TransactionRolledBack):
        return [("warn", f"{INDENT}↺ {e.reason}")]
    if isinstance(e, ev.CancelRequested):
        return [("warn", f"{INDENT}cancelling the statement on the server (pid {e.pid})…")]
    if isinstance(e, ev.RunFinished):
        r = e.result
        tone = {"succeeded": "ok", "failed": "error"}.get(r.status, "warn")
        lines = [(tone, f"■ {r.action} {r.status} in {duration(r.duration_s)}")]
        if r.error:
            lines.append(("note", f"  {r.error}"))
        lines += [
            (
                "error",
                f"  INVALID index left: {name} — `IF NOT EXISTS` would skip it; run again "
                f"(the console drops and rebuilds it) or drop it with "
                f"DROP INDEX CONCURRENTLY {name};",
            )
            for name in r.invalid_indexes
        ]
        return lines
    return []
