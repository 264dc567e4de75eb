"""Reading migration files: dbmate-compatible sections, split by PostgreSQL's own parser.

A migration file looks like::

    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY ...;
    -- migrate:down transaction:false
    DROP INDEX CONCURRENTLY ...;
    -- migrate:verify
    SELECT ...;
    -- migrate:compare
    SELECT ...;

Text before the first marker is ignored. Statements are split with pglast (libpg_query),
never on ``;``, so dollar-quoted bodies, strings and comments survive whole. Every
position reported (statements, syntax errors) is a 1-based line and character column in
the whole file.

A file over MAX_FILE_BYTES, or a section over MAX_STATEMENTS, is refused before it is
parsed: parsing and planning cost grows with both. Statements that control the transaction
(BEGIN, COMMIT, SAVEPOINT, SET TRANSACTION, ...) are refused too: the console owns it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from pathlib import Path

from pglast import ast, parser
from pglast.enums import TransactionStmtKind as TK

from console.core.model import SECTIONS, UP, Migration, Section, Statement
from console.errors import BadInput, MigrationSyntaxError, TransactionControl

MAX_FILE_BYTES = 5 * 1024 * 1024  # checked with stat() before the file is read
MAX_STATEMENTS = 10_000  # in one section, bounded before the section is parsed

_MARKER = re.compile(r"--\s*migrate:(?P<name>\S*)(?P<options>.*)")
_OPTION = re.compile(r"(?P<key>[A-Za-z_]+):(?P<value>\S+)")
_BOOL = {"true": True, "false": False}
_MARKERS_HINT = (
    "Start sections with `-- migrate:up`, `-- migrate:down`, `-- migrate:verify` or "
    "`-- migrate:compare`, optionally followed by `transaction:false`."
)
_SPLIT_HINT = "Split it into several migrations."
_PG_SPACE = " \t\n\r\f\v"  # what PostgreSQL's scanner skips; str.isspace() says more
_ATOMIC = re.compile(r"\bATOMIC\b", re.IGNORECASE)  # BEGIN ATOMIC bodies fool the scanner

# Transaction control: the first words that may start one, and how to name each kind.
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


class _Positions:
    """Converts character offsets in a text to 1-based (line, column)."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1


@dataclass(frozen=True)
class _Marker:
    name: str
    line: int  # 1-based line of the marker
    transaction: bool
    body_start: int  # character offset of the first line after the marker
    body_end: int = -1  # character offset where the next marker line starts


def parse_migration(path: Path) -> Migration:
    """Read and parse a migration file; BadInput when it is unreadable, too big or malformed."""
    try:
        _check_size(path.stat().st_size, path)
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # it may have grown since stat()
    except FileNotFoundError:
        raise BadInput(f"Migration file {path} does not exist.") from None
    except OSError as exc:
        raise BadInput(f"Cannot read {path}: {exc.strerror or exc}.") from None
    _check_size(len(data), path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{path} is not valid UTF-8 (byte {exc.start}).", "Save the file as UTF-8."
        ) from None
    # universal newlines, as reading in text mode would give
    return parse_migration_text(text.replace("\r\n", "\n").replace("\r", "\n"), path)


def parse_migration_text(text: str, path: Path) -> Migration:
    """Parse the text of a migration file; ``path`` names it in messages and in the result."""
    _check_size(len(text.encode("utf-8", "surrogatepass")), path)
    markers = _find_markers(text, path)
    if not any(m.name == UP for m in markers):
        raise BadInput(f"{path}:1: the file has no `-- migrate:up` section.", _MARKERS_HINT)
    positions = _Positions(text)
    sections = {
        m.name: Section(
            name=m.name,
            statements=_split(text, m, positions, path),
            line=m.line,
            transaction=m.transaction,
        )
        for m in markers
    }
    return Migration(name=path.stem, path=path, sections=sections)


def _check_size(size: int, path: Path) -> None:
    if size > MAX_FILE_BYTES:
        raise BadInput(
            f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB ({size:,} bytes), "
            "the most a migration file may hold.",
            _SPLIT_HINT,
        )


def _find_markers(text: str, path: Path) -> list[_Marker]:
    found: list[_Marker] = []
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        match = _MARKER.match(line)
        if match:
            marker = _read_marker(match, number, offset + len(line) + 1, path)
            for earlier in found:
                if earlier.name == marker.name:
                    raise BadInput(
                        f"{path}:{number}: the `-- migrate:{marker.name}` section appears twice "
                        f"(first at line {earlier.line}).",
                        "Merge the two sections into one.",
                    )
            if found:
                found[-1] = replace(found[-1], body_end=offset)
            found.append(marker)
        offset += len(line) + 1
    if found:
        found[-1] = replace(found[-1], body_end=len(text))
    return found


