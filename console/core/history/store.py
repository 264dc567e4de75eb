"""Reading and writing history.toml: round-trip, under a lock, atomically.

Writes go through tomlkit, which keeps the file's comments and layout: a change
touches only the tables it changes, and a later write never rewrites an earlier
entry (not a byte of it). Every write is a read-modify-write under an exclusive
``flock`` on the sibling ``.history.toml.lock`` (two console processes cannot
lose each other's rows), and lands atomically: a temporary file in the same
folder, fsync, ``os.replace``, fsync of the folder. A file that cannot be read or
does not have the expected shape raises HistoryError and is never overwritten.

Nothing is masked here: every record is built with its secrets already masked
where they live (the database URL's password field); see ``console.connection``.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table
from tomlkit.toml_document import TOMLDocument

from console.core.errors import HistoryError
from console.core.history.records import (
    APPLIED,
    PENDING,
    ROLLED_BACK,
    RUN,
    SUCCEEDED,
    HistoryData,
    RunRecord,
)
from console.core.history.schema import FIX, parse

# Small tables inside a record are written inline (environment = { … }); lists of
# tables (statements, actions) as [[runs.statements]] tables.
INLINE = ("environment", "resolution")

Change = Callable[[TOMLDocument], None]


class HistoryStore:
    """Reads and changes one history.toml; see the module docstring for the guarantees."""

    def __init__(self, path: Path):
        self.path = Path(path)
        # The document as this store last wrote it, and the file it became: parsing with
        # tomlkit is slow on a long history, and a run writes its record many times.
        self._last: tuple[tuple[int, int, int], str, TOMLDocument] | None = None

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    # -- reading ---------------------------------------------------------------

    def load(self) -> HistoryData:
        _text, raw = self._read()
        return parse(raw, str(self.path))

    def _read(self) -> tuple[str, dict[str, Any]]:
        """The file's text and its plain content; ("", {}) for a missing file."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return "", {}
        except OSError as exc:
            raise HistoryError(
                f"{self.path} cannot be read ({exc.strerror or exc}): {FIX}",
                "Check the file's permissions.",
            ) from None
        try:
            text = data.decode("utf-8")
            raw = tomllib.loads(text)
        except UnicodeDecodeError:
            raise HistoryError(f"{self.path} is not UTF-8 text: {FIX}") from None
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+), column (\d+)", str(exc))
            where = f" (line {m.group(1)}, column {m.group(2)})" if m else ""
            raise HistoryError(
                f"{self.path} is not valid TOML{where}: {FIX}", f"The parser said: {exc}."
            ) from None
        parse(raw, str(self.path))  # refuse wrong shapes before anyone writes
        return text, raw

    # -- the records -------------------------------------------------------------

    def append_run(self, run: RunRecord) -> None:
        """Add (or complete) a ``[[runs]]`` record and bring the migration's
        ``[[migrations]]`` row up to date. A person's ``notes`` on that row are never
        touched: the run's outcome goes to ``result``."""
        record = run.to_toml()
        if run.status == SUCCEEDED:
            status = APPLIED if run.action == RUN else ROLLED_BACK
        else:
            status = run.status
        started = record["started_at"]

        def change(doc: TOMLDocument) -> None:
            put_run(doc, record)
            row = find_row(doc, run.migration)
            if row is None:
                row = append(doc, "migrations", {"migration": run.migration, "notes": ""})
            for key, value in (
                ("date", started.date()),
                ("status", status),
                ("executed_by", run.executed_by),
                ("result", run.summary),
            ):
                row[key] = value

        self.update(change)

    finish_run = append_run

    def start_run(self, run: RunRecord) -> None:
        """The record of a run that has just started (status "running"), under its run_id;
        called again as the run goes on, it replaces that record only."""
        record = run.to_toml()
        self.update(lambda doc: put_run(doc, record))

    def add_action(self, run_id: str | None, action: dict[str, Any]) -> None:
        """An operator's action: with the run it happened in, else in top-level [[actions]]."""
        clean = {k: v for k, v in action.items() if v is not None}

        def change(doc: TOMLDocument) -> None:
            record = find_run(doc, run_id) if run_id else None
            if record is None:
                append(doc, "actions", clean)
            else:
                append(record, "actions", clean)

        self.update(change)

    def append(self, key: str, row: dict[str, Any]) -> None:
        """Add a ``[[key]]`` table (a sign-off, a measurement)."""

        def change(doc: TOMLDocument) -> None:
            append(doc, key, row)

        self.update(change)

    def ensure_migration_row(self, name: str, notes: str = "") -> bool:
        """Add a pending ``[[migrations]]`` row for ``name`` unless it has one; True if added."""
        added = False

        def change(doc: TOMLDocument) -> None:
            nonlocal added
            if find_row(doc, name) is None:
                today = datetime.now(UTC).date()
                row = {"date": today, "migration": name, "status": PENDING, "executed_by": ""}
                append(doc, "migrations", {**row, "notes": notes})
                added = True

        self.update(change)
        return added

    # -- writing ---------------------------------------------------------------

    def check_writable(self) -> None:
        """Refuse (HistoryError, exit 2) before a run if its record could not be written."""
        folder = self.path.parent if str(self.path.parent) else Path(".")
        target = self.path if self.path.exists() else folder
        if not folder.is_dir() or not os.access(folder, os.W_OK) or not os.access(target, os.W_OK):
            raise HistoryError(
                f"{self.path} cannot be written here (its folder {folder} is missing or "
                "read-only): a run's record would be lost, so nothing was run.",
                "Pass --history PATH in a writable folder, or fix the permissions.",
            )
        self._read()  # and it can be read back (a directory, bad TOML: refused)

    def update(self, fn: Change) -> None:
        """Read-modify-write the document under the lock; nothing is written if fn raises,
        nothing if it changed nothing, and never a file that would not read back."""
        with self._locked():
            text, doc = self._document()
            self._last = None  # the cached document is being changed: trust it again later
            fn(doc)
            new = tomlkit.dumps(doc)
            if new == text and self.path.exists():
                self._remember(text, doc)
                return  # nothing changed: leave the file alone
            try:
                parse(tomllib.loads(new), str(self.path))
            except tomllib.TOMLDecodeError as exc:
                raise HistoryError(f"{self.path}: a change would not read back ({exc}).") from None
            self._write_atomically(new.encode("utf-8"))
            self._remember(new, doc)

    def _document(self) -> tuple[str, TOMLDocument]:
        """The file's text and its document; the one this store last wrote if nobody has
        replaced the file since (every write replaces it: a new inode)."""
        if self._last is not None and self._stamp() == self._last[0]:
            return self._last[1], self._last[2]
        text, _raw = self._read()
        return text, tomlkit.parse(text)

    def _remember(self, text: str, doc: TOMLDocument) -> None:
        stamp = self._stamp()
        self._last = (stamp, text, doc) if stamp is not None else None

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise HistoryError(
                f"{self.path} cannot be locked for writing ({exc.strerror or exc}); "
                "nothing was written.",
                "Check that its folder exists and is writable.",
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _write_atomically(self, data: bytes) -> None:
        target = Path(os.path.realpath(self.path))
        folder = target.parent
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.chmod(tmp, target.stat().st_mode & 0o777)
            except FileNotFoundError:
                os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            tmp = None
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise HistoryError(
                f"{self.path} could not be written ({exc.strerror or exc}); "
                "the previous version is unchanged.",
                "Check free space and permissions, then run the command again.",
            ) from None
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


# -- changing the document, table by table -------------------------------------------------


def _table(row: dict[str, Any]) -> Table:
    """A record as a TOML table: small tables inline, lists of tables as [[…]] tables."""
    table = tomlkit.table()
    for key, value in row.items():
        if key in INLINE and isinstance(value, dict):
            inline = tomlkit.inline_table()
            inline.update(value)
            table[key] = inline
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            aot = tomlkit.aot()
            for item in value:
                aot.append(_table(item))
            table[key] = aot
        else:
            table[key] = value
    return table


def append(container: TOMLDocument | Table, key: str, row: dict[str, Any]) -> Table:
    """Append ``row`` as a ``[[key]]`` table of the document (or of a record)."""
    table = _table(row)
    existing = container.get(key)
    if isinstance(existing, AoT):
        table.trivia.indent = "\n"  # a blank line before it, like the tables around it
        existing.append(table)
        return existing[-1]
    if existing is not None:  # an inline array of tables a person wrote: keep its style
        existing.append(row)
        return table
    aot = tomlkit.aot()
    aot.append(table)
    container[key] = aot
    return aot[-1]


def find_run(doc: TOMLDocument, run_id: str | None) -> Table | None:
    if not run_id:
        return None
    runs = doc.get("runs", [])
    return next((r for r in reversed(runs) if r.get("run_id") == run_id), None)


def put_run(doc: TOMLDocument, record: dict[str, Any]) -> None:
    """Append the record, or replace the one with its run_id in place (keeping the
    actions that faces recorded into it meanwhile); no other record is touched."""
    old = find_run(doc, record.get("run_id"))
    if old is None:
        append(doc, "runs", record)
        return
    actions = [dict(a) for a in old.get("actions", [])]
    for a in record.get("actions", []):
        if a not in actions:
            actions.append(a)
    merged = {**record, "actions": actions} if actions else record
    fresh = _table(merged)
    old.clear()
    for key, value in fresh.items():
        old[key] = value


def find_row(doc: TOMLDocument, name: str) -> Table | None:
    rows = doc.get("migrations", [])
    return next((r for r in reversed(rows) if r.get("migration") == name), None)
