"""history.toml: the team's migration history table, kept current, plus one record per run.

The file has two arrays of tables:

* ``[[migrations]]`` -- the "Migration History" table of the team's status report,
  one row per migration (date, migration, status, executed_by, notes), updated in
  place after every run or rollback;
* ``[[runs]]`` -- one record per run or rollback, never rewritten: timings, who,
  where (the masked database URL), every statement's outcome and any error.

Unknown top-level keys (later features add ``[[signoffs]]``) and unknown keys
inside rows are kept on every rewrite. Comments are not: tomli_w cannot write
them, so only the comment block at the very top of the file (the header) is
carried over; comments anywhere else are dropped the first time the console
writes the file.

Every write is a read-modify-write under an exclusive ``flock`` on the sibling
``.history.toml.lock`` (two console processes cannot lose each other's rows),
and lands atomically: a temporary file in the same folder, fsync, ``os.replace``,
fsync of the folder. A file that cannot be read or does not have the expected
shape raises HistoryError and is never overwritten.
"""

from __future__ import annotations

import copy
import fcntl
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import tomli_w

from console.core.errors import HistoryError

PENDING, APPLIED, FAILED, CANCELLED, ROLLED_BACK = (
    "pending",
    "applied",
    "failed",
    "cancelled",
    "rolled back",
)
RUN, ROLLBACK = "run", "rollback"
SUCCEEDED, RUNNING, INTERRUPTED = "succeeded", "running", "interrupted"
RUN_STATUSES = (SUCCEEDED, FAILED, CANCELLED, RUNNING, INTERRUPTED)
SQL_CHARS = 200

_FIX = "fix it or move it aside; nothing was written."


@dataclass
class StatementRecord:
    number: int
    line: int
    sql: str
    status: str  # e.g. "succeeded", "failed", "skipped", "cancelled", "not run"
    duration_s: float | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        out = dict(self.extra)
        duration = None if self.duration_s is None else round(float(self.duration_s), 3)
        out.update(
            number=self.number,
            line=self.line,
            sql=fold_sql(self.sql),
            status=self.status,
            duration_s=duration,
            attempts=self.attempts,
        )
        return _drop_none(out)


@dataclass
class RunRecord:
    migration: str
    action: str = RUN  # "run" or "rollback"
    status: str = SUCCEEDED  # "succeeded", "failed" or "cancelled"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    executed_by: str = ""
    environment: dict[str, str] = field(default_factory=dict)  # project/environment/service
    database: str = ""  # already masked by the caller
    statements: list[StatementRecord] = field(default_factory=list)
    error: str | None = None
    notes: str = ""
    invalid_indexes: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # what/pid/at/by
    duration_s: float | None = None  # computed from the timestamps when None
    run_id: str = ""  # names the record while it is updated
    runner_pid: int | None = None  # the runner process, and the host it runs on
    runner_started: int | None = None  # when it started (clock ticks): tells it from a reused pid
    host: str = ""
    log: str = ""  # the run's event log (JSON lines)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        if self.action not in (RUN, ROLLBACK):
            raise ValueError(f"action must be run or rollback, not {self.action!r}")
        if self.status not in RUN_STATUSES:
            raise ValueError(f"status must be one of {RUN_STATUSES}, not {self.status!r}")
        if self.started_at is None:
            raise ValueError("a run record needs started_at")
        if self.finished_at is None and self.status not in (RUNNING, INTERRUPTED):
            raise ValueError("a finished run record needs finished_at")
        started = _utc(self.started_at)
        finished = _utc(self.finished_at) if self.finished_at else None
        duration = self.duration_s
        if duration is None and finished is not None:
            duration = (finished - started).total_seconds()
        out = dict(self.extra)
        out.update(
            migration=self.migration,
            action=self.action,
            status=self.status,
            run_id=self.run_id or None,
            started_at=started,
            finished_at=finished,
            duration_s=None if duration is None else round(duration, 3),
            executed_by=self.executed_by,
            environment={k: str(v) for k, v in self.environment.items() if v},
            database=self.database,
            runner_pid=self.runner_pid,
            runner_started=self.runner_started,
            host=self.host or None,
            log=self.log or None,
        )
        if self.status in (FAILED, INTERRUPTED) and self.error:
            out["error"] = self.error
        out["notes"] = self.notes
        if self.invalid_indexes:
            out["invalid_indexes"] = list(self.invalid_indexes)
        out["statements"] = [s.to_toml() for s in self.statements]
        if self.actions:
            out["actions"] = [_drop_none(a) for a in self.actions]
        return _drop_none(out)

    @property
    def summary(self) -> str:
        """A short result for the migrations table, e.g. "run succeeded in 12.3 s"."""
        if self.status in (FAILED, INTERRUPTED) and self.error:
            return f"{self.action} failed: {first_sentence(self.error)}"
        secs = self.duration_s
        if secs is None and self.started_at and self.finished_at:
            secs = (self.finished_at - self.started_at).total_seconds()
        word = "in" if self.status == SUCCEEDED else "after"
        took = f" {word} {secs:.1f} s" if secs is not None else ""
        return f"{self.action} {self.status}{took}"


