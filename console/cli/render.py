"""Printing for the CLI: events as they happen, reports as tables, errors as sentences."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from console.core import events as ev

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def error(message: str, hint: str = "") -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        err.print(f"  {escape(hint)}")


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")
    sys.stdout.flush()


def table(*columns: str, title: str | None = None) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, expand=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    return t


def duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


class EventPrinter:
    """Prints a run's events as lines; progress at most every two seconds per phase."""

    def __init__(self, total_hint: int = 0):
        self.total = total_hint
        self._last_progress = 0.0
        self._last_phase: str | None = None

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(event)

    def _on_RunStarted(self, e: ev.RunStarted) -> None:
        self.total = e.statements
        out.print(
            f"[bold]▶ {e.action} {escape(e.migration)}[/] on {escape(e.database)} "
            f"(migration session pid {e.pid})"
        )
        out.print(f"  {escape(e.reason)}")

    def _on_StatementStarted(self, e: ev.StatementStarted) -> None:
        again = f" (attempt {e.attempt})" if e.attempt > 1 else ""
        text = " ".join(e.sql.split())
        text = text if len(text) <= 110 else text[:107] + "..."
        out.print(f"[cyan][{e.number}/{self.total}][/] line {e.line}{again}: {escape(text)}")
        self._last_phase = None

    def _on_StatementFinished(self, e: ev.StatementFinished) -> None:
        out.print(f"      [green]✓[/] {escape(e.status)} in {duration(e.duration_s)}")

    def _on_StatementFailed(self, e: ev.StatementFailed) -> None:
        code = f" [SQLSTATE {e.sqlstate}]" if e.sqlstate else ""
        out.print(f"      [red]✗[/] {escape(e.message)}{code} after {duration(e.duration_s)}")

    def _on_ServerNotice(self, e: ev.ServerNotice) -> None:
        out.print(f"      [yellow]{escape(e.severity)}:[/] {escape(e.message)}")

    def _on_LockRetry(self, e: ev.LockRetry) -> None:
        out.print(
            f"      [yellow]↻ attempt {e.attempt} of {e.attempts} gave up waiting for a lock; "
            f"retrying in {e.wait_s:.1f} s[/]"
        )

    def _on_IndexProgress(self, e: ev.IndexProgress) -> None:
        now = time.monotonic()
        if e.phase == self._last_phase and now - self._last_progress < 2.0:
            return
        self._last_phase, self._last_progress = e.phase, now
        parts = [e.phase]
        if e.lockers_total:
            parts.append(f"lockers {e.lockers_done}/{e.lockers_total}")
        if e.current_locker_pid:
            parts.append(f"waiting for pid {e.current_locker_pid}")
        if e.fraction is not None:
            parts.append(f"{e.fraction:.0%}")
        out.print(f"      [dim]… {escape(', '.join(parts))}[/]")

    def _on_InvalidIndex(self, e: ev.InvalidIndex) -> None:
        on = f" on {e.table}" if e.table else ""
        text = {
            "dropping": f"found INVALID index {e.index}{on} from an earlier build: "
            "dropping it concurrently",
            "dropped": f"dropped INVALID index {e.index}; building it again",
            "left": f"INVALID index {e.index}{on} is left behind by the failed statement",
        }[e.action]
        colour = "red" if e.action == "left" else "yellow"
        out.print(f"      [{colour}]! {escape(text)}[/]")

    def _on_Waiting(self, e: ev.Waiting) -> None:
        out.print(f"      [bold yellow]⏳ waiting:[/] {escape(e.reason)}")
        if e.blockers:
            out.print(
                "      see `migration-console blockers`; the console can cancel or terminate "
                "a blocker from its Blockers panel"
            )

    def _on_TransactionRolledBack(self, e: ev.TransactionRolledBack) -> None:
        out.print(f"      [yellow]↺ {escape(e.reason)}[/]")

    def _on_CancelRequested(self, e: ev.CancelRequested) -> None:
        out.print(f"      [yellow]cancelling the statement on the server (pid {e.pid})…[/]")

    def _on_RunFinished(self, e: ev.RunFinished) -> None:
        r = e.result
        colour = {"succeeded": "green", "failed": "red"}.get(r.status, "yellow")
        out.print(f"[bold {colour}]■ {r.action} {r.status}[/] in {duration(r.duration_s)}")
        if r.error:
            out.print(f"  {escape(r.error)}")
        for name in r.invalid_indexes:
            out.print(
                f"  [red]INVALID index left: {escape(name)}[/] — `IF NOT EXISTS` would skip it; "
                "run again (the console drops and rebuilds it) or drop it with "
                f"DROP INDEX CONCURRENTLY {escape(name)};"
            )
