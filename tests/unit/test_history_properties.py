"""history.toml under pressure: many records, any content, writes cut short at any point."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.connection import mask as mask_url
from console.core.history import HistoryStore, RunRecord, StatementRecord
from console.core.history import store as store_mod
from console.errors import HistoryError

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PASSWORDS = ["abc", "postgres", "p@ss/w#rd?", "Ünïcödé-pw", "x", "s3cr3t" * 10, "app", "1234"]


def record(i: int, password: str, status: str = "succeeded") -> RunRecord:
    started = T0 + timedelta(minutes=i)
    return RunRecord(
        migration=f"m{i % 7}",
        action="run",
        status=status,
        started_at=started,
        finished_at=None if status == "running" else started + timedelta(seconds=3),
        executed_by=f"app@host{i}",
        database=mask_url(f"postgresql://app:{quote(password, safe='')}@db{i}.example:5432/app"),
        statements=[StatementRecord(1, 11, "CREATE INDEX CONCURRENTLY i ON t (a)", "succeeded")],
        run_id=f"run-{i}",
        notes=f"note {i}",
    )


def test_a_hundred_records_never_rewrite_an_earlier_one(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_text("# a person's comment\n\n[[migrations]]\nmigration = 'm0'\nnotes = 'mine'\n")
    store = HistoryStore(path)
    for i in range(100):
        before = path.read_text()
        password = PASSWORDS[i % len(PASSWORDS)]
        store.start_run(record(i, password, "running"))  # the living record
        store.finish_run(record(i, password))
        after = path.read_text()
        # Everything the file held before this run is still there, byte for byte,
        # apart from the migration row the run updates (its status and result).
        kept = before.split("[[runs]]", 1)[1] if "[[runs]]" in before else ""
        assert kept in after
        assert after.startswith("# a person's comment\n")
        for pw in {PASSWORDS[j % len(PASSWORDS)] for j in range(i + 1)}:
            assert f"app:{quote(pw, safe='')}@" not in after
    data = store.load()
    assert [r.run_id for r in data.runs] == [f"run-{i}" for i in range(100)]
    assert data.row("m0") is not None and data.row("m0").notes == "mine"


text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)


@st.composite
def records(draw: st.DrawFn) -> RunRecord:
    i = draw(st.integers(0, 10_000))
    status = draw(st.sampled_from(["succeeded", "failed", "cancelled", "interrupted"]))
    started = T0 + timedelta(seconds=draw(st.integers(0, 10**7)))
    return RunRecord(
        migration=draw(text.filter(str.strip)),
        action=draw(st.sampled_from(["run", "rollback"])),
        status=status,
        started_at=started,
        finished_at=started + timedelta(milliseconds=draw(st.integers(0, 10**7))),
        executed_by=draw(text),
        environment=draw(st.dictionaries(st.sampled_from(["project", "service"]), text)),
        database=draw(text),
        statements=[
            StatementRecord(n, draw(st.integers(1, 999)), draw(text), draw(text), 0.5, 1)
            for n in range(1, draw(st.integers(0, 3)) + 1)
        ],
        error=draw(text) if status in ("failed", "interrupted") else None,
        notes=draw(text),
        run_id=f"r{i}-{draw(st.integers(0, 10**6))}",
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(records(), min_size=1, max_size=6, unique_by=lambda r: r.run_id))
def test_any_sequence_of_records_reads_back_as_written(
    tmp_path: Path, runs: list[RunRecord]
) -> None:
    path = tmp_path / f"h{abs(hash(tuple(r.run_id for r in runs)))}.toml"
    store = HistoryStore(path)
    for r in runs:
        store.append_run(r)
    back = tomllib.loads(path.read_text())["runs"]
    assert back == [r.to_toml() for r in runs]
    path.unlink()


# -- writes cut short ------------------------------------------------------------------------


def _writer(path: str, count: int) -> None:
    store = HistoryStore(Path(path))
    for i in range(count):
        store.append_run(record(i, "pw"))


@pytest.mark.parametrize("delay_ms", [1, 5, 10, 20, 35, 50, 80, 120])
def test_a_writer_killed_at_any_point_leaves_a_whole_file(tmp_path: Path, delay_ms: int) -> None:
    """SIGKILL a process appending runs; what is on disk is always a whole file holding
    the first k records (the old file or the new one, never a mix)."""
    path = tmp_path / "history.toml"
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_writer, args=(str(path), 10_000))
    proc.start()
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:  # its first write landed
        time.sleep(0.001)
    proc.join(delay_ms / 1000)  # then let it write for a while, and kill it mid-stride
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    runs = HistoryStore(path).load().runs
    assert [r.run_id for r in runs] == [f"run-{i}" for i in range(len(runs))]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 1  # a temporary file of the cut write, never the target


@pytest.mark.parametrize("step", ["write", "fsync", "replace"])
def test_a_write_failing_at_any_step_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    path = tmp_path / "history.toml"
    store = HistoryStore(path)
    store.append_run(record(0, "pw"))
    before = path.read_bytes()

    def fail(*_args: object, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    if step == "write":
        real = os.fdopen

        def short_file(fd: int, mode: str = "r", *a: object, **kw: object) -> object:
            fh = real(fd, mode, *a, **kw)  # type: ignore[call-overload]
            fh.write = fail  # the disk fills in the middle of the write
            return fh

        monkeypatch.setattr(store_mod.os, "fdopen", short_file)
    else:
        monkeypatch.setattr(store_mod.os, step, fail)
    with pytest.raises(HistoryError, match="No space left on device"):
        store.append_run(record(1, "pw"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".history.toml.lock", "history.toml"]
