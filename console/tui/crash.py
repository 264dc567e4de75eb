"""What the console says when it stops on an unexpected error: one sentence, never
Textual's traceback, which prints the local variables of every frame (a connection's
password among them). ``--debug`` keeps the traceback.

An unexpected error in one of its workers that the console outlives (a run's start,
a check, a question) is said too, as a toast: Textual drops such an error unsaid, and
a key the operator pressed then did nothing, with nothing to tell why."""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.worker import Worker, WorkerState

from console.settings import ConnectionSettings


def crash_text(settings: ConnectionSettings, exc: BaseException | None) -> Text:
    what = settings.redact(f"{type(exc).__name__}: {exc}") if exc else "?"
    return Text.assemble(
        ("error: ", "bold red"),
        f"the console stopped on an unexpected error ({what}).\n"
        "  Run it again with --debug to see the traceback, and report it.",
    )


class CrashSentenceApp(App[int]):
    """An App that stops on an unexpected error with ``crash_text``, its URL masked with
    ``settings``; with ``debug``, Textual's traceback (with its locals) instead."""

    def __init__(self, settings: ConnectionSettings, *, debug: bool) -> None:
        super().__init__()
        self.show_tracebacks = debug
        self._crash_settings = settings
        self._errors_said: set[str] = set()

    def _fatal_error(self) -> None:
        """An unhandled exception: one sentence on the way out. Overrides Textual's hook
        for this (App._fatal_error); --debug keeps Textual's traceback."""
        if self.show_tracebacks:
            super()._fatal_error()
            return
        self.bell()
        self._exit_renderables.append(crash_text(self._crash_settings, self._exception))
        self._close_messages_no_wait()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.exit_on_error:
            return  # the others stop the console: _fatal_error says why
        what = self._crash_settings.redact(f"{type(worker.error).__name__}: {worker.error}")
        if what in self._errors_said:
            return  # once each: a refresh that fails every second would say it every second
        self._errors_said.add(what)
        self.notify(
            f"Unexpected error ({what}): nothing more was done. Run the console with --debug "
            "to see the traceback, and report it.",
            severity="error",
            timeout=30,
        )
