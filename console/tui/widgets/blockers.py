"""The Blockers panel: live pg_stat_activity as a lock tree around the migration.

The migration's session is the root; what it waits for is above it (red), what
queues behind it below (yellow); everything else follows. Rows are keyed by pid
and updated in place; when the order must change, the table is rebuilt and the
selection restored by pid. ``c`` cancels and ``t`` terminates the selected
session after a confirmation; both are disabled, with the reason, when the
role may not signal it.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from console.core.durations import short
from console.core.errors import ConsoleError
from console.core.service import Session, WaitReport
from console.tui.widgets.table_sync import sync_rows

COLUMNS = (
    "tree",
    "pid",
    "state",
    "age",
    "xact",
    "wait",
    "blocked by",
    "application",
    "user",
    "client",
    "query",
)
MaySignal = Callable[[Session], tuple[bool, str]]


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else short(seconds)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class BlockersPanel(Vertical):
    BINDINGS = [
        Binding("c", "act('cancel')", "Cancel pid"),
        Binding("t", "act('terminate')", "Kill pid"),
        Binding("p", "app.pause", "Pause", show=False),
        Binding("plus,equals_sign", "app.refresh_rate(-0.5)", "Faster", show=False),
        Binding("minus", "app.refresh_rate(0.5)", "Slower", show=False),
    ]

    class Act(Message):
        def __init__(self, session: Session, kind: str) -> None:
            super().__init__()
            self.session = session
            self.kind = kind

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.paused = False
        self.interval = 1.0
        self.sessions: list[Session] = []
        self.report: WaitReport | None = None
        self.may_signal: MaySignal = lambda _s: (False, "not connected yet")
        self.read_only = False
        self.rights = ""
        self.pause_note = ""  # the run pauses between attempts: who it waits to let go
        self._act_state: bool | None = True

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

    # -- drawing ---------------------------------------------------------------------------

    def show(self, report: WaitReport) -> None:
        self.report = report
        self.sessions = report.sessions
        depth = {n.session.pid: n.depth for n in report.tree}
        ordered = [n.session for n in report.tree]
        ordered += [s for s in report.sessions if s.pid not in depth]
        rows = {str(s.pid): self._cells(s, depth.get(s.pid)) for s in ordered}
        table = self.query_one(DataTable)
        sync_rows(table, rows)
        if [str(r.key.value) for r in table.ordered_rows] != list(rows):
            # The tree's order changed: rebuild, keeping the selected pid selected.
            selected = self.selected_pid
            table.clear()
            for key, cells in rows.items():
                table.add_row(*cells, key=key)
            if selected is not None and str(selected) in rows:
                table.move_cursor(row=table.get_row_index(str(selected)))
        waiting = sum(1 for s in report.sessions if s.waiting)
        self.query_one("#blockers-explain", Static).update(self._explanation(report))
        rights = f" · {self.rights}" if self.rights else ""
        self._status(f"{len(report.sessions)} non-idle session(s), {waiting} waiting{rights}")
        self._refresh_bindings_if_changed()

    def _cells(self, s: Session, depth: int | None) -> tuple[Text, ...]:
        style = ""
        tree = ""
        if depth is not None:
            if depth < 0:
                style, tree = "bold red", f"▲{-depth} blocks"
            elif depth == 0:
                style, tree = "bold", "● migration"
            else:
                style, tree = "yellow", f"▼{depth} queued"
        state = s.state or "hidden"  # another role's session, without pg_read_all_stats
        state_style = style
        if s.idle_in_transaction:
            state = f"{state} {_age(s.state_age_s)}"
            state_style = style or "yellow"
        cells = [
            Text(tree, style),
            Text(str(s.pid), style),
            Text(state, state_style),
            Text(_age(s.age_s), style),
            Text(_age(s.xact_age_s), style),
            Text(f"{s.wait_event_type}:{s.wait_event}" if s.wait_event_type else "-", style),
            Text(", ".join(map(str, s.blocked_by)) or "-", style),
            Text(_clip(s.application_name or "-", 32), style),
            Text(s.role, style),
            Text(s.client, style),
            Text(" ".join(s.query.split())[:200], style),
        ]
        return tuple(cells)

    def _explanation(self, report: WaitReport) -> str:
        if self.pause_note:
            lines = [self.pause_note]
        else:
            lines = [report.reason] if report.reason else []
        if report.root_pid is None:
            for s in report.sessions:
                if s.waiting:
                    lines.append(f"pid {s.pid} waits for {', '.join(map(str, s.blocked_by))}")
        selected = self.selected_session
        if selected is not None and not self.read_only:
            allowed, why = self.may_signal(selected)
            if not allowed:
                lines.append(f"c/t disabled for pid {selected.pid}: {why}")
        return "\n".join(lines[:5])

    def show_error(self, exc: ConsoleError) -> None:
        self._status(f"refresh failed: {exc.message}")

    # -- selection and actions ---------------------------------------------------------------

    @property
    def selected_pid(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(str(key.value))

    @property
    def selected_session(self) -> Session | None:
        pid = self.selected_pid
        return next((s for s in self.sessions if s.pid == pid), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.report is not None:
            self.query_one("#blockers-explain", Static).update(self._explanation(self.report))
        self._refresh_bindings_if_changed()

    def _refresh_bindings_if_changed(self) -> None:
        """Rebuild the footer only when c/t change state (each rebuild costs widgets)."""
        state = self.check_action("act", ())
        if state != self._act_state:
            self._act_state = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "act":
            return True
        if self.read_only:
            return False  # hidden: monitoring only
        session = self.selected_session
        if session is None:
            return None
        allowed, _why = self.may_signal(session)
        return True if allowed else None  # None: shown, but disabled

    def action_act(self, kind: str) -> None:
        session = self.selected_session
        if session is None:
            return
        allowed, why = self.may_signal(session)
        if not allowed:
            self.notify(f"Cannot {kind} pid {session.pid}: {why}.", severity="warning")
            return
        self.post_message(self.Act(session, kind))
