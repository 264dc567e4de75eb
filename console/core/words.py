"""The status words, each defined once: what a run or a statement came to, where a migration
stands, how far a checklist item is, and what verification found of an index.

Each is a ``StrEnum``: a member is its word, so history.toml, ``--json``, the log and the
screen all show the same text, and a word read back from a file compares equal to its member.
"INVALID" alone never names one of these: an index PostgreSQL marks invalid is
``Standing.INVALID_INDEX`` for a migration and ``IndexVerdict.INVALID`` for verification; the
doctor's check of such indexes is named ``invalid-indexes``.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """A run's status (history.toml ``[[runs]]``), or one statement's within it."""

    RUNNING = "running"  # what history.toml holds while the runner works
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # a run whose runner went away without recording an outcome
    NOT_RUN = "not run"  # a statement the run never reached
    SKIPPED = "skipped"  # a statement done by the run this one resumed
    ROLLED_BACK = "rolled back"  # a statement of a transaction that rolled back
    UNKNOWN = "unknown"  # a statement whose COMMIT was sent but never answered


# What a whole run can come to (a statement can also be not run, skipped, rolled back).
RUN_OUTCOMES = (
    Outcome.SUCCEEDED,
    Outcome.FAILED,
    Outcome.CANCELLED,
    Outcome.RUNNING,
    Outcome.INTERRUPTED,
)
DONE_OUTCOMES = (Outcome.SUCCEEDED, Outcome.SKIPPED)  # a statement that needs no running again


class Standing(StrEnum):
    """Where a migration stands: its ``[[migrations]]`` row in history.toml, and what the
    overview shows from the database and the runs in progress."""

    PENDING = "pending"
    APPLIED = "applied"
    PARTIAL = "partial"  # some of its indexes present
    INVALID_INDEX = "invalid index"  # an index of it is INVALID (a failed or cancelled build)
    BUILDING = "building"  # an index of it is being built right now (INVALID until it is done)
    FAILED = "failed"  # the last run failed and left nothing applied
    CANCELLED = "cancelled"
    ROLLED_BACK = "rolled back"
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    UNREADABLE = "unreadable"  # the file cannot be read or planned
    UNKNOWN = "unknown"  # nothing in the database to look for: see history


# The statuses a [[migrations]] row may hold.
ROW_STANDINGS = (
    Standing.PENDING,
    Standing.APPLIED,
    Standing.FAILED,
    Standing.CANCELLED,
    Standing.ROLLED_BACK,
    Standing.INTERRUPTED,
)


class ItemStatus(StrEnum):
    """How far a checklist item is."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class IndexVerdict(StrEnum):
    """What verification found of one index the migration builds."""

    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    DIFFERENT = "different"