@dataclass
class MigrationRow:
    migration: str
    status: str = PENDING
    date: date | None = None
    executed_by: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class HistoryData:
    migrations: list[MigrationRow] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def row(self, migration: str) -> MigrationRow | None:
        return next((r for r in reversed(self.migrations) if r.migration == migration), None)

    def runs_of(self, migration: str) -> list[RunRecord]:
        return [r for r in self.runs if r.migration == migration]


def fold_sql(sql: str) -> str:
    return " ".join(sql.split())[:SQL_CHARS]


def first_sentence(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    m = re.match(r"(.+?[.!?])(\s|$)", line)
    return (m.group(1) if m else line)[:SQL_CHARS]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("history timestamps must be timezone-aware")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _redact(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, redact) for v in value]
    return value


class HistoryStore:
    """Reads and appends to one history.toml; see the module docstring for the guarantees."""

    def __init__(self, path: Path, redact: Callable[[str], str] | None = None):
        self.path = Path(path)
        self.redact = redact

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    # -- reading ---------------------------------------------------------------

    def load(self) -> HistoryData:
        raw, _ = self._read()
        return _parse(raw, str(self.path))

    def _read(self) -> tuple[dict[str, Any], str]:
        """The raw document and its leading comment block; {} for a missing file."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}, ""
        except OSError as exc:
            raise HistoryError(
                f"{self.path} cannot be read ({exc.strerror or exc}): {_FIX}",
                "Check the file's permissions.",
            ) from None
        try:
            text = data.decode("utf-8")
            raw = tomllib.loads(text)
        except UnicodeDecodeError:
            raise HistoryError(f"{self.path} is not UTF-8 text: {_FIX}") from None
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+), column (\d+)", str(exc))
            where = f" (line {m.group(1)}, column {m.group(2)})" if m else ""
            raise HistoryError(
                f"{self.path} is not valid TOML{where}: {_FIX}", f"The parser said: {exc}."
            ) from None
        _parse(raw, str(self.path))  # refuse wrong shapes before anyone writes
        header = []
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                break
            header.append(line)
        return raw, "\n".join(header).strip()

    # -- writing ---------------------------------------------------------------

    def append_run(self, run: RunRecord) -> None:
        """Add (or complete) a ``[[runs]]`` record and bring the migration's
        ``[[migrations]]`` row up to date."""
        record = run.to_toml()
        if run.status == SUCCEEDED:
            status = APPLIED if run.action == RUN else ROLLED_BACK
        else:
            status = run.status
        started = record["started_at"]

        def change(raw: dict[str, Any]) -> None:
            _put_run(raw, record)
            row = _find_row(raw, run.migration)
            if row is None:
                row = {"migration": run.migration}
                raw["migrations"].append(row)
            row.update(
                date=started.date(), status=status, executed_by=run.executed_by, notes=run.summary
            )

        self.update(change)

    finish_run = append_run

    def start_run(self, run: RunRecord) -> None:
        """The record of a run that has just started (status "running"), under its run_id."""
        record = run.to_toml()
        self.update(lambda raw: _put_run(raw, record))

    def update_run(self, run_id: str, fn: Callable[[dict[str, Any]], None]) -> bool:
        """Change the raw ``[[runs]]`` record with this run_id in place; False if there is none."""
        found = False

        def change(raw: dict[str, Any]) -> None:
            nonlocal found
            record = _find_run(raw, run_id)
            if record is not None:
                found = True
                fn(record)

        self.update(change)
        return found

    def add_action(self, run_id: str | None, action: dict[str, Any]) -> None:
        """An operator's action: with the run it happened in, else in top-level [[actions]]."""
        clean = _drop_none(action)

        def change(raw: dict[str, Any]) -> None:
            record = _find_run(raw, run_id) if run_id else None
            target = record if record is not None else raw
            target.setdefault("actions", []).append(clean)

        self.update(change)

    def ensure_migration_row(self, name: str, notes: str = "") -> bool:
        """Add a pending ``[[migrations]]`` row for ``name`` unless it has one; True if added."""
        added = False

        def change(raw: dict[str, Any]) -> None:
            nonlocal added
            if _find_row(raw, name) is None:
                raw["migrations"].append(
                    {
                        "date": datetime.now(UTC).date(),
                        "migration": name,
                        "status": PENDING,
                        "executed_by": "",
                        "notes": notes,
                    }
                )
                added = True

        self.update(change)
        return added

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

    def update(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """Read-modify-write the raw document under the lock; nothing is written if fn raises."""
        with self._locked():
            raw, header = self._read()
            doc: dict[str, Any] = {"migrations": [], "runs": []}
            doc.update(copy.deepcopy(raw))
            fn(doc)
            for key in ("migrations", "runs"):
                if doc.get(key) == [] and key not in raw:
                    del doc[key]  # tomli_w would write `runs = []` above the tables
            if doc == raw and self.path.exists():
                return  # nothing changed: leave the file (and its comments) alone
            _parse(doc, str(self.path))  # never write a file we would refuse to read
            if self.redact is not None:
                doc = _redact(doc, self.redact)
            text = tomli_w.dumps(doc)
            if header:
                text = f"{header}\n\n{text}"
            self._write_atomically(text.encode("utf-8"))

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


def _find_run(raw: dict[str, Any], run_id: str | None) -> dict[str, Any] | None:
    if not run_id:
        return None
    return next((r for r in reversed(raw.get("runs", [])) if r.get("run_id") == run_id), None)


def _put_run(raw: dict[str, Any], record: dict[str, Any]) -> None:
    """Append the record, or replace the one with its run_id (keeping the actions that
    faces recorded into it meanwhile)."""
    runs = raw.setdefault("runs", [])
    old = _find_run(raw, record.get("run_id"))
    if old is None:
        runs.append(record)
        return
    actions = list(old.get("actions", []))
    for a in record.get("actions", []):
        if a not in actions:
            actions.append(a)
    old.clear()
    old.update(record)
    if actions:
        old["actions"] = actions


def _find_row(raw: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in reversed(raw["migrations"]) if r.get("migration") == name), None)


