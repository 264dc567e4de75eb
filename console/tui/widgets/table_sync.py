"""Keep a DataTable in step with fresh rows by key: update what changed, add and
remove rows, never clear() (so the cursor and scroll position stay put)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable


def sync_rows(table: DataTable[Any], rows: Mapping[str, Sequence[Any]]) -> None:
    columns = list(table.columns.keys())
    existing = {str(k.value): k for k in table.rows}
    for key in list(existing):
        if key not in rows:
            table.remove_row(existing[key])
    for key, values in rows.items():
        if key in existing:
            current = table.get_row(existing[key])
            for col, old, new in zip(columns, current, values, strict=False):
                if not _same(old, new):
                    table.update_cell(existing[key], col, new)
        else:
            table.add_row(*values, key=key)


def _same(old: Any, new: Any) -> bool:
    """Equality that notices a style change (rich's Text.__eq__ ignores the base style)."""
    if isinstance(old, Text) and isinstance(new, Text):
        return old.plain == new.plain and old.style == new.style and old.spans == new.spans
    return bool(old == new)
