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
the whole file (``console.core.split`` splits and locates them).

A file over MAX_FILE_BYTES is refused before it is read, a section over MAX_STATEMENTS
before it is parsed: parsing and planning cost grows with both. Statements that control the
transaction (BEGIN, COMMIT, SAVEPOINT, SET TRANSACTION, ...) are refused too: the console
owns it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from console.core.model import SECTIONS, UP, Migration, Section
from console.errors import BadInput

MAX_FILE_BYTES = 5 * 1024 * 1024  # checked with stat() before the file is read

_MARKER = re.compile(r"--\s*migrate:(?P<name>\S*)(?P<options>.*)")
_OPTION = re.compile(r"(?P<key>[A-Za-z_]+):(?P<value>\S+)")
_BOOL = {"true": True, "false": False}
_MARKERS_HINT = (
    "Start sections with `-- migrate:up`, `-- migrate:down`, `-- migrate:verify` or "
    "`-- migrate:compare`, optionally followed by `transaction:false`."
)


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


def _refuse_odd_name(path: Path) -> None:
    """A file name with bytes that are not UTF-8 (Python keeps them as lone surrogates)
    names a migration history.toml cannot record, nor the run lock take: the console's
    Run did nothing, unsaid."""
    from console.connection import as_text, is_text

    if not is_text(path.stem):
        raise BadInput(
            f"The name of {as_text(str(path))} holds bytes that are not UTF-8: history.toml "
            "could not record its runs, so it is not run.",
            "Rename the file with a name in UTF-8.",
        )


def parse_migration_text(text: str, path: Path) -> Migration:
    """Parse the text of a migration file; ``path`` names it in messages and in the result."""
    # The SQL parser is loaded here, not with the module: `run` finds the file and forks
    # its runner before it loads anything that heavy (core/run/handoff.py).
    from console.core.split import Positions, split_section

    _check_size(len(text.encode("utf-8", "surrogatepass")), path)
    _refuse_odd_name(path)
    _refuse_nul(text, path)
    markers = _find_markers(text, path)
    if not any(m.name == UP for m in markers):
        raise BadInput(f"{path}:1: the file has no `-- migrate:up` section.", _MARKERS_HINT)
    positions = Positions(text)
    sections = {
        m.name: Section(
            name=m.name,
            statements=split_section(
                text, positions, path, name=m.name, line=m.line, start=m.body_start, end=m.body_end
            ),
            line=m.line,
            transaction=m.transaction,
        )
        for m in markers
    }
    return Migration(name=path.stem, path=path, sections=sections)


def _refuse_nul(text: str, path: Path) -> None:
    """A NUL byte: PostgreSQL takes none in a statement, and the SQL parser reads a
    statement as a C string, so it would stop there and drop what follows unsaid."""
    nul = text.find("\x00")
    if nul < 0:
        return
    line = text.count("\n", 0, nul) + 1
    column = nul - (text.rfind("\n", 0, nul) + 1) + 1
    raise BadInput(
        f"{path}:{line}:{column}: a NUL byte. PostgreSQL takes none in SQL, and the parser "
        "would stop reading there: the statements after it would not be run.",
        "Remove it (a file saved as UTF-16, or with binary data pasted in, has them).",
    )


def _check_size(size: int, path: Path) -> None:
    if size > MAX_FILE_BYTES:
        from console.core.split import SPLIT_HINT

        raise BadInput(
            f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB ({size:,} bytes), "
            "the most a migration file may hold.",
            SPLIT_HINT,
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
