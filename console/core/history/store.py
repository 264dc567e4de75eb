"""Reading and writing history.toml: round-trip, under a lock, atomically.

Writes go through tomlkit, which keeps the file's comments and layout: a change
touches only the tables it changes (``document``; a run's record only its own block
of text, ``blocks``), and a later write never rewrites an earlier entry (not a byte of
it). Every write is a read-modify-write under an exclusive lock and lands atomically
(``atomic``). A file that cannot be read or does not have the expected shape raises
HistoryError and is never overwritten.

Nothing is masked here: every record is built with its secrets already masked
where they live (the database URL's password field); see ``console.connection``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli

from console.core.history import atomic, blocks
from console.core.history.blocks import Change
from console.core.history.records import (
    RUN,
    HistoryData,
    RunRecord,
)
from console.core.history.schema import FIX, parse
from console.core.words import Outcome, Standing
from console.errors import HistoryError

if TYPE_CHECKING:
    from tomlkit.items import Table
    from tomlkit.toml_document import TOMLDocument

__all__ = ["Change", "HistoryStore"]

# A change made on the blocks of text it concerns: their edits, or None for the whole way.
Blockwise = Callable[[dict[str, Any]], "list[blocks.Edit] | None"]


class HistoryStore:
    """Reads and changes one history.toml; see the module docstring for the guarantees."""

    def __init__(self, path: Path, *, seen: tuple[str, dict[str, Any]] | None = None):
        """``seen``: the file's text and content as another store read and checked it
        (a run's face, for its runner): used while the file still holds that text."""
        self.path = Path(path)
        # The document as this store last wrote it, and the file it became: parsing with
        # tomlkit is slow on a long history, and a run writes its record many times.
        self._last: tuple[tuple[int, int, int], str, TOMLDocument] | None = None
        # The text this store last read or wrote, known to have the right shape, and its
        # content when that never left the store (see _read).
        self._seen: tuple[str, dict[str, Any] | None] | None = seen
        self._loaded: tuple[str, dict[str, Any]] | None = None  # by load(): see reading()

    # -- reading ---------------------------------------------------------------

    def load(self) -> HistoryData:
        text, raw = self._read()
        data = parse(raw, str(self.path))
        self._loaded = (text, raw)
        return data

    def reading(self) -> tuple[str, dict[str, Any]] | None:
        """The text and content ``load`` read and checked last (the content is the
        loaded HistoryData's own), for another store to start from (``seen``)."""
        return self._loaded

    def _read(self, *, private: bool = False) -> tuple[str, dict[str, Any]]:
        """The file's text and its plain content; ("", {}) for a missing file.

        ``private``: the content is for this store's own use and never leaves it; the
        content it read or wrote last is used again while the file holds that text."""
        text = atomic.read_text(self.path)
        if private and self._seen is not None and self._seen[0] == text:
            known = self._seen[1]
            if known is not None:
                return text, known
        if not text and not self.path.exists():
            return "", {}
        try:
            raw = tomli.loads(text)
        except tomli.TOMLDecodeError as exc:
            m = re.search(r"line (\d+), column (\d+)", str(exc))
            where = f" (line {m.group(1)}, column {m.group(2)})" if m else ""
            hint = f"The parser said: {exc}."
            if text.startswith("\ufeff"):  # invisible in an editor: name it
                hint = "It starts with a byte-order mark: save it as UTF-8 without a BOM."
            raise HistoryError(f"{self.path} is not valid TOML{where}: {FIX}", hint) from None
        parse(raw, str(self.path))  # refuse wrong shapes before anyone writes
        self._seen = (text, raw if private else None)  # a caller's may be changed by it
        return text, raw

    # -- the records -------------------------------------------------------------

    def append_run(self, run: RunRecord, *, closes: RunRecord | None = None) -> None:
        """Add (or complete) a ``[[runs]]`` record and bring the migration's
        ``[[migrations]]`` row up to date. A person's ``notes`` on that row are never
        touched: the run's outcome goes to ``result``. ``closes``: the interrupted
        record this run resumes, ended in the same write (see ``start_run``)."""
        self._run_change(*self._finishing(run), closes)

    finish_run = append_run

    def start_run(self, run: RunRecord, *, closes: RunRecord | None = None) -> None:
        """The record of a run that has just started (status "running"), under its run_id;
        called again as the run goes on, it replaces that record only. ``closes``: the
        interrupted record this run resumes, ended (``finish_run``) in the same write:
        history.toml never says a run was resumed by one that did not start."""
        from console.core.history import document  # and tomlkit: at the first write

        record = run.to_toml()

        def change(doc: TOMLDocument) -> None:
            document.put_run(doc, record)

        def blockwise(raw: dict[str, Any]) -> list[blocks.Edit] | None:
            edit = document.run_edit(raw, record)
            return None if edit is None else [edit]

        self._run_change(change, blockwise, closes)

    def _run_change(self, change: Change, blockwise: Blockwise, closes: RunRecord | None) -> None:
        """A run's record written; with ``closes`` finished first, in one change of the
        whole document (two records of one array: the blocks' way takes one element per
        array)."""
        if closes is None:
            self._change(change, blockwise)
            return
        finish, _blockwise = self._finishing(closes)

        def both(doc: TOMLDocument) -> None:
            finish(doc)
            change(doc)

        self.update(both)

    def _finishing(self, run: RunRecord) -> tuple[Change, Blockwise]:
        """``append_run``'s change, on the whole document and on its blocks."""
        from console.core.history import document  # and tomlkit: at the first write

        record = run.to_toml()
        status: str = run.status  # failed, cancelled, interrupted: the row says the same
        if run.status == Outcome.SUCCEEDED:
            status = Standing.APPLIED if run.action == RUN else Standing.ROLLED_BACK
        started = record["started_at"]
        name = run.migration
        values = (
            ("date", started.date()),
            ("status", status),
            ("executed_by", run.executed_by),
            ("result", run.summary),
        )

        def fill(row: Table) -> None:
            for key, value in values:
                row[key] = value

        def new_row(doc: TOMLDocument) -> None:
            fill(document.append(doc, "migrations", {"migration": name, "notes": ""}))

        def change(doc: TOMLDocument) -> None:
            document.put_run(doc, record)
            row = document.find_row(doc, name)
            if row is None:
                new_row(doc)
            else:
                fill(row)

        def blockwise(raw: dict[str, Any]) -> list[blocks.Edit] | None:
            rows = raw.get("migrations") or []
            at = document.last_index(rows, "migration", name)
            if at is not None:
                row_edit: blocks.Edit = ("migrations", at, lambda mini: fill(mini["migrations"][0]))
            elif rows:
                row_edit = ("migrations", len(rows) - 1, new_row)
            else:
                return None
            edit = document.run_edit(raw, record)
            return None if edit is None else [edit, row_edit]

        return change, blockwise

    def add_action(self, run_id: str | None, action: dict[str, Any]) -> None:
        """An operator's action: with the run it happened in, else in top-level [[actions]]."""
        from console.core.history import document  # and tomlkit: at the first write

        clean = {k: v for k, v in action.items() if v is not None}

        def change(doc: TOMLDocument) -> None:
            record = document.find_run(doc, run_id) if run_id else None
            if record is None:
                document.append(doc, "actions", clean)
            else:
                document.append(record, "actions", clean)

        self.update(change)

    def append(self, key: str, row: dict[str, Any]) -> None:
        """Add a ``[[key]]`` table (a sign-off, a measurement)."""
        from console.core.history import document  # and tomlkit: at the first write

        def change(doc: TOMLDocument) -> None:
            document.append(doc, key, row)

        self.update(change)

    def ensure_migration_row(self, name: str, notes: str = "") -> bool:
        """Add a pending ``[[migrations]]`` row for ``name`` unless it has one; True if added."""
        from console.core.history import document  # and tomlkit: at the first write

        added = False

        def change(doc: TOMLDocument) -> None:
            nonlocal added
            if document.find_row(doc, name) is None:
                today = datetime.now(UTC).date()
                row = {
                    "date": today,
                    "migration": name,
                    "status": Standing.PENDING,
                    "executed_by": "",
                }
                document.append(doc, "migrations", {**row, "notes": notes})
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
        # And it can be read back (a directory, bad TOML: refused): unless this store has
        # just read that very text (the face loads the history first).
        if self._seen is None or self._seen[0] != atomic.read_text(self.path):
            self._read(private=True)

    def update(self, fn: Change) -> None:
        """Read-modify-write the document under the lock; nothing is written if fn raises,
        nothing if it changed nothing, and never a file that would not read back."""
        import tomlkit  # loaded by the first write (a run's recorder thread), not before

        with atomic.locked(self.path):
            text, doc = self._document()
            self._last = None  # the cached document is being changed: trust it again later
            fn(doc)
            new = line_ends_as(text, tomlkit.dumps(doc))
            if new == text and self.path.exists():
                self._remember(text, doc)
                return  # nothing changed: leave the file alone
            try:
                back = tomli.loads(new)
            except tomli.TOMLDecodeError as exc:
                raise HistoryError(f"{self.path}: a change would not read back ({exc}).") from None
            parse(back, str(self.path))
            atomic.write_atomically(self.path, new.encode("utf-8"))
            self._remember(new, doc)
            self._seen = (new, back)

    def _change(self, change: Change, blockwise: Blockwise) -> None:
        """``change`` made on the blocks of text it concerns alone (``blockwise`` names
        them from the content), written only if the new text reads back as exactly the
        content intended; else on the whole document (``update``)."""
        with atomic.locked(self.path):
            text, raw = self._read(private=True)
            edits = blockwise(raw) if raw else None
            done = edits is not None and self._write_blocks(text, raw, edits)
        if not done:
            self.update(change)

    def _write_blocks(self, text: str, raw: dict[str, Any], edits: list[blocks.Edit]) -> bool:
        spliced = blocks.splice(text, raw, edits)
        if spliced is None:
            return False
        new = line_ends_as(text, spliced.text)
        if new == text:
            return True  # nothing changed: leave the file alone
        try:
            back = tomli.loads(new)
        except tomli.TOMLDecodeError:
            return False
        if back != spliced.expected:
            return False
        # The shape, as every write checks it: of the rows that changed. The others are
        # the content this store read (or wrote) and checked, unchanged.
        parse(spliced.changed, str(self.path))
        self._last = None
        atomic.write_atomically(self.path, new.encode("utf-8"))
        self._seen = (new, back)
        return True

    def _document(self) -> tuple[str, TOMLDocument]:
        """The file's text and its document; the one this store last wrote if nobody has
        replaced the file since (every write replaces it: a new inode)."""
        import tomlkit

        if self._last is not None and atomic.stamp(self.path) == self._last[0]:
            return self._last[1], self._last[2]
        text, _raw = self._read(private=True)
        return text, tomlkit.parse(text)

    def _remember(self, text: str, doc: TOMLDocument) -> None:
        stamp = atomic.stamp(self.path)
        self._last = (stamp, text, doc) if stamp is not None else None


def line_ends_as(old: str, new: str) -> str:
    """``new`` with the line ends of ``old``: a history.toml whose lines end in CRLF (made
    or checked out on Windows) gets CRLF records too, not a file of mixed line ends. The
    first line end decides. A line end inside a multi-line string reads back the same
    (TOML readers take either)."""
    first = old.find("\n")
    if first <= 0 or old[first - 1] != "\r":
        return new
    return re.sub(r"(?<!\r)\n", "\r\n", new)
