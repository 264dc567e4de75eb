"""Property tests for the statement splitter: statements built with comments, strings,
dollar quotes and `;` inside identifiers come back from a migration file exactly as written,
each at its own line and column.

Each statement is a list of tokens joined by separators (whitespace, line comments, nested
block comments). Between statements go semicolons, empty statements, whitespace and
comments; the statement itself runs from its first token to its last, so none of that
belongs to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from hypothesis import example, given, note, settings
from hypothesis import strategies as st

from console.core import split
from console.core.migration_file import parse_migration_text

FILE = Path("p.sql")

# -- pieces of text ----------------------------------------------------------------------------

# Characters that trip naive splitters, plus a few non-ASCII ones (multi-byte in UTF-8).
TRICKY = ";'\"$-/*\\()=,.:é日🎉"
PLAIN = "abcxyz 019_"
WHITESPACE = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\f", "\n\n"])


def text(alphabet: str, max_size: int = 8) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=max_size)


def joined(*parts: st.SearchStrategy[str], max_size: int = 5) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(*parts), max_size=max_size).map("".join)


line_comment = text((PLAIN + TRICKY).replace("\\", "")).map(lambda t: f"--{t}\n")
# Block comments nest; their text holds anything but `*` and `/`, which only open and close.
block_comment = st.recursive(
    text((PLAIN + TRICKY + "\n").replace("*", "").replace("/", "")).map(lambda t: f"/*{t}*/"),
    lambda inner: joined(inner, text(PLAIN + ";'\"$-")).map(lambda t: f"/*{t}*/"),
    max_leaves=4,
)
# What separates two tokens: never empty, so `AS $$` and `x y` stay apart.
separator = st.lists(st.one_of(WHITESPACE, line_comment, block_comment), min_size=1, max_size=3)
# What may sit between a statement's last token and its `;`, or before its first token.
padding = st.lists(st.one_of(WHITESPACE, line_comment, block_comment), max_size=3)

string = joined(text(PLAIN + TRICKY.replace("'", "") + "\n"), st.just("''")).map(lambda t: f"'{t}'")
escape_string = joined(
    text(PLAIN + TRICKY.replace("'", "").replace("\\", "")),
    st.sampled_from(["\\'", "''", "\\\\", "\\n", "\\t", ";"]),
).map(lambda t: f"E'{t}'")
quoted_identifier = joined(text(PLAIN + TRICKY.replace('"', "")), st.just('""')).map(
    lambda t: f'"{t}"' if t else '";"'
)
# Unquoted identifiers may hold non-ASCII letters; to PostgreSQL a no-break or ideographic
# space is one too, even at the end of a statement (Python's strip() disagrees).
identifier = st.builds(
    lambda body, tail: f"c_{body}{tail}",
    text("abcxyz019_éß日", max_size=5),
    st.sampled_from(["", "", "", "é", "\u00a0", "\u3000"]),
)


@st.composite
def dollar_quoted(draw: st.DrawFn) -> str:
    tag = draw(st.sampled_from(["", "", "a", "fn", "t_1", "tæg"]))
    body = draw(joined(text(PLAIN + TRICKY + "\n"), st.sampled_from(["$$", "$a$", "$x$", "; "])))
    close = f"${tag}$"
    if (body + close).find(close) != len(body):  # the body must not close the quote early
        body = body.replace("$", "")
    return f"{close}{body}{close}"


literal = st.one_of(
    st.sampled_from(["1", "42", "3.14", "1_000", "NULL", "B'101'", "X'1F'", "U&'d\\0061t'"]),
    string,
    escape_string,
    dollar_quoted(),
)
value = st.one_of(literal, identifier, quoted_identifier)
name = st.one_of(identifier, quoted_identifier)


def comma_list(item: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """Tokens of `a, b, c`."""
    return st.lists(item, min_size=1, max_size=3).map(
        lambda items: [t for i, x in enumerate(items) for t in ([","] if i else []) + [x]]
    )


# -- statements, as lists of tokens --------------------------------------------------------------

select = st.builds(
    lambda values, alias, table: ["SELECT", *values, "AS", alias, *table],
    comma_list(value),
    name,
    st.one_of(st.just([]), name.map(lambda t: ["FROM", t])),
)
select_star = name.map(lambda t: ["SELECT", "*", "FROM", t])
insert = st.builds(
    lambda table, columns, values: [
        "INSERT",
        "INTO",
        table,
        "(",
        *columns,
        ")",
        "VALUES",
        "(",
        *values,
        ")",
    ],  # fmt: skip
    name,
    comma_list(name),
    comma_list(literal),
)
create_table = st.builds(
    lambda table, columns: ["CREATE", "TABLE", table, "(", *columns, ")"],
    name,
    comma_list(st.builds(lambda c, t: f"{c} {t}", name, st.sampled_from(["int", "text"]))),
)
create_index = st.builds(
    lambda index, table, column: [
        "CREATE",
        "INDEX",
        "CONCURRENTLY",
        "IF",
        "NOT",
        "EXISTS",
        index,
        "ON",
        table,
        "(",
        column,
        "DESC",
        ")",
        "WHERE",
        column,
        "<>",
        "';'",
    ],  # fmt: skip
    name,
    name,
    name,
)
do_block = dollar_quoted().map(lambda body: ["DO", body])
function = st.builds(
    lambda fn, body: [
        "CREATE",
        "FUNCTION",
        fn,
        "(",
        ")",
        "RETURNS",
        "int",
        "LANGUAGE",
        "sql",
        "AS",
        body,
    ],  # fmt: skip
    name,
    dollar_quoted(),
)
atomic_function = st.builds(  # `;` inside BEGIN ATOMIC ... END belongs to the function
    lambda fn, value: [
        "CREATE",
        "FUNCTION",
        fn,
        "(",
        ")",
        "RETURNS",
        "int",
        "LANGUAGE",
        "sql",
        "BEGIN",
        "ATOMIC",
        "SELECT",
        value,
        ";",
        "SELECT",
        "2",
        ";",
        "END",
    ],  # fmt: skip
    name,
    literal,
)
statement_tokens = st.one_of(
    select, select_star, insert, create_table, create_index, do_block, function, atomic_function
)


@dataclass(frozen=True)
class Expected:
    sql: str
    line: int
    column: int


@st.composite
def statement(draw: st.DrawFn) -> str:
    tokens = draw(statement_tokens)
    out = tokens[0]
    for token in tokens[1:]:
        out += "".join(draw(separator)) + token
    return out


@st.composite
def section_body(draw: st.DrawFn) -> list[str]:
    """A section's text as parts: statements at odd indexes, what lies between them around."""
    statements = draw(st.lists(statement(), max_size=5))
    parts = ["".join(draw(padding))]  # before the first statement
    for i, sql in enumerate(statements):
        last = i == len(statements) - 1
        after = "".join(draw(padding))  # between its last token and its `;`
        empties = draw(st.lists(st.sampled_from([";", " ;", "\n;", "/* ; */;"]), max_size=2))
        terminator = "" if last and draw(st.booleans()) else ";" + "".join(empties)
        parts += [sql, after + terminator + "".join(draw(padding))]
    return parts


