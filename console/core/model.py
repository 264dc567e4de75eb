"""Plain dataclasses describing migration files and their plans.

These are the shapes every layer shares: the parser fills them in, the planner
and runner read them, the CLI and TUI display them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Section names in a migration file. ``up`` and ``down`` are dbmate's; ``verify``
# and ``compare`` are the console's own.
UP = "up"
DOWN = "down"
VERIFY = "verify"
COMPARE = "compare"
SECTIONS = (UP, DOWN, VERIFY, COMPARE)


@dataclass(frozen=True)
class Statement:
    """One SQL statement as PostgreSQL's parser split it."""

    sql: str  # the statement text, without the trailing semicolon
    line: int  # 1-based line in the migration file where it starts
    column: int  # 1-based column
    number: int  # 1-based position within its section

    @property
    def first_line(self) -> str:
        text = " ".join(self.sql.split())
        return text if len(text) <= 100 else text[:97] + "..."


@dataclass(frozen=True)
class Section:
    name: str  # up, down, verify, compare
    statements: tuple[Statement, ...]
    line: int  # line of the "-- migrate:NAME" marker
    transaction: bool = True  # False when the marker says transaction:false


@dataclass(frozen=True)
class Migration:
    name: str  # the file stem, e.g. add_composite_indexes_20251123
    path: Path
    sections: dict[str, Section] = field(default_factory=dict)

    def section(self, name: str) -> Section | None:
        return self.sections.get(name)

    @property
    def up(self) -> Section | None:
        return self.sections.get(UP)

    @property
    def down(self) -> Section | None:
        return self.sections.get(DOWN)


@dataclass(frozen=True)
class IndexColumn:
    expression: str  # column name or deparsed expression
    descending: bool = False
    nulls: str | None = None  # "FIRST", "LAST" or None for the default


@dataclass(frozen=True)
class IndexSpec:
    """An index a ``CREATE INDEX`` statement builds, as written in the file."""

    name: str
    table: str  # relation name as written (may be schema-qualified)
    columns: tuple[IndexColumn, ...]
    unique: bool = False
    method: str = "btree"
    predicate: str | None = None  # deparsed WHERE clause, without "WHERE"
    concurrent: bool = False
    if_not_exists: bool = False
    statement_sql: str = ""  # the whole CREATE INDEX statement

    @property
    def lookup_name(self) -> str:
        """The name to_regclass finds it by: an index lives in its table's schema."""
        return f"{self.table.rsplit('.', 1)[0]}.{self.name}" if "." in self.table else self.name


@dataclass(frozen=True)
class StatementPlan:
    """What one statement will do to a running database."""

    statement: Statement
    kind: str  # e.g. "CREATE INDEX CONCURRENTLY", "ANALYZE", "DROP INDEX"
    targets: tuple[str, ...]  # tables (relations) it touches, as written
    lock: str | None  # heaviest table lock mode taken, e.g. "SHARE UPDATE EXCLUSIVE"
    blocks: tuple[str, ...]  # subset of ("reads", "writes", "DDL") that lock blocks
    transactional: bool  # False when it cannot run inside a transaction block
    index: IndexSpec | None = None  # set for CREATE INDEX
    drops_index: str | None = None  # set for DROP INDEX: the index name
    creates_table: str | None = None  # set for CREATE TABLE
    # CREATE INDEX / REINDEX / DROP INDEX / DETACH PARTITION … CONCURRENTLY: it waits for
    # other transactions, and the console's lock policy treats those waits apart
    concurrent: bool = False


@dataclass(frozen=True)
class LintFinding:
    """One squawk finding, located in the migration file."""

    rule: str
    level: str  # "error" or "warning"
    message: str
    line: int
    column: int
    help: str = ""


@dataclass(frozen=True)
class SectionPlan:
    section: Section
    statements: tuple[StatementPlan, ...]
    in_transaction: bool  # whether the runner wraps the section in one transaction
    reason: str  # why it runs the way it does, for people

    @property
    def tables(self) -> tuple[str, ...]:
        """Existing tables the section needs (excluding ones it creates itself)."""
        created = {p.creates_table for p in self.statements if p.creates_table}
        seen: dict[str, None] = {}
        for p in self.statements:
            for t in p.targets:
                if t not in created:
                    seen.setdefault(t, None)
        return tuple(seen)

    @property
    def indexes(self) -> tuple[IndexSpec, ...]:
        return tuple(p.index for p in self.statements if p.index is not None)


@dataclass(frozen=True)
class MigrationPlan:
    migration: Migration
    section: SectionPlan
    findings: tuple[LintFinding, ...] = ()