# -- shape checks and parsing ---------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "num": (int, float),
    "date": (date,),
    "datetime": (datetime,),
    "dict": (dict,),
    "list": (list,),
}
_NAMES = {
    "str": "a string",
    "int": "an integer",
    "num": "a number",
    "date": "a date",
    "datetime": "a date-time with offset",
    "dict": "a table",
    "list": "an array",
}
_ROW_KEYS = {
    "date": "date",
    "migration": "str",
    "status": "str",
    "executed_by": "str",
    "notes": "str",
}
_RUN_KEYS = {
    "migration": "str",
    "action": "str",
    "status": "str",
    "started_at": "datetime",
    "finished_at": "datetime",
    "duration_s": "num",
    "executed_by": "str",
    "environment": "dict",
    "database": "str",
    "statements": "list",
    "error": "str",
    "notes": "str",
    "invalid_indexes": "list",
    "actions": "list",
    "run_id": "str",
    "runner_pid": "int",
    "runner_started": "int",
    "host": "str",
    "log": "str",
}
_STATEMENT_DEFAULTS: dict[str, Any] = {"number": 0, "line": 0, "sql": "", "status": ""}
_STATEMENT_KEYS = {
    "number": "int",
    "line": "int",
    "sql": "str",
    "status": "str",
    "duration_s": "num",
    "attempts": "int",
}


def _check(row: Any, keys: dict[str, str], where: str, path: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise HistoryError(f"{path}: {where} is not a table: {_FIX}")
    for key, kind in keys.items():
        value = row.get(key)
        ok = _TYPES[kind]
        if value is None:
            continue
        bad = not isinstance(value, ok) or isinstance(value, bool)
        if kind == "date" and isinstance(value, datetime):
            bad = True
        if bad:
            raise HistoryError(
                f"{path}: {where}.{key} must be {_NAMES[kind]}, not {_toml_type(value)}: {_FIX}"
            )
    return row


def _toml_type(value: Any) -> str:
    for kind in ("datetime", "date", "str", "dict", "list"):
        if isinstance(value, _TYPES[kind]):
            return _NAMES[kind]
    return "a boolean" if isinstance(value, bool) else _NAMES["num"]


def _rows(raw: dict[str, Any], key: str, path: str) -> list[Any]:
    rows = raw.get(key, [])
    if not isinstance(rows, list):
        raise HistoryError(f"{path}: `{key}` must be an array of tables ([[{key}]]): {_FIX}")
    return rows


def _build(cls: type[Any], row: dict[str, Any], keys: dict[str, str], **over: Any) -> Any:
    """A dataclass from a tolerant row: known keys as fields, the rest in ``extra``."""
    known = {k: v for k, v in row.items() if k in keys} | over
    return cls(**known, extra={k: v for k, v in row.items() if k not in keys})


def _parse(raw: dict[str, Any], path: str) -> HistoryData:
    data = HistoryData(raw=raw)
    for i, r in enumerate(_rows(raw, "migrations", path)):
        _check(r, _ROW_KEYS, f"migrations[{i}]", path)
        data.migrations.append(_build(MigrationRow, r, _ROW_KEYS, migration=r.get("migration", "")))
    for i, r in enumerate(_rows(raw, "runs", path)):
        _check(r, _RUN_KEYS, f"runs[{i}]", path)
        statements = []
        for j, s in enumerate(r.get("statements", [])):
            _check(s, _STATEMENT_KEYS, f"runs[{i}].statements[{j}]", path)
            missing = {k: v for k, v in _STATEMENT_DEFAULTS.items() if k not in s}
            statements.append(_build(StatementRecord, s, _STATEMENT_KEYS, **missing))
        for j, a in enumerate(r.get("actions", [])):
            _check(a, {}, f"runs[{i}].actions[{j}]", path)
        data.runs.append(
            _build(
                RunRecord,
                r,
                _RUN_KEYS,
                migration=r.get("migration", ""),
                statements=statements,
                environment={k: str(v) for k, v in r.get("environment", {}).items()},
                invalid_indexes=[str(x) for x in r.get("invalid_indexes", [])],
            )
        )
    return data