def file_text(sections: list[tuple[str, list[str]]]) -> tuple[str, list[Expected]]:
    """The file and, in order, every statement it holds with its 1-based line and column."""
    text, expected = "-- a header; SELECT 'not a statement';\n", []
    for name, parts in sections:
        if not text.endswith("\n"):
            text += "\n"
        text += f"-- migrate:{name}\n"
        for i, part in enumerate(parts):
            if i % 2 == 1:
                before = text
                line = before.count("\n") + 1
                expected.append(Expected(part, line, len(before) - before.rfind("\n")))
            text += part
    return text, expected


def parsed(text: str) -> list[Expected]:
    migration = parse_migration_text(text, FILE)
    return [
        Expected(s.sql, s.line, s.column)
        for section in migration.sections.values()
        for s in section.statements
    ]


def _fail_slow_path(body: str) -> list[tuple[int, int]]:
    raise AssertionError(f"statements located through pglast's offsets, for:\n{body}")


@settings(max_examples=200, deadline=None)
@given(up=section_body(), down=st.one_of(st.none(), section_body()))
@example(up=["", "SELECT 1 AS c_a\u3000", ";"], down=None)  # no-break spaces end identifiers
@example(up=["/* a /* b */ ; */", "SELECT 1", " -- x;\n;"], down=None)
def test_statements_come_back_exactly_where_they_were_written(
    up: list[str], down: list[str] | None
) -> None:
    sections = [("up", up)] + ([("down", down)] if down is not None else [])
    text, expected = file_text(sections)
    note(f"migration file:\n{text}")
    note(f"expected statements: {expected}")
    with mock.patch.object(split, "_locate_slowly", _fail_slow_path):
        got = parsed(text)
    assert got == expected
