"""Reading PostgreSQL's syntax tree (pglast, libpg_query): parsing, walking, names as SQL
(quoted where needed, schema-qualified when written so), expressions deparsed, and the SQL
words a statement node stands for. The planner, the splitter, the measurements and the
verification all read the tree through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum

from pglast import ast, parser
from pglast.enums import ConstrType
from pglast.stream import RawStream, maybe_double_quote_name
from pglast.visitors import ReferencedRelations

ParseError = parser.ParseError

# Statements that change rows, and the word that names each.
DATA_CHANGING: dict[type[ast.Node], str] = {
    ast.InsertStmt: "INSERT",
    ast.UpdateStmt: "UPDATE",
    ast.DeleteStmt: "DELETE",
    ast.MergeStmt: "MERGE",
}
# fmt: off
_KINDS = {  # where the node's name, as words, is not the SQL
    "CreateSeqStmt": "CREATE SEQUENCE", "AlterSeqStmt": "ALTER SEQUENCE",
    "CreateEnumStmt": "CREATE TYPE", "CompositeTypeStmt": "CREATE TYPE",
    "AlterEnumStmt": "ALTER TYPE", "VariableShowStmt": "SHOW", "CreatePLangStmt": "CREATE LANGUAGE",
    "CreatedbStmt": "CREATE DATABASE", "DropdbStmt": "DROP DATABASE",
    "AlterSystemStmt": "ALTER SYSTEM",
    "CreateTableSpaceStmt": "CREATE TABLESPACE", "DropTableSpaceStmt": "DROP TABLESPACE",
}
_OBJECT_WORDS = {"MATVIEW": "MATERIALIZED VIEW", "TABCONSTRAINT": "CONSTRAINT"}
# fmt: on


# -- parsing -------------------------------------------------------------------------------


def parse(sql: str) -> tuple[ast.Node | None, ...]:
    """The syntax tree of each statement in sql; ParseError when it is not valid SQL."""
    return tuple(raw.stmt for raw in parser.parse_sql(sql))


def error_parts(exc: parser.ParseError) -> tuple[str, int | None]:
    """pglast's ParseError args are (message, 0-based character index or None at end of input)."""
    message = str(exc.args[0]) if exc.args else str(exc)
    index = exc.args[1] if len(exc.args) > 1 else None
    return message, index if isinstance(index, int) else None


def walk(node: ast.Node | None) -> Iterator[ast.Node]:
    """Every node under node (itself included), in no particular order."""
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            yield item
            stack.extend(getattr(item, member) for member in item)


# -- names and expressions as SQL ----------------------------------------------------------


def quote_name(name: str) -> str:
    """An identifier as SQL: double-quoted only where it needs to be."""
    return maybe_double_quote_name(name)


def deparse(node: ast.Node | tuple[ast.Node, ...]) -> str:
    """An expression (or statement) written back as SQL."""
    return str(RawStream()(node))


def relation_name(rv: ast.Node | None) -> str:
    """A RangeVar as SQL (schema-qualified when written so, quoted where needed)."""
    if not isinstance(rv, ast.RangeVar):
        return ""
    parts = (rv.catalogname, rv.schemaname, rv.relname)
    return ".".join(quote_name(p) for p in parts if p)


def qualified_name(names: object) -> str:
    """A qualified name given as a tuple of String nodes, as SQL."""
    items = names if isinstance(names, tuple) else ()
    return ".".join(quote_name(n.sval or "") for n in items if isinstance(n, ast.String))


def relations(node: ast.Node | None) -> list[str]:
    """Relations a query reads or writes, in order of appearance, without CTE names."""
    if node is None:
        return []
    found: list[ast.RangeVar] = []
    ctes = False
    for n in walk(node):
        if isinstance(n, ast.RangeVar):
            found.append(n)
        elif isinstance(n, ast.WithClause):
            ctes = True
    found.sort(key=lambda rv: rv.location if rv.location is not None else -1)
    names = [relation_name(rv) for rv in found]
    if not ctes:  # every relation named is one (a 5 MiB INSERT: one walk, not two)
        return names
    wanted = ReferencedRelations()(node)  # a CTE's name is not a relation, in its scope
    return [name for name in names if name in wanted]


def referenced_tables(node: ast.Node) -> list[str]:
    """Tables named by FOREIGN KEY ... REFERENCES inside node."""
    return [
        relation_name(n.pktable)
        for n in walk(node)
        if isinstance(n, ast.Constraint) and n.contype == ConstrType.CONSTR_FOREIGN
    ]


# -- options and words ---------------------------------------------------------------------


def option(options: tuple[ast.Node, ...] | None, name: str) -> bool:
    """Whether a DefElem list turns `name` on, as in VACUUM (FULL) or REINDEX (CONCURRENTLY)."""
    for opt in options or ():
        if isinstance(opt, ast.DefElem) and opt.defname == name:
            arg = opt.arg
            if isinstance(arg, ast.String):
                return (arg.sval or "").lower() not in ("false", "off", "0", "no")
            if isinstance(arg, ast.Boolean):
                return bool(arg.boolval)
            if isinstance(arg, ast.Integer):
                return arg.ival != 0
            return True
    return False


def enum_words(value: Enum | None, prefix: str) -> str:
    """An enum member's name without its prefix, as words: OBJECT_MATVIEW -> MATVIEW."""
    return value.name.removeprefix(prefix).replace("_", " ") if value is not None else ""


def object_words(objtype: Enum | None) -> str:
    """An ObjectType as SQL names it: OBJECT_MATVIEW -> MATERIALIZED VIEW."""
    word = enum_words(objtype, "OBJECT_")
    return _OBJECT_WORDS.get(word, word)


def statement_words(node: ast.Node) -> str:
    """The SQL words a statement node stands for: CreateSeqStmt -> CREATE SEQUENCE."""
    name = type(node).__name__
    words = _KINDS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Stmt"))
    return words.upper()
