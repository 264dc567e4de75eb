"""Statements that control the transaction (BEGIN, COMMIT, SAVEPOINT, SET TRANSACTION, ...):
the console owns the transaction, so a migration file may hold none of them. The splitter
refuses them in a file, the planner in a statement made by hand.
"""

from __future__ import annotations

import re

from pglast import ast
from pglast.enums import TransactionStmtKind as TK

from console.core import sqltree
from console.errors import TransactionControl

# The first words that may start one, and how to name each kind.
_FIRST_WORD = re.compile(r"[A-Za-z]+")
_CONTROL_WORDS = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT"}
_CONTROL_WORDS |= {"RELEASE", "PREPARE", "SET"}
_CONTROL_NAMES = {
    TK.TRANS_STMT_BEGIN: "BEGIN",
    TK.TRANS_STMT_START: "START TRANSACTION",
    TK.TRANS_STMT_SAVEPOINT: "SAVEPOINT",
    TK.TRANS_STMT_RELEASE: "RELEASE SAVEPOINT",
    TK.TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
    TK.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
    TK.TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
    TK.TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
}  # COMMIT and ROLLBACK are named as written: END and ABORT are the same statements
# SET TRANSACTION, and the settings it changes when spelled as SET name = value
_SET_TRANSACTION = {"transaction", "transaction snapshot", "transaction_isolation"}
_SET_TRANSACTION |= {"transaction_read_only", "transaction_deferrable"}
_CONTROL_HINT = (
    "Remove it: a section runs in one transaction, or statement by statement with "
    "`transaction:false`."
)


def transaction_control(sql: str, node: ast.Node | None = None) -> str | None:
    """The name of a statement that controls the transaction (BEGIN, COMMIT, SAVEPOINT,
    SET TRANSACTION, ...), else None. ``node`` is its syntax tree, when already parsed."""
    word = _FIRST_WORD.match(sql)
    first = word[0].upper() if word else ""
    if first not in _CONTROL_WORDS:
        return None
    if node is None:
        try:
            nodes = sqltree.parse(sql)
        except sqltree.ParseError:
            return None
        node = nodes[0] if len(nodes) == 1 else None
    if isinstance(node, ast.TransactionStmt) and node.kind is not None:
        return _CONTROL_NAMES.get(node.kind, first)
    if isinstance(node, ast.VariableSetStmt) and (node.name or "").lower() in _SET_TRANSACTION:
        return f"SET {node.name}"  # SET TRANSACTION [SNAPSHOT], or SET transaction_isolation
    return None


def refuse_transaction_control(name: str, path: str, line: int, column: int) -> TransactionControl:
    """The error for a transaction-control statement, located like a syntax error."""
    message = f"{name} controls the transaction, which the console owns"
    if name.startswith("SET "):  # harmless inside one transaction, but one rule is simpler
        message += ": it is refused even where it would be harmless, to keep one simple rule"
    return TransactionControl(path, line, column, message + ".", _CONTROL_HINT)
