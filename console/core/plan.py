"""Planning a migration: what each statement does to a running database (its kind, the
tables it touches, the table lock it takes, what that lock blocks, whether it may run inside
a transaction block), whether a section runs in one transaction, and squawk's findings.
Read from pglast's syntax tree (``classify``), never from text.
"""

from __future__ import annotations

from collections.abc import Iterable

from console.core import sqltree
from console.core.classify import classify
from console.core.lint import UNAVAILABLE, lint_file
from console.core.model import (
    DOWN,
    UP,
    IndexSpec,
    LintFinding,
    Migration,
    MigrationPlan,
    Section,
    SectionPlan,
    Statement,
    StatementPlan,
)
from console.core.transaction_control import refuse_transaction_control, transaction_control
from console.errors import BadInput, MigrationSyntaxError

# Findings about timeouts the runner sets itself (lock_timeout, statement_timeout).
RUNNER_HANDLED_RULES = ("require-lock-timeout", "require-statement-timeout")


def plan_statement(stmt: Statement) -> StatementPlan:
    """Plan one statement from its syntax tree."""
    try:
        nodes = sqltree.parse(stmt.sql)
    except sqltree.ParseError as exc:
        message, found = sqltree.error_parts(exc)
        index = found if found is not None else 0
        before = stmt.sql[:index]
        line = stmt.line + before.count("\n")
        column = index - before.rfind("\n") if "\n" in before else stmt.column + index
        raise MigrationSyntaxError("<statement>", line, column, message) from None
    if len(nodes) != 1 or nodes[0] is None:
        raise ValueError(f"expected one SQL statement, got {len(nodes)}: {stmt.first_line}")
    control = transaction_control(stmt.sql, nodes[0])
    if control is not None:  # parse_migration refuses these; a Statement made by hand too
        raise refuse_transaction_control(control, "<statement>", stmt.line, stmt.column)
    return classify(stmt, nodes[0])


# -- sections and migrations ---------------------------------------------------------------


def plan_section(section: Section) -> SectionPlan:
    """Plan every statement; decide whether the runner wraps the section in one transaction."""
    plans = tuple(plan_statement(s) for s in section.statements)
    outside = next((p for p in plans if not p.transactional), None)
    if not section.transaction:
        reason = "runs statement by statement in autocommit: the file says transaction:false"
    elif outside is not None:
        reason = (
            f"runs statement by statement in autocommit: {outside.kind} cannot run inside "
            f"a transaction block (line {outside.statement.line})"
        )
    else:
        reason = "runs in one transaction that rolls back whole on error"
    in_transaction = section.transaction and outside is None
    return SectionPlan(section, plans, in_transaction, reason)


def section_indexes(section: Section) -> tuple[IndexSpec, ...]:
    """The indexes a section creates, planning only the statements that may create one."""
    specs = (plan_statement(s).index for s in section.statements if _creates(s))
    return tuple(spec for spec in specs if spec is not None)


def _creates(stmt: Statement) -> bool:
    return stmt.sql[:6].upper() == "CREATE"  # the statement text starts at its first token


def plan_migration(
    migration: Migration,
    section_name: str = UP,
    lint: bool = True,
    ignore: Iterable[str] = RUNNER_HANDLED_RULES,
) -> MigrationPlan:
    """Plan one section of a migration, with squawk's findings located in that section.

    By default it leaves out squawk's findings about lock_timeout and statement_timeout:
    the runner sets both on its session before each run.
    """
    section = migration.section(section_name)
    if section is None:
        raise BadInput(
            f"{migration.path} has no `-- migrate:{section_name}` section.",
            "Add it to the file, or pick another migration.",
        )
    plan = plan_section(section)
    findings: tuple[LintFinding, ...] = ()
    if lint and section_name in (UP, DOWN) and migration.path.is_file():
        found = lint_file(migration.path, ignore, assume_in_transaction=plan.in_transaction)
        findings = tuple(f for f in found if _in_section(f, migration, section))
    return MigrationPlan(migration, plan, findings)


def _in_section(finding: LintFinding, migration: Migration, section: Section) -> bool:
    if finding.rule == UNAVAILABLE:
        return True
    later = [s.line for s in migration.sections.values() if s.line > section.line]
    end = min(later, default=None)
    return finding.line > section.line and (end is None or finding.line < end)
