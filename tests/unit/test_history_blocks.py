"""A run's record is written block by block (core/history/blocks.py): the file must come
out byte for byte as the whole-document write makes it, and anything the blocks cannot
be trusted with goes the whole-document way."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.core.history import HistoryStore, RunRecord, StatementRecord, blocks
from console.core.history import store as store_mod

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEAD = "# a person's comment\n\n[[migrations]]\nmigration = 'm0'\nnotes = 'mine'\n"
SQL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=60,
)


def record(i: int, migration: str, status: str, sql: str = "ANALYZE t") -> RunRecord:
    started = T0 + timedelta(minutes=i)
    return RunRecord(
        migration=migration,
        status=status,
        started_at=started,
        finished_at=None if status == "running" else started + timedelta(seconds=3),
        executed_by="app@host",
        database="postgresql://app:***@db/app",
        statements=[
            StatementRecord(1, 4, sql, "running" if status == "running" else "succeeded"),
            StatementRecord(2, 9, "ANALYZE u", "not run"),
        ],
        run_id=f"run-{i}",
        environment={"project": "p"},
        error="boom" if status == "failed" else None,
    )


class WholeDocument(HistoryStore):
    """The store with the block-by-block way turned off: the reference."""

    def _change(self, change: store_mod.Change, blockwise: Any) -> None:
        self.update(change)


class Counting(HistoryStore):
    """The store, counting the writes that went the whole-document way."""

    whole = 0

    def update(self, fn: store_mod.Change) -> None:
        self.whole += 1
        super().update(fn)


SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
RUN_STEPS = ["start", "statement", "finish", "fail"]
OTHER_STEPS = ["action", "signoff", "row"]


def steps(kinds: list[str]) -> st.SearchStrategy[list[tuple[str, str, str]]]:
    return st.lists(
        st.tuples(st.sampled_from(kinds), st.sampled_from(["m0", "m1", "m2"]), SQL),
        min_size=1,
        max_size=14,
    )


def _apply(store: HistoryStore, steps: list[tuple[str, str, str]]) -> None:
    live: dict[str, int] = {}
    for i, (what, migration, sql) in enumerate(steps):
        if what == "start" or migration not in live:
            live[migration] = i
            store.start_run(record(i, migration, "running", sql))
        n = live[migration]
        if what == "statement":
            store.start_run(record(n, migration, "running", sql + " -- again"))
        elif what in ("finish", "fail"):
            store.finish_run(record(n, migration, "succeeded" if what == "finish" else "failed"))
            del live[migration]
        elif what == "action":
            store.add_action(f"run-{n}", {"what": "cancel run", "at": T0, "by": "me"})
        elif what == "signoff":
            store.append("signoffs", {"item": "backup", "by": "me", "at": T0})
        elif what == "row":
            store.ensure_migration_row(migration + "x")


# The team's file has its [[migrations]] rows before any run (the shipped one does).
HEADS = [
    HEAD,
    HEAD + "\n# sign-offs\n[[signoffs]]\nitem = 'backup'\nby = 'me'\n",
    "[meta]\nowner = 'team'\n\n" + HEAD.split("\n\n", 1)[1],
]


@pytest.mark.parametrize("head", HEADS)
@given(steps=steps(RUN_STEPS))
@SETTINGS
def test_a_run_writes_what_the_whole_document_writes(
    tmp_path: Path, head: str, steps: list[tuple[str, str, str]]
) -> None:
    """Runs starting, going on and ending, several at once: byte for byte the same file."""
    a, b = _fresh(tmp_path, head)
    _apply(HistoryStore(a), steps)
    _apply(WholeDocument(b), steps)
    assert a.read_text() == b.read_text()


@pytest.mark.parametrize("head", [*HEADS, "", "# only a comment\n"])
@given(steps=steps(RUN_STEPS + OTHER_STEPS))
@SETTINGS
def test_mixed_with_other_writes_the_content_is_the_same(
    tmp_path: Path, head: str, steps: list[tuple[str, str, str]]
) -> None:
    """With the faces' actions, sign-offs and rows in between, or no [[migrations]] row
    yet (written the whole-document way, where tomlkit places blank lines by whether it
    parsed its document or built it): the same content."""
    a, b = _fresh(tmp_path, head)
    _apply(HistoryStore(a), steps)
    _apply(WholeDocument(b), steps)
    assert tomllib.loads(a.read_text()) == tomllib.loads(b.read_text())


def test_a_record_written_again_and_again_does_not_grow(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_text(HEAD)
    store = HistoryStore(path)
    store.start_run(record(0, "m0", "running"))
    store.start_run(record(1, "m1", "running"))
    sizes = set()
    for _ in range(5):
        for i, m in ((0, "m0"), (1, "m1")):
            HistoryStore(path).start_run(record(i, m, "running"))  # read from the file
            store.start_run(record(i, m, "running"))
            sizes.add(len(path.read_text()))
    assert len(sizes) == 1


def _fresh(tmp_path: Path, head: str) -> tuple[Path, Path]:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    for p in (a, b):
        p.unlink(missing_ok=True)
        if head:
            p.write_text(head)
    return a, b


def test_a_run_goes_block_by_block_once_the_file_has_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_text(HEAD)
    store = Counting(path)
    store.start_run(record(0, "m0", "running"))  # the first [[runs]]: the whole document
    store.finish_run(record(0, "m0", "succeeded"))
    assert store.whole == 1
    for i in range(1, 4):
        store.start_run(record(i, "m1", "running"))
        store.start_run(record(i, "m1", "running", "ANALYZE t -- 2"))
        store.finish_run(record(i, "m1", "succeeded"))  # a new row for m1 once, then updated
    assert store.whole == 1
    data = store.load()
    assert [r.run_id for r in data.runs] == ["run-0", "run-1", "run-2", "run-3"]
    assert [(r.migration, r.status) for r in data.migrations] == [
        ("m0", "applied"),
        ("m1", "applied"),
    ]


def test_a_header_inside_a_string_is_not_a_block(tmp_path: Path) -> None:
    text = (
        "[[migrations]]\nmigration = 'm0'\nnotes = '''\n[[runs]]\nnot a run\n'''\n\n"
        "[[runs]]\nmigration = 'm0'\nrun_id = 'r'\n\n[[runs.statements]]\nnumber = 1\n"
    )
    found = [(b.key, b.element) for b in blocks.split(text)]
    assert found == [(None, False), ("migrations", True), ("runs", True)]


def test_blocks_that_do_not_match_the_content_go_the_whole_way(tmp_path: Path) -> None:
    # An array of tables a person wrote inline: no [[runs]] blocks to edit.
    path = tmp_path / "history.toml"
    path.write_text(
        "runs = [{migration = 'm0', action = 'run', status = 'succeeded', "
        "started_at = 2026-12-01T12:00:00Z, finished_at = 2026-12-01T12:00:01Z, "
        "run_id = 'old'}]\n"
    )
    store = Counting(path)
    store.start_run(record(5, "m0", "running"))
    assert store.whole == 1
    assert [r.run_id for r in store.load().runs] == ["old", "run-5"]


def test_a_file_changed_by_someone_else_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_text(HEAD)
    store = HistoryStore(path)
    store.start_run(record(0, "m0", "running"))
    other = HistoryStore(path)
    other.start_run(record(1, "m1", "running"))
    store.finish_run(record(0, "m0", "succeeded"))
    runs = {r.run_id: r.status for r in HistoryStore(path).load().runs}
    assert runs == {"run-0": "succeeded", "run-1": "running"}


def test_a_changed_row_of_the_wrong_shape_is_refused_and_nothing_written(tmp_path: Path) -> None:
    # The blocks' way checks the shape of the rows it changed (the others were checked
    # when read): a run whose statements became a string is refused, the file untouched.
    path = tmp_path / "history.toml"
    store = HistoryStore(path)
    store.start_run(record(1, "m1", "running"))
    store.start_run(record(2, "m2", "running"))
    before = path.read_text()
    store = HistoryStore(path)

    def bad(doc: Any) -> None:
        doc["runs"][0]["statements"] = "not a list of tables"

    def blockwise(raw: dict[str, Any]) -> list[blocks.Edit]:
        return [("runs", 0, bad)]

    with pytest.raises(store_mod.HistoryError, match="statements"):
        store._change(bad, blockwise)
    assert path.read_text() == before


def test_a_store_handed_the_faces_reading_does_not_parse_the_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run's face reads and checks history.toml; its runner's store starts from that
    # reading (HistoryStore(seen=...)) while the file still holds the same text.
    path = tmp_path / "history.toml"
    seed = HistoryStore(path)
    for i in range(3):
        seed.start_run(record(i, f"m{i}", "succeeded"))
    face = HistoryStore(path)
    face.load()
    reading = face.reading()
    assert reading is not None and reading[0] == path.read_text()
    parsed: list[int] = []
    real = store_mod.tomli.loads

    def counting(text: str) -> dict[str, Any]:
        parsed.append(len(text))
        return real(text)

    monkeypatch.setattr(store_mod.tomli, "loads", counting)

    def whole_parses() -> int:
        return sum(1 for n in parsed if n >= len(reading[0]))

    HistoryStore(path, seen=reading).start_run(record(3, "m3", "running"))
    assert whole_parses() == 1  # the written file, read back; not the file it was handed
    parsed.clear()
    HistoryStore(path).start_run(record(4, "m4", "running"))
    assert whole_parses() == 2  # without it: the file read, then the written one
    # A reading the file no longer holds is not used: another write came in between.
    stale = HistoryStore(path, seen=reading)
    stale.start_run(record(5, "m5", "running"))
    ids = [r["run_id"] for r in tomllib.loads(path.read_text())["runs"]]
    assert ids == ["run-0", "run-1", "run-2", "run-3", "run-4", "run-5"]
