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
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import DataTable, Static

from console.core.durations import age, short
from console.errors import ConsoleError
from console.glyphs import G
from console.lazy import lazy
from console.tui.dialogs.confirm import ConfirmModal
from console.tui.widgets.panel import Panel
from console.tui.widgets.table_sync import sync_rows

if TYPE_CHECKING:
    from console.core import waits
    from console.core.service import Session, WaitReport
    from console.tui.active_run import ActiveRun
else:
    waits = lazy("console.core.waits")

# In order of what matters while a migration waits; the rest to the right (the
# table scrolls sideways, and the line under it describes the selected session).
COLUMNS = (
    "",  # the lock tree: ▲ blocks the migration, ● the migration, ▼ queued behind it
    "pid",
    "state",
    "waiting for",
    "blocked by",
    "age",
    "query",
    "xact",
    "application",
    "user",
    "client",
)
MaySignal = Callable[["Session"], tuple[bool, str]]


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else short(seconds)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - len(G.ellipsis)] + G.ellipsis


class BlockersPanel(Panel, Vertical):
    BINDINGS = [
        Binding("c", "act('cancel')", "Cancel pid"),
        Binding("t", "act('terminate')", "Kill pid"),
        Binding("p", "control('pause')", "Pause", show=False),
        Binding("plus,equals_sign", "control('faster')", "Faster", show=False),
        Binding("minus", "control('slower')", "Slower", show=False),
    ]

    class Act(Message):
        def __init__(self, session: Session, kind: str) -> None:
            super().__init__()
            self.session = session
            self.kind = kind

    paused: reactive[bool] = reactive(False, init=False)
    interval: reactive[float] = reactive(1.0, init=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sessions: list[Session] = []
        self._timer: Timer | None = None
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
        self._status(f"waiting for the first refresh{G.ellipsis}")

    def _status(self, text: str) -> None:
        state = (
            "paused (p resumes)"
            if self.paused
            else f"every {self.interval:g} s (p pauses, +/- change)"
        )
        self.query_one("#blockers-status", Static).update(f"{text} {G.sep} refresh {state}")

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
        rights = f" {G.sep} {self.rights}" if self.rights else ""
        self._status(f"{len(report.sessions)} non-idle session(s), {waiting} waiting{rights}")
        self._refresh_bindings_if_changed()

    def _cells(self, s: Session, depth: int | None) -> tuple[Text, ...]:
        style = ""
        tree = ""
        if depth is not None:
            if depth < 0:
                style, tree = "bold red", f"{G.above}{-depth}"
            elif depth == 0:
                style, tree = "bold", G.root
            else:
                style, tree = "yellow", f"{G.below}{depth}"
        state = s.state or "hidden"  # another role's session, without pg_read_all_stats
        state_style = style
        if s.idle_in_transaction:
            state = f"{state} {_age(s.state_age_s)}"
            state_style = style or "yellow"
        cells = [
            Text(tree, style),
            Text(str(s.pid), style),
            Text(state, state_style),
            Text(f"{s.wait_event_type}:{s.wait_event}" if s.wait_event_type else "-", style),
            Text(", ".join(map(str, s.blocked_by)) or "-", style),
            Text(_age(s.age_s), style),
            Text(_clip(" ".join(s.query.split()), 60), style),
            Text(_age(s.xact_age_s), style),
            Text(_clip(s.application_name or "-", 32), style),
            Text(s.role, style),
            Text(s.client, style),
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
        lines = lines[:4]
        selected = self.selected_session
        if selected is not None:  # the columns off screen, for the selected row
            lines.append(f"selected: {waits.describe(selected)}")
            if not self.read_only:
                allowed, why = self.may_signal(selected)
                if not allowed:
                    lines.append(f"c/t disabled for pid {selected.pid}: {why}")
        return "\n".join(lines)

    def show_error(self, exc: ConsoleError) -> None:
        self._status(f"refresh failed: {exc.message}")

    # -- its own refresh: a timer, paused or not, at its rate ---------------------------------

    def start(self, interval: float, timer: bool = True) -> None:
        """Begin refreshing (``timer`` False: only on request, as snapshots want)."""
        self.may_signal = self.service.may_signal
        self.read_only = self.service.read_only
        self.set_reactive(BlockersPanel.interval, interval)
        if timer:
            self._timer = self.set_interval(interval, self.refresh_now)
        self._status(f"waiting for the first refresh{G.ellipsis}")

    def watch_interval(self, interval: float) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = self.set_interval(interval, self.refresh_now)
        self._status(f"refresh every {interval:g} s")

    def watch_paused(self, paused: bool) -> None:
        self._status("paused" if paused else "resumed")

    def control(self, what: str) -> None:
        """p pauses or resumes; + and - refresh faster or slower (0.5 to 10 s)."""
        if what == "pause":
            self.paused = not self.paused
        else:
            step = -0.5 if what == "faster" else 0.5
            self.interval = min(10.0, max(0.5, self.interval + step))

    def action_control(self, what: str) -> None:
        self.control(what)

    @work(group="blockers", exclusive=True, exit_on_error=False)
    async def refresh_now(self) -> None:
        """One refresh: the lock tree around the run this console follows, if any (during
        a retry pause, with the sessions that blocked the last attempt)."""
        if self.paused:
            return
        run = self.console.runs.active
        try:
            report = await self.service.waits(
                run.pid if run else None, run.pause_blockers if run else ()
            )
        except ConsoleError as exc:
            self.show_error(exc)
            self.console.show_banner(f"{exc.message} {exc.hint}".strip())
            return
        self.console.connected()
        self.rights = self.service.signal_rights()  # known once the server answered
        self.pause_note = _pause_note(run)
        self.show(report)

    # -- acting on a session: asked first, recorded ---------------------------------------------

    @on(Act)
    def _act(self, event: Act) -> None:
        event.stop()
        self.confirm_signal(event.session, event.kind)

    @work(group="confirm", exit_on_error=False)
    async def confirm_signal(self, session: Session, kind: str) -> None:
        xact = age(session.xact_age_s, "none")
        what = (
            "Cancel asks the server to stop the session's running query; it does nothing to "
            "a session that is idle in transaction (its locks and snapshot stay)."
            if kind == "cancel"
            else "Terminate closes the session: its open transaction is rolled back and the "
            "client sees its connection drop."
        )
        body = (
            f"pid {session.pid}\napplication {session.application_name or '-'}\n"
            f"user {session.role} from {session.client}\nstate {session.state}\n"
            f"transaction age {xact}\nlast query: {' '.join(session.query.split())[:300]}"
            f"\n\n{what}"
        )
        verb = "Cancel query" if kind == "cancel" else "Terminate session"
        if await self.app.push_screen_wait(
            ConfirmModal(f"{verb} of pid {session.pid}?", body, verb, "Leave it")
        ):
            await self.signal(session, kind)

    async def signal(self, session: Session, kind: str) -> None:
        """Cancel or terminate another session (already confirmed); recorded in history."""
        try:
            action = await self.service.signal(session, kind)
        except ConsoleError as exc:
            self.console.report(exc)
            return
        done = "signalled" if action["signalled"] else "was already gone"
        self.app.notify(f"{kind}: pid {session.pid} {done}.")
        self.console.runs.panel.write(
            [f"      {G.action} {self.service.operator} {kind} pid {session.pid} ({done})"]
        )
        self.refresh_now()

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


def _pause_note(run: ActiveRun | None) -> str:
    if run is None or not run.pause_blockers:
        return ""
    pids = ", ".join(f"pid {p}" for p in run.pause_blockers)
    return (
        f"{run.migration} pauses before its next attempt: it retries as soon as {pids} "
        f"lets go (marked {G.above} above), at the latest when the backoff ends."
    )
