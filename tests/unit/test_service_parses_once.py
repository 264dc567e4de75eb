"""A run from the console plans, checks and launches one migration file: it is parsed once
while it stays the same file, and read again once it is edited."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from console.core import migration_file
from console.core.service import ConsoleService
from console.settings import resolve_connection
from tests.helpers import SHIPPED


@pytest.fixture
def service(tmp_path: Path) -> ConsoleService:
    (tmp_path / "migrations").mkdir()
    shutil.copy(SHIPPED, tmp_path / "migrations" / SHIPPED.name)
    settings = resolve_connection("postgresql://app@db.invalid/app", env={})
    return ConsoleService(settings, tmp_path / "migrations", tmp_path / "history.toml", "me")


def test_a_file_is_parsed_once_while_it_is_unchanged(
    service: ConsoleService, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[Path] = []
    real = migration_file.parse_migration

    def counting(path: Path) -> object:
        parsed.append(path)
        return real(path)

    monkeypatch.setattr(migration_file, "parse_migration", counting)
    name = SHIPPED.stem
    plan = service.plan(name)  # the confirmation
    first = service.migration(name)  # the checks before launching
    assert service.migration(name) is first  # the request for the runner
    assert len(parsed) == 1
    assert plan.section.statements[0].statement.sql == first.up.statements[0].sql  # type: ignore[union-attr]

    path = service.migrations_dir / SHIPPED.name
    path.write_text(path.read_text().replace("ANALYZE scheduled_tasks;", ""))
    edited = service.migration(name)
    assert len(parsed) == 2
    assert edited is not first
    assert len(edited.up.statements) == len(first.up.statements) - 1  # type: ignore[union-attr]
