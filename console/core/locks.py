"""PostgreSQL's table lock modes: which conflicts with which, what each blocks, in words for
people, and the heaviest of several (PostgreSQL documentation, "Table-Level Locks")."""

from __future__ import annotations

import re
from collections.abc import Iterable

AS, RS, RX, SUE, SH, SRX, EX, AX = LOCK_MODES = (
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
)

# The table-level lock conflict matrix (PostgreSQL documentation, "Table-Level Locks").
CONFLICTS: dict[str, set[str]] = {
    AS: {AX},
    RS: {EX, AX},
    RX: {SH, SRX, EX, AX},
    SUE: {SUE, SH, SRX, EX, AX},
    SH: {RX, SUE, SRX, EX, AX},
    SRX: {RX, SUE, SH, SRX, EX, AX},
    EX: {RS, RX, SUE, SH, SRX, EX, AX},
    AX: set(LOCK_MODES),
}


def conflicts(wants: str, holds: str) -> bool:
    """Whether a held mode blocks a wanted one; modes outside the table always count."""
    if wants not in CONFLICTS or holds not in CONFLICTS:
        return True
    return holds in CONFLICTS[wants]


def lock_mode(mode: str) -> str:
    """pg_locks' "AccessExclusiveLock" as the documentation writes it: "ACCESS EXCLUSIVE"."""
    words = re.findall(r"[A-Z][a-z]*", mode.removesuffix("Lock"))
    return " ".join(words).upper() or mode


# What each table lock mode blocks. "DDL" for the lighter modes means ACCESS EXCLUSIVE DDL
# (DROP, most ALTER TABLE) and, from SHARE UPDATE EXCLUSIVE on, index builds and VACUUM too.
LOCK_BLOCKS: dict[str, tuple[str, ...]] = {
    AS: ("DDL",),
    RS: ("DDL",),
    RX: ("DDL",),
    SUE: ("DDL",),
    SH: ("writes", "DDL"),
    SRX: ("writes", "DDL"),
    EX: ("writes", "DDL"),
    AX: ("reads", "writes", "DDL"),
}
_DESCRIPTIONS = {
    AS: "reads and writes continue; only ACCESS EXCLUSIVE DDL (DROP, most ALTER TABLE) waits",
    RS: "reads and writes continue; EXCLUSIVE and ACCESS EXCLUSIVE locks wait",
    RX: "reads and writes continue; index builds without CONCURRENTLY and most DDL wait",
    SUE: "reads and writes continue; other DDL, VACUUM and index builds on the table wait",
    SH: "reads continue; writes (INSERT, UPDATE, DELETE) and DDL on the table wait",
    SRX: "reads continue; writes, DDL and other trigger or foreign key changes wait",
    EX: "plain reads continue; writes, SELECT FOR UPDATE and DDL on the table wait",
    AX: "everything on the table waits, even plain SELECTs",
}


def describe_lock(mode: str | None) -> str:
    """One line for people: what a table lock mode lets through and what waits."""
    if mode is None:
        return "no lock on existing tables: nothing waits"
    return f"{mode}: {_DESCRIPTIONS.get(mode, 'see the PostgreSQL documentation')}"


def heaviest(modes: Iterable[str | None]) -> str | None:
    """The strongest of some table lock modes (None when there is none)."""
    known = [m for m in modes if m is not None]
    return max(known, key=LOCK_MODES.index) if known else None
