"""The Blockers panel: live pg_stat_activity, who blocks whom, the migration's blockers first.

Rows are keyed by pid and updated in place, so the selection and scroll position
survive every refresh.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.core.errors import ConsoleError
from console.core.service import Session
from console.tui.widgets.table_sync import sync_rows

COLUMNS = ("pid", "state", "age", "wait", "blocked by", "application", "client", "query")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s"
    return f"{seconds // 3600:.0f}h{seconds % 3600 // 60:02.0f}m"


class BlockersPanel(Vertical):
    BINDINGS = [
        Binding("p", "app.pause", "Pause"),
        Binding("plus,equals_sign", "app.refresh_rate(-0.5)", "Faster"),
        Binding("minus", "app.refresh_rate(0.5)", "Slower"),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.paused = False
        self.interval = 1.0
        self.sessions: list[Session] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="blockers-status")
        table: DataTable[str | Text] = DataTable(id="blockers-table", cursor_type="row")
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="blockers-explain", markup=False)

    def on_mount(self) -> None:
        self._status("waiting for the first refresh…")

    def _status(self, text: str) -> None:
        state = (
            "paused (p resumes)"
            if self.paused
            else f"every {self.interval:g} s (p pauses, +/- change)"
        )
        self.query_one("#blockers-status", Static).update(f"{text} · refresh {state}")

    def show(self, sessions: list[Session], run_pid: int | None) -> None:
        self.sessions = sessions
        by_pid = {s.pid: s for s in sessions}
        run = by_pid.get(run_pid) if run_pid else None
        blocking_run = set(run.blocked_by) if run else set()
        rows: dict[str, tuple[str | Text, ...]] = {}
        for s in sessions:
            style = ""
            if s.pid in blocking_run:
                style = "bold red"
            elif s.pid == run_pid:
                style = "bold"
            cells = (
                str(s.pid),
                s.state or "-",
                _age(s.age_s),
                f"{s.wait_event_type}:{s.wait_event}" if s.wait_event_type else "-",
                ", ".join(map(str, s.blocked_by)) or "-",
                _clip(s.application_name or "-", 32),
                s.client,
                " ".join(s.query.split())[:200],
            )
            rows[str(s.pid)] = tuple(Text(c, style=style) for c in cells)
        sync_rows(self.query_one(DataTable), rows)
        waiting = [s for s in sessions if s.blocked_by]
        lines = []
        if run is not None and blocking_run:
            lines.append(
                f"The migration (pid {run_pid}) waits for "
                + ", ".join(f"pid {p} ({_who(by_pid.get(p))})" for p in sorted(blocking_run))
            )
        for s in waiting:
            if s.pid != run_pid:
                lines.append(f"pid {s.pid} waits for {', '.join(map(str, s.blocked_by))}")
        self.query_one("#blockers-explain", Static).update("\n".join(lines[:4]))
        self._status(f"{len(sessions)} non-idle session(s), {len(waiting)} waiting")

    def show_error(self, exc: ConsoleError) -> None:
        self._status(f"refresh failed: {exc.message}")

    @property
    def selected_pid(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(str(key.value))


def _who(s: Session | None) -> str:
    if s is None:
        return "not visible"
    q = " ".join(s.query.split())[:50]
    return f"{s.state}, {s.application_name or 'no app'}: {q}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
