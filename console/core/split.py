"""Splitting a section of a migration file into statements, with PostgreSQL's own parser
(pglast, libpg_query), never on ``;``: dollar-quoted bodies, strings and comments survive
whole. Each statement is located in the whole file by a 1-based line and character column,
as are syntax errors.

A section over MAX_STATEMENTS is refused before it is parsed: parsing and planning cost
grows with it. Statements that control the transaction are refused where they stand.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import Path

from pglast import parser

from console.core.model import Statement
from console.core.sqltree import error_parts
from console.core.transaction_control import refuse_transaction_control, transaction_control
from console.errors import BadInput, MigrationSyntaxError

MAX_STATEMENTS = 10_000  # in one section, bounded before the section is parsed

SPLIT_HINT = "Split it into several migrations."
_PG_SPACE = " \t\n\r\f\v"  # what PostgreSQL's scanner skips; str.isspace() says more
_ATOMIC = re.compile(r"\bATOMIC\b", re.IGNORECASE)  # BEGIN ATOMIC bodies fool the scanner


class Positions:
    """Converts character offsets in a text to 1-based (line, column)."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1


def split_section(
    text: str, positions: Positions, path: Path, *, name: str, line: int, start: int, end: int
) -> tuple[Statement, ...]:
    """The statements of the section ``name``, whose marker stands on ``line`` and whose body
    is text[start:end], located in the whole text."""
    start = min(start, len(text))
    body = text[start:end]
    if _surely_too_many(body):
        raise _too_many(name, line, path)
    try:
        pieces = parser.split(body, with_parser=True)
    except parser.ParseError as exc:
        message, index = error_parts(exc)
        if index is None:
            index = _code_end(body, 0, len(body.rstrip(_PG_SPACE)))
        at_line, column = positions(start + index)
        raise MigrationSyntaxError(str(path), at_line, column, message) from None
    if len(pieces) > MAX_STATEMENTS:
        raise _too_many(name, line, path)
    statements: list[Statement] = []
    for first, last in _locate(body, pieces):
        sql = body[first:last]
        at_line, column = positions(start + first)
        control = transaction_control(sql)
        if control is not None:
            raise refuse_transaction_control(control, str(path), at_line, column)
        statements.append(Statement(sql, at_line, column, len(statements) + 1))
    return tuple(statements)


def _surely_too_many(body: str) -> bool:
    """Whether the section certainly holds more than MAX_STATEMENTS, known without parsing.

    n statements need at least n - 1 semicolons; when there are more semicolons than the
    limit, the scanner counts statements (cheaply, but it splits BEGIN ATOMIC bodies, so its
    count only decides when there is none).
    """
    if body.count(";") < MAX_STATEMENTS:
        return False
    try:
        count = len(parser.split(body, with_parser=False))
    except parser.ParseError:
        return False  # the parser reports it, with its position
    return count > MAX_STATEMENTS and _ATOMIC.search(body) is None


def _too_many(name: str, line: int, path: Path) -> BadInput:
    return BadInput(
        f"{path}:{line}: the `-- migrate:{name}` section holds more than "
        f"{MAX_STATEMENTS:,} statements, the most one section may hold.",
        SPLIT_HINT,
    )


# -- locating statements ---------------------------------------------------------------------
#
# pglast's split returns each statement's text stripped of whitespace. Its character
# positions (only_slices=True) cost a scan of every multi-byte character after each one,
# so a section of many statements followed by non-ASCII text took minutes; the texts alone
# cost nothing. Each is found again by skipping what lies between two statements, which is
# only whitespace, semicolons and comments, and checked against the text.

_BLANKS = re.compile(r"[\s;]*")  # whitespace as str.strip() sees it, and semicolons
_NEWLINE = re.compile(r"[\n\r]")  # a line comment's end
_COMMENT_MARKS = re.compile(r"/\*|\*+/")  # inside a block comment: nest, or close
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ODD_DOLLAR = re.compile(r"\$[A-Za-z0-9_]*[^\x00-\x7f]")  # a dollar-quote tag, maybe non-ASCII


def _locate(body: str, pieces: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) in body of each statement pglast split, without surrounding comments."""
    found: list[tuple[int, int]] = []
    index = 0
    for piece in pieces:
        token = _skip_gap(body, index)
        if not body.startswith(piece, token):  # libpg_query 17 starts it at its first token
            return _locate_slowly(body)
        index = _unstrip(body, token + len(piece))
        found.append((token, _code_end(body, token, index)))
    return found


def _locate_slowly(body: str) -> list[tuple[int, int]]:
    """What _locate gives, from pglast's own positions: a net, should libpg_query ever start
    a statement elsewhere (the tests make sure it is not needed)."""
    found = []
    for piece in parser.split(body, with_parser=True, only_slices=True):
        token, end = _skip_gap(body, piece.start), _unstrip(body, piece.stop)
        found.append((token, _code_end(body, token, end)))
    return found


def _skip_gap(text: str, index: int) -> int:
    """Where the next token starts, past whitespace, semicolons and comments from index."""
    while True:
        index = _past(_BLANKS, text, index)
        if text.startswith("--", index):
            newline = _NEWLINE.search(text, index)
            index = newline.start() if newline else len(text)
        elif text.startswith("/*", index):
            index = _block_comment_end(text, index)
        else:
            return index


def _past(pattern: re.Pattern[str], text: str, index: int) -> int:
    """Where a run of what pattern (which matches the empty string too) matches ends."""
    match = pattern.match(text, index)
    return match.end() if match else index


def _block_comment_end(text: str, index: int) -> int:
    """Where the /* comment */ starting at index ends; they nest, as PostgreSQL's scanner has it."""
    depth = 0
    for mark in _COMMENT_MARKS.finditer(text, index + 2):
        if mark[0] == "/*":
            depth += 1
        elif depth == 0:
            return mark.end()
        else:
            depth -= 1
    return len(text)


def _unstrip(text: str, stop: int) -> int:
    """Undo pglast stripping what Python calls whitespace but PostgreSQL does not.

    pglast ends a statement before its trailing ``str.isspace()`` characters, but to
    PostgreSQL a no-break or ideographic space (U+00A0, U+3000, ...) belongs to the
    identifier it follows, like any other non-ASCII character.
    """
    end = stop
    while end < len(text) and text[end].isspace():
        end += 1
        if text[end - 1] not in _PG_SPACE:
            stop = end
    return stop


def _code_end(text: str, first: int, last: int) -> int:
    """Where the last token of text[first:last] ends: before the comments that follow it.

    libpg_query lists the comments of a text, each with the offset where the token before it
    ends; the comments at the end share the offset of the last token. pglast turns offsets
    into character positions with a scan of the multi-byte characters after each, so it is
    given the text with non-ASCII characters replaced by an ASCII letter, which scans the same
    way (non-ASCII characters are identifier characters to PostgreSQL) unless one is part of
    a dollar-quote tag.
    """
    piece = text[first:last]
    if "--" not in piece and "/*" not in piece:
        return last
    if not piece.isascii() and _ODD_DOLLAR.search(piece) is None:
        piece = _NON_ASCII.sub("g", piece)
    try:
        comments = parser.comments(piece)
    except parser.ParseError:
        return last
    if not comments:
        return last
    tail = comments[-1].match_location
    index = _skip_space(piece, tail)
    for comment in (c.str for c in comments if c.match_location == tail):
        if not piece.startswith(comment, index):
            return last
        index = _skip_space(piece, index + len(comment))
    return first + tail if index >= len(piece) else last


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in _PG_SPACE:
        index += 1
    return index