def _read_marker(match: re.Match[str], number: int, body_start: int, path: Path) -> _Marker:
    name = match["name"]
    if name not in SECTIONS:
        raise BadInput(
            f"{path}:{number}: unknown section `-- migrate:{name}`; "
            f"the sections are {', '.join(SECTIONS)}.",
            _MARKERS_HINT,
        )
    transaction = True
    for word in match["options"].split():
        option = _OPTION.fullmatch(word)
        if option is None or option["key"] != "transaction":
            raise BadInput(
                f"{path}:{number}: unknown option `{word}` on `-- migrate:{name}`; "
                "the only option is transaction:true or transaction:false.",
                _MARKERS_HINT,
            )
        value = option["value"].lower()
        if value not in _BOOL:
            raise BadInput(
                f"{path}:{number}: `{word}` on `-- migrate:{name}` must be "
                "transaction:true or transaction:false.",
                _MARKERS_HINT,
            )
        transaction = _BOOL[value]
    return _Marker(name, number, transaction, body_start)


# -- splitting a section ---------------------------------------------------------------------


def _split(text: str, marker: _Marker, positions: _Positions, path: Path) -> tuple[Statement, ...]:
    """The statements of a section's body, located in the whole text."""
    start = min(marker.body_start, len(text))
    body = text[start : marker.body_end]
    if _surely_too_many(body):
        raise _too_many(marker, path)
    try:
        pieces = parser.split(body, with_parser=True)
    except parser.ParseError as exc:
        message, index = _error_parts(exc)
        if index is None:
            index = _code_end(body, 0, len(body.rstrip(_PG_SPACE)))
        line, column = positions(start + index)
        raise MigrationSyntaxError(str(path), line, column, message) from None
    if len(pieces) > MAX_STATEMENTS:
        raise _too_many(marker, path)
    statements: list[Statement] = []
    for first, last in _locate(body, pieces):
        sql = body[first:last]
        line, column = positions(start + first)
        control = transaction_control(sql)
        if control is not None:
            raise refuse_transaction_control(control, str(path), line, column)
        statements.append(Statement(sql, line, column, len(statements) + 1))
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


def _too_many(marker: _Marker, path: Path) -> BadInput:
    return BadInput(
        f"{path}:{marker.line}: the `-- migrate:{marker.name}` section holds more than "
        f"{MAX_STATEMENTS:,} statements, the most one section may hold.",
        _SPLIT_HINT,
    )


def _error_parts(exc: parser.ParseError) -> tuple[str, int | None]:
    """pglast's ParseError args are (message, 0-based character index or None at end of input)."""
    message = str(exc.args[0]) if exc.args else str(exc)
    index = exc.args[1] if len(exc.args) > 1 else None
    return message, index if isinstance(index, int) else None


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


# -- transaction control ---------------------------------------------------------------------


def transaction_control(sql: str, node: ast.Node | None = None) -> str | None:
    """The name of a statement that controls the transaction (BEGIN, COMMIT, SAVEPOINT,
    SET TRANSACTION, ...), else None. ``node`` is its syntax tree, when already parsed."""
    word = _FIRST_WORD.match(sql)
    first = word[0].upper() if word else ""
    if first not in _CONTROL_WORDS:
        return None
    if node is None:
        try:
            raws = parser.parse_sql(sql)
        except parser.ParseError:
            return None
        node = raws[0].stmt if len(raws) == 1 else None
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


# -- files and names -------------------------------------------------------------------------


def list_migrations(directory: Path) -> list[Path]:
    """The ``*.sql`` files in directory, sorted by name."""
    if not directory.is_dir():
        raise BadInput(
            f"The migrations directory {directory} does not exist.",
            "Pass --migrations DIR or create the directory.",
        )
    return sorted((p for p in directory.glob("*.sql") if p.is_file()), key=lambda p: p.name)


def resolve_migration(name_or_path: str, directory: Path) -> Path:
    """A migration named by file stem, filename (in directory) or path."""
    given = Path(name_or_path)
    candidates = [directory / name_or_path, directory / f"{name_or_path}.sql", given]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise BadInput(
        f"No migration named {name_or_path} in {directory}: "
        "run `migration-console status` to list them."
    )
