"""history.toml: round trips, keeps everything it did not write, refuses what it cannot read."""

from __future__ import annotations

import multiprocessing
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from console.core.history import HistoryStore, RunRecord, StatementRecord
from console.core.history import atomic as history_mod
from console.errors import HistoryError

NAME = "add_composite_indexes_20251123"
T0 = datetime(2025, 11, 23, 19, 5, 1, 123456, tzinfo=UTC)
SHIPPED = Path(__file__).resolve().parents[2] / "history.toml"


def make_run(**kw: object) -> RunRecord:
    fields: dict[str, object] = dict(
        migration=NAME,
        action="run",
        status="succeeded",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=12.3456),
        executed_by="ana@laptop",
        environment={"project": "bollalabz", "environment": "production", "service": ""},
        database="postgresql://app:***@db.example.com:5432/app",
        statements=[
            StatementRecord(
                1,
                11,
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a\n    ON t (a);",
                "succeeded",
                10.0,
                1,
            ),
            StatementRecord(2, 24, "ANALYZE t", "succeeded", 2.3456, 2),
        ],
        notes="first try",
    )
    fields.update(kw)
    return RunRecord(**fields)  # type: ignore[arg-type]


def test_shipped_file_has_the_seed_row() -> None:
    data = HistoryStore(SHIPPED).load()
    assert [(r.date, r.migration, r.status, r.executed_by, r.notes) for r in data.migrations] == [
        (date(2025, 11, 23), NAME, "pending", "", "Ready for execution on production database")
    ]
    assert data.runs == []


