"""The seed's "Migration Execution Checklist", for each migration: its items, their state,
and what the console does for them.

    items    the items: the default eight, or the migration's own sidecar file
    state    each item's state, derived from history.toml or signed off there
    actions  what the console does by itself (measure, index usage, verification)
"""

from console.core.checklist.actions import do_item, measure_note, record_verify
from console.core.checklist.items import (
    ACTIONS,
    AUTO,
    DEFAULT_ITEMS,
    MANUAL,
    ItemDef,
    load_checklist,
    parse_checklist,
    sidecar_path,
)
from console.core.checklist.state import (
    INDEX_USAGE_DELAY,
    ItemState,
    applied_run,
    checklist_state,
    index_usage_available_at,
    sign_item,
    sign_off,
)

__all__ = [
    "ACTIONS",
    "AUTO",
    "DEFAULT_ITEMS",
    "INDEX_USAGE_DELAY",
    "MANUAL",
    "ItemDef",
    "ItemState",
    "applied_run",
    "checklist_state",
    "do_item",
    "index_usage_available_at",
    "load_checklist",
    "measure_note",
    "parse_checklist",
    "record_verify",
    "sidecar_path",
    "sign_item",
    "sign_off",
]
