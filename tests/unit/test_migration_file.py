"""Parsing migration files: sections, statement splitting, positions, syntax errors,
transaction control and the size limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.core import migration_file, split
from console.core.migration_file import (
    MAX_FILE_BYTES,
    list_migrations,
    parse_migration,
    parse_migration_text,
    resolve_migration,
)
from console.core.model import Migration, Statement
from console.core.split import MAX_STATEMENTS
from console.errors import BadInput, MigrationSyntaxError, TransactionControl

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "migrations" / "add_composite_indexes_20251123.sql"
FILE = Path("m.sql")


def up(body: str) -> tuple[Statement, ...]:
    migration = parse_migration_text("-- migrate:up\n" + body, FILE)
    assert migration.up is not None
    return migration.up.statements


def position(text: str, needle: str, start: int = 0) -> tuple[int, int]:
    """1-based (line, character column) of needle in text, computed independently."""
    index = text.index(needle, start)
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def syntax_error(text: str) -> MigrationSyntaxError:
    with pytest.raises(MigrationSyntaxError) as caught:
        parse_migration_text(text, FILE)
    return caught.value


# -- the shipped migration ------------------------------------------------------------------


def test_shipped_migration_sections_and_counts() -> None:
    m = parse_migration(SHIPPED)
    assert m.name == "add_composite_indexes_20251123"
    assert m.path == SHIPPED
    counts = {name: len(s.statements) for name, s in m.sections.items()}
    assert counts == {"up": 7, "down": 7, "verify": 1, "compare": 4}
    assert m.sections["up"].transaction is False
    assert m.sections["down"].transaction is False
    assert m.sections["verify"].transaction is True
    assert m.sections["compare"].transaction is True


def test_shipped_migration_positions_match_the_file() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    m = parse_migration(SHIPPED)
    assert m.up is not None
    assert m.down is not None
    assert m.up.line == position(text, "-- migrate:up")[0]
    assert m.down.line == position(text, "-- migrate:down")[0]
    first = m.up.statements[0]
    assert first.sql.startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_conversation_")
    assert (first.line, first.column) == position(text, "CREATE INDEX CONCURRENTLY")
    assert [s.number for s in m.up.statements] == list(range(1, 8))
    for section in m.sections.values():
        for s in section.statements:
            assert not s.sql.endswith(";")
            assert not s.sql.startswith("--")
            lines = text.split("\n")
            assert lines[s.line - 1][s.column - 1 :].startswith(s.sql.split("\n")[0])


def test_shipped_compare_statements_drop_their_leading_comments() -> None:
    m = parse_migration(SHIPPED)
    compare = m.sections["compare"].statements
    assert [s.sql.split()[0] for s in compare] == ["SELECT"] * 4
    assert "Contact conversation history" not in compare[0].sql


# -- splitting --------------------------------------------------------------------------------


def test_dollar_quoted_function_body_with_semicolons_is_one_statement() -> None:
    body = (
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n  PERFORM 1; PERFORM 2;\n  RETURN 3;\nEND;\n$fn$;\n"
        "SELECT f();\n"
    )
    stmts = up(body)
    assert len(stmts) == 2
    assert stmts[0].sql.endswith("END;\n$fn$")
    assert "PERFORM 1; PERFORM 2;" in stmts[0].sql
    assert stmts[1].sql == "SELECT f()"
    assert stmts[1].line == 8


def test_do_block_survives_whole() -> None:
    stmts = up("DO $$\nBEGIN\n  RAISE NOTICE 'a;b';\n  PERFORM 1;\nEND\n$$;\nANALYZE t;\n")
    assert [s.sql.split()[0] for s in stmts] == ["DO", "ANALYZE"]
    assert stmts[0].sql == "DO $$\nBEGIN\n  RAISE NOTICE 'a;b';\n  PERFORM 1;\nEND\n$$"


def test_semicolons_inside_strings_and_comments() -> None:
    stmts = up("SELECT 'a;b', \"x;y\" FROM t; -- c;d\nSELECT /* e; f */ 2;\n")
    assert [s.sql for s in stmts] == ["SELECT 'a;b', \"x;y\" FROM t", "SELECT /* e; f */ 2"]


def test_escape_strings() -> None:
    stmts = up("SELECT E'it\\'s; fine';\nSELECT E'\\\\';\nSELECT 3;")
    assert [s.sql for s in stmts] == ["SELECT E'it\\'s; fine'", "SELECT E'\\\\'", "SELECT 3"]


def test_nested_dollar_quotes_with_tags() -> None:
    body = (
        "CREATE FUNCTION g() RETURNS void LANGUAGE plpgsql AS $outer$\n"
        "BEGIN EXECUTE $inner$ SELECT 1; SELECT 2; $inner$; END\n"
        "$outer$;\n"
        "SELECT $x$;$x$;\n"
    )
    stmts = up(body)
    assert len(stmts) == 2
    assert "$inner$ SELECT 1; SELECT 2; $inner$; END" in stmts[0].sql
    assert stmts[1].sql == "SELECT $x$;$x$"


def test_statement_without_final_semicolon() -> None:
    stmts = up("SELECT 1;\nSELECT 2\n\n-- trailing comment\n")
    assert [s.sql for s in stmts] == ["SELECT 1", "SELECT 2"]


def test_trailing_comment_before_semicolon_is_not_part_of_the_statement() -> None:
    assert [s.sql for s in up("SELECT 1 -- one\n;\n")] == ["SELECT 1"]


def test_multiple_statements_on_one_line() -> None:
    stmts = up("SELECT 1; SELECT 22;SELECT 333;")
    assert [(s.sql, s.line, s.column, s.number) for s in stmts] == [
        ("SELECT 1", 2, 1, 1),
        ("SELECT 22", 2, 11, 2),
        ("SELECT 333", 2, 21, 3),
    ]


def test_empty_statements_are_skipped() -> None:
    assert [s.sql for s in up(";;\nSELECT 1;;\n;SELECT 2;")] == ["SELECT 1", "SELECT 2"]


def test_non_ascii_before_a_statement_gives_character_positions() -> None:
    text = (
        "-- Größe, café, ☕ and 🎉 before the marker\n"
        "-- migrate:up\n"
        "-- überall Ünïcödé 🎉🎉\n"
        "/* ñ ü 🎉 */ SELECT 'ä;ö' AS ü;  SELECT 'é' AS x; SELECT 3;\n"
    )
    stmts = parse_migration_text(text, FILE).sections["up"].statements
    assert [s.sql for s in stmts] == ["SELECT 'ä;ö' AS ü", "SELECT 'é' AS x", "SELECT 3"]
    assert (stmts[0].line, stmts[0].column) == position(text, "SELECT 'ä")
    assert (stmts[0].line, stmts[0].column) == (4, 13)
    assert (stmts[1].line, stmts[1].column) == position(text, "SELECT 'é'")
    assert (stmts[2].line, stmts[2].column) == position(text, "SELECT 3")


def test_crlf_line_endings() -> None:
    text = "-- migrate:up transaction:false\r\nSELECT 1;\r\n\r\nSELECT 2;\r\n-- migrate:down\r\n"
    m = parse_migration_text(text, FILE)
    assert m.sections["up"].transaction is False
    assert [(s.sql, s.line) for s in m.sections["up"].statements] == [
        ("SELECT 1", 2),
        ("SELECT 2", 4),
    ]
    assert m.sections["down"].statements == ()


# -- sections ---------------------------------------------------------------------------------


def test_sections_options_and_lines() -> None:
    text = (
        "-- header comment; SELECT ignored;\n"
        "-- migrate:up transaction:false\n"
        "SELECT 1;\n"
        "--migrate:down   transaction:true\n"
        "SELECT 2;\n"
        "-- migrate:verify\n"
        "-- migrate:compare\n"
        "SELECT 3; SELECT 4;\n"
    )
    m = parse_migration_text(text, FILE)
    assert isinstance(m, Migration)
    assert m.name == "m"
    assert list(m.sections) == ["up", "down", "verify", "compare"]
    assert [(s.line, s.transaction, len(s.statements)) for s in m.sections.values()] == [
        (2, False, 1),
        (4, True, 1),
        (6, True, 0),
        (7, True, 2),
    ]
    assert m.sections["compare"].statements[1].number == 2


def test_sql_before_the_first_marker_is_ignored() -> None:
    m = parse_migration_text("SELECT 0;\n-- migrate:up\nSELECT 1;\n", FILE)
    assert m.up is not None
    assert [s.sql for s in m.up.statements] == ["SELECT 1"]


def test_sections_may_come_in_any_order() -> None:
    m = parse_migration_text("-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n", FILE)
    assert m.up is not None
    assert m.down is not None
    assert [s.sql for s in m.up.statements] == ["SELECT 1"]
    assert m.up.statements[0].line == 4


def test_empty_up_section_is_allowed() -> None:
    m = parse_migration_text("-- migrate:up\n-- nothing yet\n", FILE)
    assert m.up is not None
    assert m.up.statements == ()


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("-- migrate:up transaction:maybe\n", "m.sql:1:", "transaction:maybe"),
        ("-- migrate:up\n-- migrate:down timeout:5s\n", "m.sql:2:", "unknown option `timeout:5s`"),
        ("-- migrate:up nonsense\n", "m.sql:1:", "unknown option `nonsense`"),
        ("-- migrate:up\nSELECT 1;\n-- migrate:sideways\n", "m.sql:3:", "unknown section"),
        ("-- migrate: up\n", "m.sql:1:", "unknown section"),
        ("-- migrate:up\n-- migrate:down\n-- migrate:up\n", "m.sql:3:", "appears twice"),
        ("-- migrate:down\nSELECT 1;\n", "m.sql:1:", "no `-- migrate:up` section"),
        ("SELECT 1;\n", "m.sql:1:", "no `-- migrate:up` section"),
    ],
)
def test_bad_structure_is_bad_input_naming_file_and_line(text: str, where: str, words: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_migration_text(text, FILE)
    assert not isinstance(caught.value, MigrationSyntaxError)
    assert caught.value.message.startswith(where)
    assert words in caught.value.message


def test_duplicate_section_names_the_first_line() -> None:
    with pytest.raises(BadInput, match=r"first at line 1"):
        parse_migration_text("-- migrate:up\nSELECT 1;\n-- migrate:up\n", FILE)


# -- syntax errors ----------------------------------------------------------------------------


def test_syntax_error_points_at_the_token_in_the_whole_file() -> None:
    text = "-- intro\n-- migrate:up\nSELECT 1;\n  SELEC 2;\n"
    err = syntax_error(text)
    assert (err.line, err.column) == position(text, "SELEC 2") == (4, 3)
    assert err.path == "m.sql"
    assert str(err).startswith('m.sql:4:3: syntax error at or near "SELEC"')


def test_syntax_error_in_a_later_section_with_non_ascii_before_it() -> None:
    text = "-- migrate:up\nSELECT 1;\n-- migrate:down\n-- ünïcödé 🎉\nSELECT 'ééé', '🎉' fro x;\n"
    err = syntax_error(text)
    assert (err.line, err.column) == position(text, "x;")
    assert (err.line, err.column) == (5, 23)


def test_syntax_error_at_end_of_input_points_after_the_last_token() -> None:
    text = "-- migrate:up\nSELECT 1;\nSELECT (1 +\n  2\n-- a comment\n\n-- migrate:down\n"
    err = syntax_error(text)
    assert "end of input" in str(err)
    assert (err.line, err.column) == (4, 4)


def test_unterminated_dollar_quote_points_at_its_start() -> None:
    text = "-- migrate:up\nSELECT 1;\nDO $body$ BEGIN NULL; END;\n"
    err = syntax_error(text)
    assert (err.line, err.column) == position(text, "$body$")
    assert "unterminated dollar-quoted string" in str(err)


# -- files and names --------------------------------------------------------------------------


def test_parse_migration_reads_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "x_1.sql"
    path.write_bytes("\ufeff-- migrate:up\nSELECT 'é';\n".encode())
    m = parse_migration(path)
    assert m.name == "x_1"
    assert m.up is not None
    assert [(s.sql, s.line, s.column) for s in m.up.statements] == [("SELECT 'é'", 2, 1)]


def test_parse_migration_unreadable_files_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        parse_migration(tmp_path / "missing.sql")
    latin1 = tmp_path / "latin1.sql"
    latin1.write_bytes("-- migrate:up\nSELECT 'é';\n".encode("latin-1"))
    with pytest.raises(BadInput, match="not valid UTF-8"):
        parse_migration(latin1)


def test_list_migrations_sorted_sql_files_only(tmp_path: Path) -> None:
    for name in ("b_2.sql", "a_1.sql", "c_3.txt", "z.sql.bak"):
        (tmp_path / name).write_text("-- migrate:up\n")
    (tmp_path / "dir.sql").mkdir()
    assert [p.name for p in list_migrations(tmp_path)] == ["a_1.sql", "b_2.sql"]
    with pytest.raises(BadInput, match="does not exist"):
        list_migrations(tmp_path / "nowhere")


def test_resolve_migration_by_stem_filename_or_path(tmp_path: Path) -> None:
    target = tmp_path / "add_x_1.sql"
    target.write_text("-- migrate:up\n")
    assert resolve_migration("add_x_1", tmp_path) == target
    assert resolve_migration("add_x_1.sql", tmp_path) == target
    assert resolve_migration(str(target), tmp_path / "elsewhere") == target


def test_resolve_migration_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        resolve_migration("nope", tmp_path)
    assert str(caught.value) == (
        f"No migration named nope in {tmp_path}: run `migration-console status` to list them."
    )


# -- transaction control ----------------------------------------------------------------------

CONTROL_HINT = (
    "Remove it: a section runs in one transaction, or statement by statement with "
    "`transaction:false`."
)


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("BEGIN", "BEGIN"),
        ("begin work", "BEGIN"),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE", "BEGIN"),
        ("START TRANSACTION READ ONLY", "START TRANSACTION"),
        ("COMMIT", "COMMIT"),
        ("COMMIT AND CHAIN", "COMMIT"),
        ("END", "END"),
        ("end transaction", "END"),
        ("ROLLBACK", "ROLLBACK"),
        ("ABORT", "ABORT"),
        ("SAVEPOINT s", "SAVEPOINT"),
        ("RELEASE s", "RELEASE SAVEPOINT"),
        ("RELEASE SAVEPOINT s", "RELEASE SAVEPOINT"),
        ("ROLLBACK TO s", "ROLLBACK TO SAVEPOINT"),
        ("ROLLBACK TO SAVEPOINT s", "ROLLBACK TO SAVEPOINT"),
        ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"),
        ("COMMIT PREPARED 'x'", "COMMIT PREPARED"),
        ("ROLLBACK PREPARED 'x'", "ROLLBACK PREPARED"),
        ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SET TRANSACTION"),
        ("SET LOCAL TRANSACTION READ ONLY", "SET TRANSACTION"),
        ("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", "SET TRANSACTION SNAPSHOT"),
        ("SET transaction_isolation = 'serializable'", "SET transaction_isolation"),
        ("SET LOCAL Transaction_Read_Only TO on", "SET transaction_read_only"),
    ],
)
def test_transaction_control_is_refused_where_it_stands(sql: str, name: str) -> None:
    text = f"-- migrate:up\nSELECT 1;\n  /* why */ {sql};\nSELECT 2;\n"
    with pytest.raises(TransactionControl) as caught:
        parse_migration_text(text, FILE)
    err = caught.value
    assert isinstance(err, MigrationSyntaxError)  # so exit code 2, file:line:column
    assert (err.path, err.line, err.column) == ("m.sql", *position(text, sql))
    assert err.message.startswith(f"m.sql:3:13: {name} controls the transaction, which the ")
    assert err.hint == CONTROL_HINT


def test_transaction_control_message_in_full() -> None:
    with pytest.raises(TransactionControl) as caught:
        parse_migration_text("-- migrate:up transaction:false\nBEGIN;\nCOMMIT;\n", FILE)
    assert str(caught.value) == (
        "m.sql:2:1: BEGIN controls the transaction, which the console owns. " + CONTROL_HINT
    )


def test_set_transaction_is_refused_even_where_it_would_be_harmless() -> None:
    with pytest.raises(TransactionControl) as caught:
        parse_migration_text("-- migrate:up\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n", FILE)
    assert caught.value.message == (
        "m.sql:2:1: SET TRANSACTION controls the transaction, which the console owns: "
        "it is refused even where it would be harmless, to keep one simple rule."
    )


@pytest.mark.parametrize("section", ["up", "down", "verify", "compare"])
def test_transaction_control_is_refused_in_every_section(section: str) -> None:
    marker = "" if section == "up" else f"-- migrate:{section}\n"
    text = f"-- migrate:up\nSELECT 1;\n{marker}SELECT 2;\nCOMMIT;\n"
    with pytest.raises(TransactionControl) as caught:
        parse_migration_text(text, FILE)
    assert (caught.value.line, caught.value.column) == position(text, "COMMIT")


@pytest.mark.parametrize(
    "sql",
    [
        "DO $$ BEGIN COMMIT; END $$",  # PL/pgSQL transaction control: left to the author
        "CALL refresh_all()",  # a procedure may COMMIT too: left alone, like DO
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$",
        "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
        "SET lock_timeout = '5s'",
        "PREPARE q AS SELECT 1",
        'SELECT 1 AS "begin", CASE WHEN true THEN 1 END AS "commit"',
    ],
)
def test_statements_that_merely_look_like_transaction_control_are_kept(sql: str) -> None:
    assert [s.sql for s in up(f"{sql};\n")] == [sql]


# -- limits ---------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.sql"
    with path.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_text", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(BadInput) as caught:
        parse_migration(path)
    assert caught.value.message == (
        f"{path} is larger than 5 MiB (5,242,881 bytes), the most a migration file may hold."
    )
    assert caught.value.hint == "Split it into several migrations."


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.sql"
    head = "-- migrate:up\nSELECT 1;\n-- "
    path.write_bytes((head + "x" * (MAX_FILE_BYTES - len(head) - 1) + "\n").encode())
    assert path.stat().st_size == MAX_FILE_BYTES
    m = parse_migration(path)
    assert m.up is not None
    assert [s.sql for s in m.up.statements] == ["SELECT 1"]


def test_a_file_that_grew_after_stat_is_refused_all_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migration_file, "MAX_FILE_BYTES", 64)
    path = tmp_path / "growing.sql"
    path.write_text("-- migrate:up\n" + "SELECT 1;\n" * 10)
    monkeypatch.setattr(Path, "stat", lambda self, **kwargs: os.stat_result((0,) * 10))
    with pytest.raises(BadInput, match=r"larger than 0 MiB \(65 bytes\)"):
        parse_migration(path)


def test_text_over_the_size_limit_counts_utf8_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    fits = "-- migrate:up\nSELECT 'abcdefghijk';\n"
    monkeypatch.setattr(migration_file, "MAX_FILE_BYTES", len(fits.encode()))
    assert parse_migration_text(fits, FILE).up is not None
    too_big = fits.replace("abc", "äöü")  # as many characters, 3 more bytes
    with pytest.raises(BadInput, match=r"m\.sql is larger than .* \(39 bytes\)"):
        parse_migration_text(too_big, FILE)


def test_sections_of_the_most_statements_are_read() -> None:
    body = "SELECT 1;\n" * MAX_STATEMENTS
    m = parse_migration_text(f"-- migrate:up\n{body}-- migrate:down\n{body}", FILE)
    assert [len(s.statements) for s in m.sections.values()] == [MAX_STATEMENTS] * 2


def test_a_section_over_the_statement_limit_is_refused_before_it_is_parsed() -> None:
    # the syntax error at the end is never reached: the count is known from the scanner
    body = "SELECT 1;\n" * (MAX_STATEMENTS + 1) + "SELEC 2;\n"
    with pytest.raises(BadInput) as caught:
        parse_migration_text(f"-- header\n-- migrate:up\nSELECT 0;\n-- migrate:down\n{body}", FILE)
    assert not isinstance(caught.value, MigrationSyntaxError)
    assert caught.value.message == (
        "m.sql:4: the `-- migrate:down` section holds more than 10,000 statements, "
        "the most one section may hold."
    )
    assert caught.value.hint == "Split it into several migrations."


def test_begin_atomic_bodies_do_not_count_as_statements() -> None:
    atomic = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
    fits = atomic + "SELECT 1;\n" * (MAX_STATEMENTS - 1)
    assert len(up(fits)) == MAX_STATEMENTS
    with pytest.raises(BadInput, match="more than 10,000 statements"):
        up(fits + "SELECT 2;\n")


def test_semicolons_outside_statements_or_inside_one_do_not_count() -> None:
    do = "DO $$ BEGIN " + "PERFORM 1; " * (MAX_STATEMENTS + 1) + "END $$;\n"
    empty = ";\n" * (MAX_STATEMENTS + 1) + "/* ; */ -- ;\n"
    stmts = up(do + empty + "SELECT 1;\n")
    assert [s.sql.split()[0] for s in stmts] == ["DO", "SELECT"]


def test_many_statements_then_non_ascii_text_are_located_without_pglast_offsets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pglast's character offsets scan every multi-byte character after each statement:
    # minutes for this section; the statements are found from their texts instead
    def slow(body: str) -> None:
        raise AssertionError("statements located through pglast's offsets")

    monkeypatch.setattr(split, "_locate_slowly", slow)
    text = (
        "-- migrate:up\n" + "SELECT 'é' /* ü */ -- ☕\n;\n" * 3000 + "-- 日本語のコメント\n" * 3000
    )
    stmts = parse_migration_text(text, FILE).sections["up"].statements
    assert len(stmts) == 3000
    assert (stmts[-1].sql, stmts[-1].line, stmts[-1].column) == ("SELECT 'é'", 6000, 1)


def test_a_no_break_space_ending_an_identifier_stays_in_the_statement() -> None:
    # to PostgreSQL it is part of the identifier; Python's strip() would drop it
    stmts = up("SELECT 1 AS a\u3000;\nSELECT 2 AS b\u00a0 -- c\n")
    assert [s.sql for s in stmts] == ["SELECT 1 AS a\u3000", "SELECT 2 AS b\u00a0"]


def test_a_nul_byte_is_refused_where_it_is(tmp_path: Path) -> None:
    # The SQL parser stops at a NUL: the statement after it would be dropped unsaid, and
    # the run would say it succeeded having run only the first.
    path = tmp_path / "nul.sql"
    path.write_bytes(
        b"-- migrate:up\nANALYZE users;\x00\nANALYZE call_costs;\n-- migrate:down\nANALYZE users;\n"
    )
    with pytest.raises(BadInput, match=r"nul\.sql:2:15: a NUL byte") as caught:
        parse_migration(path)
    assert "would not be run" in caught.value.message


def test_a_file_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    # Its runs could be recorded nowhere and its run lock not taken: the console's Run
    # did nothing, with nothing said.
    path = tmp_path / "odd\udcffname.sql"  # the byte \xff, as Python reads it from a name
    path.write_text("-- migrate:up\nANALYZE users;\n")
    with pytest.raises(BadInput, match="odd\ufffdname.sql holds bytes that are not UTF-8"):
        parse_migration(path)
