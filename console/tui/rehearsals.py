"""The TUI's side of rehearsals: the demo's practice hangs, from the command palette.

Offered only in a console that ``migration-console demo`` opened: the scenarios
hang the database they are started on, which must never be a real one. Each is
started and stopped through ``console.demo.scenarios`` in a thread (a start waits
for its sessions to hang, up to half a minute), and the banner says what to look
for while it runs. A rehearsal also ends by itself when the operator resolves its
hang from the console; the banner follows within a couple of seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.timer import Timer

from console.errors import ConsoleError
from console.glyphs import G
from console.tui.widgets.banner import Banner, Finding

if TYPE_CHECKING:
    from types import ModuleType

    from console.tui.app import MigrationConsoleApp


def _scenarios() -> ModuleType:
    """Imported when first used: ``console.demo`` brings the driver, which the first
    frame must not wait for (and a console outside the demo never needs)."""
    from console.demo import scenarios

    return scenarios


POLL_S = 2.0  # how often the banner checks that the rehearsal it shows still runs


class Rehearsals:
    def __init__(self, app: MigrationConsoleApp, state_dir: Path) -> None:
        self.app = app
        self.state_dir = state_dir
        self.shown: str | None = None  # the rehearsal the banner describes
        self._poll: Timer | None = None

    @property
    def banner(self) -> Banner:
        return self.app.query_one(Banner)

    def commands(self) -> Iterator[SystemCommand]:
        """Start each scenario not running; stop each one running, or all of them."""
        live = {r.name for r in _scenarios().running(self.state_dir)}
        for name, sc in _scenarios().SCENARIOS.items():
            if name in live:
                yield SystemCommand(
                    f"Stop rehearsal: {sc.title}",
                    f"End the {name} rehearsal's sessions",
                    lambda n=name: self.stop(n),
                )
            else:
                yield SystemCommand(
                    f"Rehearse: {sc.title}", sc.description, lambda n=name: self.start(n)
                )
        if len(live) > 1:
            yield SystemCommand("Stop every rehearsal", "End all their sessions", self.stop)

    # -- in threads: scenarios' calls block until the sessions hang or are gone -------------

    def start(self, name: str) -> None:
        sc = _scenarios().SCENARIOS[name]
        self.app.notify(f"Starting the rehearsal {name} ({sc.title}){G.ellipsis}", timeout=3)
        self.app.run_worker(
            lambda: self._start(name), thread=True, group="rehearsal", exit_on_error=False
        )

    def stop(self, name: str | None = None) -> None:
        self.app.run_worker(
            lambda: self._stop(name), thread=True, group="rehearsal", exit_on_error=False
        )

    def _start(self, name: str) -> None:
        try:
            _scenarios().start(self.app.service.settings.dsn or "", name, self.state_dir)
        except ConsoleError as exc:
            self.app.call_from_thread(self.app.report, exc)
            return
        self.app.call_from_thread(self._started, name)

    def _stop(self, name: str | None) -> None:
        try:
            ended = _scenarios().stop(name, self.state_dir)
        except ConsoleError as exc:
            self.app.call_from_thread(self.app.report, exc)
            return
        self.app.call_from_thread(self._stopped, [r.name for r in ended], name)

    # -- back on the event loop -----------------------------------------------------------------

    def _started(self, name: str) -> None:
        sc = _scenarios().SCENARIOS[name]
        self.shown = name
        self.banner.rehearsal(
            [Finding(f"Rehearsal {name}: {sc.description}", severe=False)]
            + [Finding(line, severe=False) for line in sc.look_for]
        )
        if self._poll is None:
            self._poll = self.app.set_interval(POLL_S, self._check)
        self.app.load_overview()

    def _stopped(self, ended: list[str], asked: str | None) -> None:
        if not ended:
            self.app.notify("No rehearsal was running.", timeout=4)
        else:
            self.app.notify(f"Stopped: {', '.join(ended)}; their sessions are gone.", timeout=4)
        if self.shown in ended or asked is None:
            self._over()

    def _check(self) -> None:
        if self.shown is None:
            return
        if self.shown not in {r.name for r in _scenarios().running(self.state_dir)}:
            self.app.notify(f"The rehearsal {self.shown} is over: its hang was resolved.")
            self._over()

    def _over(self) -> None:
        self.shown = None
        self.banner.end_rehearsal()
        if self._poll is not None:
            self._poll.stop()
            self._poll = None