def test_round_trip(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.toml")
    store.append_run(make_run())
    run = store.load().runs[0]
    assert run.started_at == T0.replace(microsecond=123000)
    assert run.started_at is not None
    assert run.started_at.tzinfo is not None
    assert run.finished_at == (T0 + timedelta(seconds=12.3456)).replace(microsecond=469000)
    assert run.duration_s == 12.346
    assert run.environment == {"project": "bollalabz", "environment": "production"}
    assert run.database == "postgresql://app:***@db.example.com:5432/app"
    assert run.statements[0].sql == "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON t (a);"
    assert (run.statements[1].duration_s, run.statements[1].attempts) == (2.346, 2)
    assert run.error is None
    assert run.invalid_indexes == []
    assert run.notes == "first try"
    raw = tomllib.loads((tmp_path / "history.toml").read_text())
    assert "error" not in raw["runs"][0]
    assert "invalid_indexes" not in raw["runs"][0]


def test_long_sql_is_cut_to_200_characters(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.toml")
    sql = "SELECT " + ",\n   ".join(f"col_{i}" for i in range(100))
    store.append_run(make_run(statements=[StatementRecord(1, 1, sql, "succeeded")]))
    assert store.load().runs[0].statements[0].sql == " ".join(sql.split())[:200]


def test_append_keeps_earlier_rows_unknown_keys_and_header(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_text(
        SHIPPED.read_text()
        + (
            '[meta]\nreviewer = "bo"\n\n'
            "[[migrations]]\n"
            'migration = "older_one"\nstatus = "applied"\nticket = "OPS-12"\n\n'
            "[[runs]]\n"
            'migration = "older_one"\nhostname = "box"\n\n'  # missing most keys: still loads
            "[[signoffs]]\n"
            'migration = "older_one"\nby = "cy"\n'
        )
    )
    store = HistoryStore(path)
    before = store.load()
    assert before.runs[0].extra == {"hostname": "box"}
    assert before.runs[0].started_at is None
    store.append_run(make_run())
    store.append_run(
        make_run(
            action="rollback",
            started_at=T0 + timedelta(hours=25),
            finished_at=T0 + timedelta(hours=25, seconds=1),
        )
    )
    text = path.read_text()
    assert text.startswith("# Migration history, kept by the migration console")
    raw = tomllib.loads(text)
    assert raw["meta"] == {"reviewer": "bo"}
    assert raw["signoffs"] == [{"migration": "older_one", "by": "cy"}]
    assert raw["runs"][0] == {"migration": "older_one", "hostname": "box"}
    assert [r["action"] for r in raw["runs"][1:]] == ["run", "rollback"]
    rows = {r["migration"]: r for r in raw["migrations"]}
    assert rows["older_one"] == {"migration": "older_one", "status": "applied", "ticket": "OPS-12"}
    assert len(raw["migrations"]) == 2


@pytest.mark.parametrize(
    ("kw", "status", "result"),
    [
        ({}, "applied", "run succeeded in 12.3 s"),
        ({"action": "rollback"}, "rolled back", "rollback succeeded in 12.3 s"),
        (
            {"status": "failed", "error": 'relation "call_costs" does not exist. More detail.'},
            "failed",
            'run failed: relation "call_costs" does not exist.',
        ),
        ({"status": "cancelled"}, "cancelled", "run cancelled after 12.3 s"),
    ],
)
def test_migrations_row_is_updated(tmp_path: Path, kw: dict, status: str, result: str) -> None:
    path = tmp_path / "history.toml"
    path.write_bytes(SHIPPED.read_bytes())
    store = HistoryStore(path)
    store.append_run(
        make_run(
            started_at=T0 + timedelta(days=2),
            finished_at=T0 + timedelta(days=2, seconds=12.3),
            **kw,
        )
    )
    rows = store.load().migrations
    assert len(rows) == 1
    assert (rows[0].status, rows[0].date, rows[0].executed_by, rows[0].result) == (
        status,
        date(2025, 11, 25),
        "ana@laptop",
        result,
    )
    # The person's words on the row are theirs: a run never overwrites them.
    assert rows[0].notes == "Ready for execution on production database"
    run = store.load().runs[0]
    assert run.error == kw.get("error")


def test_missing_file_is_created_and_row_added(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.toml")
    assert store.load().migrations == []
    assert store.ensure_migration_row("m1", "new") is True
    assert store.ensure_migration_row("m1", "again") is False
    rows = store.load().migrations
    assert [(r.migration, r.status, r.notes) for r in rows] == [("m1", "pending", "new")]
    store.append_run(make_run(migration="m2"))
    assert [r.migration for r in store.load().migrations] == ["m1", "m2"]


def test_update_is_generic_and_nothing_written_when_fn_raises(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    store = HistoryStore(path)
    store.update(lambda raw: raw.setdefault("signoffs", []).append({"by": "cy"}))
    assert tomllib.loads(path.read_text())["signoffs"] == [{"by": "cy"}]
    before = path.read_bytes()

    def boom(raw: dict) -> None:
        raw["signoffs"].append({"by": "dee"})
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        store.update(boom)
    assert path.read_bytes() == before
    with pytest.raises(HistoryError):  # a change that would make the file unreadable
        store.update(lambda raw: raw.update(runs={"not": "an array"}))
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[migrations]]\ndate = 2025-11-23\nstatus = "pending\n', "is not valid TOML (line 3,"),
        ("runs = 5\n", "`runs` must be an array of tables"),
        ('[runs]\nmigration = "x"\n', "`runs` must be an array of tables"),
        ("migrations = [1, 2]\n", "migrations[0] is not a table"),
        ('[[runs]]\nstarted_at = "yesterday"\n', "runs[0].started_at must be a date-time"),
        ('[[runs]]\nstatements = [{ number = "one" }]\n', "runs[0].statements[0].number must be"),
        ("[[migrations]]\ndate = 2025-11-23T10:00:00Z\n", "migrations[0].date must be a date"),
        (b"\xff\xfe[[runs]]\n", "is not UTF-8 text"),
    ],
)
def test_unreadable_file_is_refused_and_never_overwritten(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "history.toml"
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)
    store = HistoryStore(path)
    with pytest.raises(HistoryError, match="nothing was written") as info:
        store.load()
    assert message in info.value.message
    for write in (
        lambda: store.append_run(make_run()),
        lambda: store.ensure_migration_row("m1"),
        lambda: store.update(lambda raw: None),
    ):
        with pytest.raises(HistoryError):
            write()
        assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [".history.toml.lock", "history.toml"]


def test_unreadable_permissions_is_history_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.toml"
    path.write_bytes(SHIPPED.read_bytes())
    real_open = history_mod.os.open

    def denied(name: object, *args: object, **kwargs: object) -> int:
        if Path(str(name)) == path:  # as a file mode 000 is to anyone but root
            raise PermissionError(13, "Permission denied")
        return real_open(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(history_mod.os, "open", denied)
    with pytest.raises(HistoryError, match=r"cannot be read \(Permission denied\)"):
        HistoryStore(path).load()


def test_crash_during_write_leaves_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.toml"
    path.write_bytes(SHIPPED.read_bytes())
    store = HistoryStore(path)

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(history_mod.os, "replace", crash)
    with pytest.raises(HistoryError, match="could not be written .No space left on device"):
        store.append_run(make_run())
    assert path.read_bytes() == SHIPPED.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".history.toml.lock", "history.toml"]


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_bytes(SHIPPED.read_bytes())
    path.chmod(0o640)
    HistoryStore(path).append_run(make_run())
    assert path.stat().st_mode & 0o777 == 0o640


def _append_many(path: str, worker: int, count: int) -> None:
    store = HistoryStore(Path(path))
    for i in range(count):
        store.append_run(make_run(migration=f"m{worker}", notes=f"{worker}-{i}"))


def test_concurrent_appends_from_two_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_bytes(SHIPPED.read_bytes())
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 25)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    data = HistoryStore(path).load()
    notes = sorted(r.notes for r in data.runs)
    assert notes == sorted(f"{w}-{i}" for w in (1, 2) for i in range(25))
    assert sorted(r.migration for r in data.migrations) == [NAME, "m1", "m2"]


def test_nothing_is_masked_by_text_replacement(tmp_path: Path) -> None:
    # A record is written as it is built (its URL already masked where the password
    # lives); the store never searches and replaces across the file, so a short or
    # common password cannot mangle names, URLs or earlier entries.
    path = tmp_path / "history.toml"
    store = HistoryStore(path)
    store.append_run(make_run(migration="abcuser_fabcde", executed_by="abc@fabcde"))
    store.append_run(make_run(database="postgresql://abc:***@fabcde:5432/abc"))
    data = store.load()
    assert [r.migration for r in data.runs] == ["abcuser_fabcde", NAME]
    assert data.runs[0].executed_by == "abc@fabcde"
    assert data.runs[1].database == "postgresql://abc:***@fabcde:5432/abc"


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.toml")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.append_run(make_run(started_at=datetime(2025, 11, 23, 19, 0)))
    assert not (tmp_path / "history.toml").exists()


def test_no_change_means_no_write(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_text(SHIPPED.read_text() + "# a trailing comment\n")
    before = path.read_bytes()
    assert HistoryStore(path).ensure_migration_row(NAME, "x") is False
    assert path.read_bytes() == before
    fresh = HistoryStore(tmp_path / "fresh.toml")
    fresh.ensure_migration_row("m1")
    assert "runs" not in tomllib.loads((tmp_path / "fresh.toml").read_text())


def test_a_history_that_is_no_regular_file_is_refused_not_waited_for(tmp_path: Path) -> None:
    # --history naming a FIFO (reading it waited for a writer forever), a device
    # (/dev/zero never ends) or a folder: one sentence, nothing read, nothing replaced.
    import os
    import stat

    fifo = tmp_path / "history.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(HistoryError, match="is not a regular file"):
            HistoryStore(path).load()
    record = RunRecord("m", status="running", started_at=datetime(2026, 12, 2, tzinfo=UTC))
    with pytest.raises(HistoryError, match="is not a regular file"):
        HistoryStore(fifo).start_run(record)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO: never replaced by a file
    with pytest.raises(HistoryError, match="is not a regular file"):
        history_mod.write_atomically(fifo, b"x = 1\n")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_history_too_large_to_be_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    with path.open("wb") as fh:
        fh.truncate(history_mod.MAX_BYTES + 1)  # sparse: no disk used
    with pytest.raises(HistoryError, match="is larger than 64 MiB"):
        HistoryStore(path).load()


def test_a_byte_order_mark_is_named(tmp_path: Path) -> None:
    # An editor's "UTF-8 with BOM": TOML takes no BOM, and "line 1, column 1" shows
    # nothing wrong in that editor. The file is left as it is.
    path = tmp_path / "history.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SHIPPED.read_bytes())
    with pytest.raises(HistoryError) as caught:
        HistoryStore(path).load()
    assert "byte-order mark" in caught.value.hint
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_file_with_crlf_line_ends_keeps_them(tmp_path: Path) -> None:
    # A history.toml made or checked out on Windows: records written into it came with
    # bare LF line ends, a file of mixed line ends.
    path = tmp_path / "history.toml"
    path.write_bytes(SHIPPED.read_bytes().replace(b"\n", b"\r\n"))
    store = HistoryStore(path)
    store.load()
    running = make_run(status="running", finished_at=None, run_id="r1")
    store.start_run(running)  # block by block
    store.finish_run(make_run(run_id="r1"))
    store.add_action("r1", {"what": "terminate", "pid": 4})  # the whole document
    store.append("signoffs", {"migration": NAME, "by": "cy"})
    data = path.read_bytes()
    assert data.count(b"\n") > 40
    assert data.count(b"\r\n") == data.count(b"\n"), "a line ends without CR"
    back = HistoryStore(path).load()
    assert [(r.run_id, r.status, r.notes) for r in back.runs] == [("r1", "succeeded", "first try")]
    assert back.runs[0].statements[0].sql.startswith("CREATE INDEX CONCURRENTLY")


def test_a_file_with_lf_line_ends_gets_no_cr(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_bytes(SHIPPED.read_bytes())
    store = HistoryStore(path)
    store.start_run(make_run(status="running", finished_at=None, run_id="r1"))
    store.add_action("r1", {"what": "terminate", "pid": 4})
    assert b"\r" not in path.read_bytes()
