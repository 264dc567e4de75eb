"""squawk findings located in migration files, and what happens without squawk."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from console.core import lint
from console.core.lint import UNAVAILABLE, lint_file, squawk_executable

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "migrations" / "add_composite_indexes_20251123.sql"

needs_squawk = pytest.mark.skipif(squawk_executable() is None, reason="squawk is not installed")


def write(tmp_path: Path, text: str, name: str = "m.sql") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def at(text: str, line: int, column: int) -> str:
    """The text from a 1-based line and character column on."""
    return text.split("\n")[line - 1][column - 1 :]


@needs_squawk
def test_non_concurrent_create_index_is_reported_where_it_is(tmp_path: Path) -> None:
    text = (
        "-- An index, built the blocking way.\n"
        "-- migrate:up\n"
        "SET search_path = public;\n"
        "\n"
        "  CREATE INDEX idx_a ON t (a);\n"
        "-- migrate:down\n"
        "DROP INDEX IF EXISTS idx_a;\n"
    )
    findings = lint_file(write(tmp_path, text))
    rules = {f.rule: f for f in findings}
    found = rules["require-concurrent-index-creation"]
    assert found.level == "warning"
    assert (found.line, found.column) == (5, 3)
    assert at(text, found.line, found.column).startswith("CREATE INDEX idx_a")
    assert "concurrently" in found.help.lower()
    assert rules["require-concurrent-index-deletion"].line == 7
    assert "syntax-error" not in rules  # the dbmate markers are plain comments to squawk


@needs_squawk
def test_columns_are_characters_not_bytes(tmp_path: Path) -> None:
    text = "-- migrate:up\nSELECT 'ééé', '🎉'; ALTER TABLE t ADD COLUMN b bigint NOT NULL;\n"
    findings = lint_file(write(tmp_path, text))
    required = [f for f in findings if f.rule == "adding-required-field"]
    assert len(required) == 1
    assert required[0].line == 2
    assert at(text, 2, required[0].column).startswith("ADD COLUMN b")


@needs_squawk
def test_ignore_leaves_rules_out(tmp_path: Path) -> None:
    path = write(tmp_path, "-- migrate:up\nCREATE INDEX i ON t (a);\n")
    everything = {f.rule for f in lint_file(path)}
    assert {"require-concurrent-index-creation", "require-lock-timeout"} <= everything
    some = {f.rule for f in lint_file(path, ignore=["require-lock-timeout", "no-such-rule"])}
    assert some == everything - {"require-lock-timeout"}


@needs_squawk
def test_shipped_file_has_only_timeout_findings() -> None:
    findings = lint_file(SHIPPED)
    assert findings, "squawk reports the missing timeouts on the first index build"
    assert {f.rule for f in findings} <= {"require-lock-timeout", "require-statement-timeout"}
    assert lint_file(SHIPPED, ignore=["require-lock-timeout", "require-statement-timeout"]) == ()


@needs_squawk
def test_clean_file_has_no_findings(tmp_path: Path) -> None:
    assert lint_file(write(tmp_path, "-- migrate:up\nSELECT 1;\n")) == ()


def test_missing_squawk_is_a_single_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lint, "squawk_executable", lambda: None)
    findings = lint_file(write(tmp_path, "-- migrate:up\nCREATE INDEX i ON t (a);\n"))
    assert len(findings) == 1
    assert (findings[0].rule, findings[0].level) == (UNAVAILABLE, "warning")
    assert "not installed" in findings[0].message


def fake_squawk(tmp_path: Path, script: str) -> str:
    exe = tmp_path / "fake-squawk"
    exe.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(exe)


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("echo 'error: invalid value' >&2; exit 2", "invalid value"),
        ("echo 'not json'; exit 1", "exit status 1"),
    ],
)
def test_failing_squawk_is_a_single_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str, words: str
) -> None:
    exe = fake_squawk(tmp_path, script)
    monkeypatch.setattr(lint, "squawk_executable", lambda: exe)
    (finding,) = lint_file(write(tmp_path, "-- migrate:up\nSELECT 1;\n"))
    assert finding.rule == UNAVAILABLE
    assert words in finding.message


def test_slow_squawk_times_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exe = fake_squawk(tmp_path, "exec sleep 10")
    monkeypatch.setattr(lint, "squawk_executable", lambda: exe)
    (finding,) = lint_file(write(tmp_path, "-- migrate:up\nSELECT 1;\n"), timeout=0.5)
    assert finding.rule == UNAVAILABLE
    assert "did not finish within 0.5s" in finding.message


def test_unreadable_file_is_a_single_warning(tmp_path: Path) -> None:
    (finding,) = lint_file(tmp_path / "missing.sql")
    assert finding.rule == UNAVAILABLE


def test_json_is_mapped_to_findings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    report = (
        '[{"file":"m.sql","line":1,"column":13,"level":"Error","message":"m",'
        '"help":null,"rule_name":"some-rule","column_end":12,"line_end":1}]'
    )
    exe = fake_squawk(tmp_path, f"cat > /dev/null; echo '{report}'; exit 1")
    monkeypatch.setattr(lint, "squawk_executable", lambda: exe)
    text = "-- migrate:up\nSELECT 'é'; x\n"
    (finding,) = lint_file(write(tmp_path, text))
    assert (finding.rule, finding.level, finding.message, finding.help) == (
        "some-rule",
        "error",
        "m",
        "",
    )
    # squawk's line 1 / byte 13 is the "x" after the 2-byte "é": line 2, character 13
    assert (finding.line, finding.column) == (2, 13)
    assert at(text, 2, 13) == "x"
