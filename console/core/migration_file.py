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
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from pathlib import Path

from pglast import parser

from console.core.errors import BadInput, MigrationSyntaxError
from console.core.model import SECTIONS, UP, Migration, Section, Statement

_MARKER = re.compile(r"--\s*migrate:(?P<name>\S*)(?P<options>.*)")
_OPTION = re.compile(r"(?P<key>[A-Za-z_]+):(?P<value>\S+)")
_COMMENTS = {"SQL_COMMENT", "C_COMMENT"}
_BOOL = {"true": True, "false": False}
_MARKERS_HINT = (
    "Start sections with `-- migrate:up`, `-- migrate:down`, `-- migrate:verify` or "
    "`-- migrate:compare`, optionally followed by `transaction:false`."
)


class _Positions:
    """Converts character offsets in a text to 1-based (line, column)."""

    def __init__(self, text: str):
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

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
    """Read and parse a migration file; BadInput when it is unreadable or malformed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"Migration file {path} does not exist.") from None
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{path} is not valid UTF-8 (byte {exc.start}).", "Save the file as UTF-8."
        ) from None
    except OSError as exc:
        raise BadInput(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return parse_migration_text(text, path)


def parse_migration_text(text: str, path: Path) -> Migration:
    """Parse the text of a migration file; ``path`` names it in messages and in the result."""
    markers = _find_markers(text, path)
    if not any(m.name == UP for m in markers):
        raise BadInput(f"{path}:1: the file has no `-- migrate:up` section.", _MARKERS_HINT)
    positions = _Positions(text)
    sections = {
        m.name: Section(
            name=m.name,
            statements=_split(text, m.body_start, m.body_end, positions, path),
            line=m.line,
            transaction=m.transaction,
        )
        for m in markers
    }
    return Migration(name=path.stem, path=path, sections=sections)


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


def _split(
    text: str, start: int, end: int, positions: _Positions, path: Path
) -> tuple[Statement, ...]:
    """The statements of text[start:end], located in the whole text."""
    start = min(start, len(text))
    body = text[start:end]
    try:
        slices = parser.split(body, with_parser=True, only_slices=True)
    except parser.ParseError as exc:
        message, index = _error_parts(exc)
        if index is None:
            index = _end_of_code(body)
        line, column = positions(start + index)
        raise MigrationSyntaxError(str(path), line, column, message) from None
    statements: list[Statement] = []
    for piece in slices:
        first, last = _trim_comments(body, piece.start, piece.stop)
        if first >= last:
            continue
        line, column = positions(start + first)
        statements.append(Statement(body[first:last], line, column, len(statements) + 1))
    return tuple(statements)


def _error_parts(exc: parser.ParseError) -> tuple[str, int | None]:
    """pglast's ParseError args are (message, 0-based character index or None at end of input)."""
    message = str(exc.args[0]) if exc.args else str(exc)
    index = exc.args[1] if len(exc.args) > 1 else None
    return message, index if isinstance(index, int) else None


def _trim_comments(text: str, first: int, last: int) -> tuple[int, int]:
    """Shrink text[first:last] to drop leading and trailing comments and whitespace."""
    piece = text[first:last]
    try:
        tokens = [t for t in parser.scan(piece) if t.name not in _COMMENTS]
    except parser.ParseError:
        return first, last
    if not tokens:
        return first, first
    return first + tokens[0].start, first + tokens[-1].end + 1


def _end_of_code(text: str) -> int:
    """Offset just after the last token that is not a comment (for end-of-input errors)."""
    try:
        tokens = [t for t in parser.scan(text) if t.name not in _COMMENTS]
    except parser.ParseError:
        tokens = []
    if tokens:
        return tokens[-1].end + 1
    return len(text.rstrip())


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
