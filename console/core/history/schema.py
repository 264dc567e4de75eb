"""The shape history.toml must have: checked before anything is read or written."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from console.core.history.records import (
    HistoryData,
    MigrationRow,
    RunRecord,
    StatementRecord,
)
from console.errors import HistoryError

FIX = "fix it or move it aside; nothing was written."

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
    "result": "str",
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
        raise HistoryError(f"{path}: {where} is not a table: {FIX}")
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
                f"{path}: {where}.{key} must be {_NAMES[kind]}, not {_toml_type(value)}: {FIX}"
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
        raise HistoryError(f"{path}: `{key}` must be an array of tables ([[{key}]]): {FIX}")
    return rows


def _build(cls: type[Any], row: dict[str, Any], keys: dict[str, str], **over: Any) -> Any:
    """A dataclass from a tolerant row: known keys as fields, the rest in ``extra``."""
    known = {k: v for k, v in row.items() if k in keys} | over
    return cls(**known, extra={k: v for k, v in row.items() if k not in keys})


def parse(raw: dict[str, Any], path: str) -> HistoryData:
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
