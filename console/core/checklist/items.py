"""The checklist's items: the seed's "Migration Execution Checklist", or a migration's own.

The eight default items follow the team's status report, in its order. A migration may
bring its own list in a sidecar file next to it, ``migrations/<stem>.checklist.toml``::

    [[items]]
    key = "baseline"
    title = "Verify current database performance metrics (baseline)"
    kind = "auto"            # "auto": the console can do it; "manual": a person signs off
    action = "baseline"      # one of ACTIONS; required for auto items
    help = "..."             # optional
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli

from console.errors import BadInput

AUTO, MANUAL = "auto", "manual"
ACTIONS = ("baseline", "execute", "verify", "monitor", "index_usage", "history")


@dataclass(frozen=True)
class ItemDef:
    key: str
    title: str
    kind: str  # "auto" or "manual"
    action: str | None = None  # what the console does for it; one of ACTIONS
    help: str = ""


DEFAULT_ITEMS: tuple[ItemDef, ...] = (
    ItemDef("baseline", "Verify current database performance metrics (baseline)", AUTO,
            "baseline", "Measures the compare queries (EXPLAIN ANALYZE, read-only) before the "
            "migration, so the improvement can be shown afterwards."),
    ItemDef("backup", "Create database backup (Railway automatic backups are enabled)", MANUAL,
            None, "Check that a recent backup exists (Railway: the Postgres service's Backups "
            "tab) or take one, then sign off."),
    ItemDef("execute", "Execute migration", AUTO, "execute",
            "Runs the up section: CONCURRENTLY builds outside a transaction, lock_timeout "
            "with retries, recorded in history.toml."),
    ItemDef("verify", "Run verification", AUTO, "verify",
            "Checks every index the migration builds exists, is valid and matches the file, "
            "and that the file's verification queries hold."),
    ItemDef("endpoints", "Test affected API endpoints (contacts, messages, costs, tasks)",
            MANUAL, None, "Call the contacts, messages, costs and tasks endpoints and check "
            "they answer as before, then sign off."),
    ItemDef("monitor", "Monitor query performance improvements", AUTO, "monitor",
            "Measures the compare queries again after the migration and compares plans and "
            "timings with the baseline."),
    ItemDef("index_usage", "Check index usage after 24 hours: pg_stat_user_indexes", AUTO,
            "index_usage", "Reads idx_scan of the migration's indexes; an index still unused "
            "after a day of traffic may not be worth keeping."),
    ItemDef("history", "Update the history with execution timestamp and results", AUTO,
            "history", "The console records every run in history.toml by itself."),
)  # fmt: skip


def sidecar_path(migration_path: Path) -> Path:
    return migration_path.with_name(f"{migration_path.stem}.checklist.toml")


def load_checklist(migration_path: Path) -> list[ItemDef]:
    """The migration's own checklist when it has a sidecar file, else the default one."""
    path = sidecar_path(migration_path)
    if path.exists() and not path.is_file():  # a FIFO would block, a device never end
        raise BadInput(f"{path} is not a regular file.", "Make it the checklist's TOML file.")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return list(DEFAULT_ITEMS)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path} cannot be read: {exc}.") from None
    try:
        raw = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise BadInput(f"{path} is not valid TOML: {exc}.", "Fix the checklist file.") from None
    return parse_checklist(raw, path)


def parse_checklist(raw: dict[str, Any], path: Path) -> list[ItemDef]:
    items = raw.get("items")
    if not isinstance(items, list) or not items:
        raise BadInput(f"{path}: the checklist needs at least one [[items]] table.")
    out: list[ItemDef] = []
    for i, item in enumerate(items, start=1):
        where = f"{path}: item {i}"
        if not isinstance(item, dict):
            raise BadInput(f"{where} is not a table.")
        unknown = sorted(set(item) - {"key", "title", "kind", "action", "help"})
        if unknown:
            raise BadInput(f"{where} has unknown field(s): {', '.join(unknown)}.")
        for name in ("key", "title", "kind"):
            if not isinstance(item.get(name), str) or not item[name].strip():
                raise BadInput(f"{where} needs a non-empty `{name}` string.")
        key, kind, action = item["key"], item["kind"], item.get("action")
        where = f"{path}: item {key!r}"
        if kind not in (AUTO, MANUAL):
            raise BadInput(f"{where} has kind {kind!r}; it must be 'auto' or 'manual'.")
        if action is not None and action not in ACTIONS:
            raise BadInput(
                f"{where} has unknown action {action!r}.", f"Known: {', '.join(ACTIONS)}."
            )
        if kind == AUTO and action is None:
            raise BadInput(f"{where} is auto but has no `action` for the console to do.")
        if any(d.key == key for d in out):
            raise BadInput(f"{where} appears twice: keys must be unique.")
        help_text = item.get("help", "")
        if not isinstance(help_text, str):
            raise BadInput(f"{where}: `help` must be a string.")
        out.append(ItemDef(key, item["title"], kind, action, help_text))
    return out
