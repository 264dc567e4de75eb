"""The doctor says what an open transaction does to these migrations, by their statements."""

from __future__ import annotations

from pathlib import Path

from console.core.doctor.server import idle_consequence
from console.core.migration_file import parse_migration_text


def migration(up: str):  # type: ignore[no-untyped-def]
    return parse_migration_text(f"-- migrate:up\n{up}\n-- migrate:down\nSELECT 1;\n", Path("m.sql"))


def test_concurrent_builds_wait_for_every_transaction() -> None:
    text = idle_consequence([migration("CREATE INDEX CONCURRENTLY i ON t (a);")])
    assert text.startswith("CREATE INDEX CONCURRENTLY waits until every one of them ends")


def test_a_plain_create_index_waits_for_their_locks_not_every_transaction() -> None:
    text = idle_consequence([migration("CREATE INDEX i ON t (a);")])
    assert "CONCURRENTLY" not in text
    assert text.startswith("CREATE INDEX waits for the locks they hold")


def test_without_migrations_it_says_what_an_open_transaction_keeps() -> None:
    assert "keeps its locks and snapshot" in idle_consequence([])
