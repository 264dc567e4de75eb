"""PostgreSQL's table lock modes, and which conflicts with which."""

from __future__ import annotations

import re

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
