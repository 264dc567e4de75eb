"""Where a run's events go besides a face: history.toml, and the run's event log.

``EventLog`` appends each event as a JSON line to the run's log file and wakes a
face that follows it through a pipe (nothing happens if that face is gone).

``Recorder`` feeds the record in history.toml (``record.HistorySink``) and the log on
a thread of its own, so that a statement never waits for history.toml (a write is a
parse, a rename and two fsyncs: 3-10 ms, sixteen of them for the shipped migration).
It keeps one rule: an event is in the log only once the record says what it says, so
a face, a test or an operator that saw it in the log and then killed the runner finds
it in history.toml. Events that come while a write is under way are written
together, once.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from console.core import events as ev

if TYPE_CHECKING:
    from console.core.run.record import HistorySink

PROGRESS_EVERY_S = 1.0  # the log keeps a build's progress at most this often per phase


class EventLog:
    def __init__(self, path: Path, wake_fd: int | None = None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._wake = wake_fd
        self._progress: tuple[object, ...] = ()
        self._progress_at = 0.0

    def __call__(self, e: ev.Event) -> None:
        if isinstance(e, ev.IndexProgress) and self._skip(e):
            return
        if self._file is not None:
            try:
                self._file.write(ev.encode(e) + "\n")
                self._file.flush()
            except OSError:
                pass  # a full disk must not stop the run; history.toml still gets it
            except Exception:  # noqa: BLE001 - nor an event it cannot write: the run goes on
                traceback.print_exc()  # to the run's stderr file
        self._poke()

    def _skip(self, e: ev.IndexProgress) -> bool:
        key = (e.number, e.phase, e.lockers_done, e.current_locker_pid)
        now = time.monotonic()
        if key == self._progress and now - self._progress_at < PROGRESS_EVERY_S:
            return True
        self._progress, self._progress_at = key, now
        return False

    def _poke(self) -> None:
        if self._wake is None:
            return
        try:
            os.write(self._wake, b".")
        except BlockingIOError:
            pass  # the face has not read the last pokes yet: it will read the file anyway
        except OSError:
            os.close(self._wake)  # the face is gone
            self._wake = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._wake is not None:
            os.close(self._wake)
            self._wake = None


class Recorder:
    """The history sink and the event log, fed from a queue by a thread of their own.
    ``drain`` waits until everything handed in so far is written; ``close`` also stops
    the thread. A record that cannot be written becomes a RecordProblem in the log (once
    per message), before the events it concerns, as ``Fanout`` would say it."""

    def __init__(
        self,
        history: Callable[[], HistorySink] | None,
        log: EventLog | None,
        problem: Callable[[HistorySink | None, BaseException, ev.Event], ev.RecordProblem],
    ):
        # The history sink is made on the recorder's thread as soon as it starts: loading
        # history.toml's code (and tomlkit) happens while the runner connects, never in
        # the way of the run's start.
        self._make_history = history
        self.history: HistorySink | None = None
        self._unmade: Exception | None = None  # why the history sink could not be made
        self.log = log
        self._problem = problem
        self._said: set[str] = set()
        self._queue: queue.Queue[ev.Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="run-recorder", daemon=True)
        self._thread.start()

    def __call__(self, e: ev.Event) -> None:
        self._queue.put(e)

    def drain(self) -> None:
        self._queue.join()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self.log is not None:
            self.log.close()

    def _work(self) -> None:
        if self._make_history is not None:
            try:
                self.history = self._make_history()
            except Exception as exc:  # noqa: BLE001 - said at the first write, as a record problem
                self._unmade = exc
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._record([e for e in batch if e is not None])
            except Exception:  # noqa: BLE001 - the thread lives on: drain() waits for it
                traceback.print_exc()  # to the run's stderr file
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

    def _record(self, events: list[ev.Event]) -> None:
        if not events:
            return
        said: list[ev.Event] = []
        if self._unmade is not None:
            said.append(self._problem(None, self._unmade, events[-1]))
            self._unmade = None
        if self.history is not None:
            for e in events:
                self.history.take(e)
            try:
                self.history.flush()
            except Exception as exc:  # noqa: BLE001 - a record problem never stops the run
                last = next((e for e in events if isinstance(e, ev.RunFinished)), events[-1])
                problem = self._problem(self.history, exc, last)
                if problem.message not in self._said:
                    self._said.add(problem.message)
                    said.append(problem)
        if self.log is not None:
            for e in said + events:
                self.log(e)
