"""Changing history.toml's document with tomlkit, table by table: a record appended as a
``[[key]]`` table, a run's record replaced in place, a migration's row found.

The same functions change the whole document or one block of it (``blocks``); nothing
here touches a table it was not asked to change.
"""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import AoT, Null, Table
from tomlkit.toml_document import TOMLDocument

from console.core.history import blocks

# Small tables inside a record are written inline (environment = { … }); lists of
# tables (statements, actions) as [[runs.statements]] tables.
INLINE = ("environment", "resolution")


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


def find_row(doc: TOMLDocument, name: str) -> Table | None:
    rows = doc.get("migrations", [])
    return next((r for r in reversed(rows) if r.get("migration") == name), None)


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
    # clear() leaves the blank lines the old layout had between its keys and its
    # [[runs.statements]]; the new one brings its own, so a record read back from the
    # file and written again would gain a blank line at every write.
    body = old.value.body
    for i, (key, _item) in enumerate(body):
        if key is None:
            body[i] = (None, Null())
    for key, value in fresh.items():
        old[key] = value


def last_index(rows: list[Any], key: str, value: object) -> int | None:
    """The index of the last row whose ``key`` is ``value`` (as find_run, find_row)."""
    return next((i for i in range(len(rows) - 1, -1, -1) if rows[i].get(key) == value), None)


def run_edit(raw: dict[str, Any], record: dict[str, Any]) -> blocks.Edit | None:
    """put_run on the block of the record with its run_id, or on the last record's block
    (where a new record is appended); None when there is no [[runs]] block yet."""
    runs = raw.get("runs") or []
    if not runs:
        return None
    run_id = record.get("run_id")
    at = last_index(runs, "run_id", run_id) if run_id else None
    return ("runs", len(runs) - 1 if at is None else at, lambda mini: put_run(mini, record))
