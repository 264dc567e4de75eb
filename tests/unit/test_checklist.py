"""The seed's checklist as data: defaults, sidecar files, derived states and sign-offs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.core.checklist import (
    DEFAULT_ITEMS,
    ItemDef,
    ItemState,
    checklist_state,
    index_usage_available_at,
    load_checklist,
    sign_off,
)
from console.core.history import HistoryData, HistoryStore, RunRecord
from console.core.measure import AFTER, BASELINE, Measurement, QueryMeasurement, save_measurement
from console.errors import BadInput

NAME = "add_composite_indexes_20251123"
T0 = datetime(2026, 11, 24, 1, 28, 0, tzinfo=UTC)
SEED_CHECKLIST = [
    "Verify current database performance metrics (baseline)",
    "Create database backup (Railway automatic backups are enabled)",
    "Execute migration",
    "Run verification",
    "Test affected API endpoints (contacts, messages, costs, tasks)",
    "Monitor query performance improvements",
    "Check index usage after 24 hours: pg_stat_user_indexes",
    "Update the history with execution timestamp and results",
]


def run(action: str = "run", status: str = "succeeded", at: datetime = T0, **kw: Any) -> RunRecord:
    fields: dict[str, Any] = dict(
        migration=NAME,
        action=action,
        status=status,
        started_at=at,
        finished_at=at + timedelta(seconds=0.6),
        executed_by="ana",
    )
    fields.update(kw)
    return RunRecord(**fields)


def data(*runs: RunRecord, **raw: Any) -> HistoryData:
    return HistoryData(runs=list(runs), raw=raw)


def measurement_row(phase: str, at: datetime) -> dict[str, Any]:
    return {"migration": NAME, "phase": phase, "at": at, "queries": []}


def signoff_row(item: str, state: str, at: datetime, **kw: Any) -> dict[str, Any]:
    return {"migration": NAME, "item": item, "state": state, "by": "bo", "at": at, **kw}


def states(d: HistoryData, now: datetime = T0 + timedelta(hours=1)) -> dict[str, ItemState]:
    return {s.key: s for s in checklist_state(DEFAULT_ITEMS, d, NAME, now)}


# -- definitions ---------------------------------------------------------------------------


def test_defaults_follow_the_seed_in_order(tmp_path: Path) -> None:
    items = load_checklist(tmp_path / f"{NAME}.sql")  # no sidecar file
    assert [i.title for i in items] == SEED_CHECKLIST
    assert [(i.key, i.kind, i.action) for i in items] == [
        ("baseline", "auto", "baseline"),
        ("backup", "manual", None),
        ("execute", "auto", "execute"),
        ("verify", "auto", "verify"),
        ("endpoints", "manual", None),
        ("monitor", "auto", "monitor"),
        ("index_usage", "auto", "index_usage"),
        ("history", "auto", "history"),
    ]
    assert all(i.help for i in items)


def test_sidecar_checklist_is_used(tmp_path: Path) -> None:
    (tmp_path / "m.checklist.toml").write_text(
        '[[items]]\nkey = "backup"\ntitle = "Snapshot the volume"\nkind = "manual"\n'
        'help = "Use the Railway dashboard."\n\n'
        '[[items]]\nkey = "run"\ntitle = "Run it"\nkind = "auto"\naction = "execute"\n'
    )
    assert load_checklist(tmp_path / "m.sql") == [
        ItemDef("backup", "Snapshot the volume", "manual", None, "Use the Railway dashboard."),
        ItemDef("run", "Run it", "auto", "execute", ""),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[items]]\nkey = "a"\ntitle = "A"\nkind = "auto"\naction = "dance"\n', "unknown action"),
        ('[[items]]\nkey = "a"\ntitle = "A"\nkind = "sometimes"\n', "kind 'sometimes'"),
        (
            '[[items]]\nkey = "a"\ntitle = "A"\nkind = "manual"\n'
            '[[items]]\nkey = "a"\ntitle = "B"\nkind = "manual"\n',
            "appears twice",
        ),
        ('[[items]]\nkey = "a"\ntitle = "A"\nkind = "auto"\n', "no `action`"),
        ('[[items]]\nkey = "a"\nkind = "manual"\n', "non-empty `title`"),
        ('[[items]]\nkey = "a"\ntitle = "A"\nkind = "manual"\ntitel = "x"\n', "unknown field"),
        ("title = 'no items'\n", "at least one"),
        ("[[items]\n", "not valid TOML"),
    ],
)
def test_bad_sidecar_is_bad_input_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "m.checklist.toml").write_text(text)
    with pytest.raises(BadInput, match=message) as info:
        load_checklist(tmp_path / "m.sql")
    assert "m.checklist.toml" in info.value.message


def test_a_sidecar_that_is_no_regular_file_is_refused_not_waited_for(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "m.checklist.toml")  # reading it would wait for a writer
    with pytest.raises(BadInput, match="is not a regular file"):
        load_checklist(tmp_path / "m.sql")


# -- derived states ------------------------------------------------------------------------


def test_nothing_done_yet() -> None:
    got = states(data())
    assert {k: s.state for k, s in got.items()} == dict.fromkeys(got, "pending")
    assert got["execute"].detail == "not run yet"
    assert got["index_usage"].available is False and got["monitor"].available is False


def test_successful_run() -> None:
    d = data(
        run(),
        measurements=[
            measurement_row(BASELINE, T0 - timedelta(minutes=10)),
            measurement_row(AFTER, T0 + timedelta(minutes=5)),
        ],
    )
    got = states(d)
    assert got["execute"].state == "done"
    assert got["execute"].detail == "run succeeded 2026-11-24 01:28 UTC in 0.6 s"
    assert got["execute"].by == "ana"
    assert got["history"].state == "done" and "2026-11-24 01:28 UTC" in got["history"].detail
    assert got["baseline"].state == "done"
    assert got["monitor"].state == "done"
    assert got["verify"].state == "pending" and got["backup"].state == "pending"


def test_after_measurement_older_than_the_run_does_not_count() -> None:
    d = data(run(), measurements=[measurement_row(AFTER, T0 - timedelta(days=2))])
    assert states(d)["monitor"].state == "pending"


@pytest.mark.parametrize(
    ("status", "kw", "detail"),
    [
        ("failed", {"error": "lock timeout. Try again later."}, "run failed"),
        ("cancelled", {}, "run cancelled 2026-11-24 01:28 UTC after 0.6 s"),
    ],
)
def test_failed_or_cancelled_run_fails_execute(status: str, kw: dict, detail: str) -> None:
    got = states(data(run(status=status, **kw)))["execute"]
    assert got.state == "failed"
    assert got.detail.startswith(detail)
    if kw:
        assert got.detail.endswith(": lock timeout.")


def test_rollback_after_a_run_makes_execute_pending_again() -> None:
    d = data(run(), run("rollback", at=T0 + timedelta(hours=2)))
    got = states(d, now=T0 + timedelta(days=3))
    assert got["execute"].state == "pending"
    assert got["execute"].detail == "rolled back at 2026-11-24 03:28 UTC"
    assert got["history"].state == "done" and "rollback succeeded" in got["history"].detail
    assert index_usage_available_at(d, NAME) is None
    assert got["index_usage"].available is False


def test_failed_rollback_leaves_the_run_done() -> None:
    d = data(run(), run("rollback", "failed", at=T0 + timedelta(hours=2)))
    assert states(d)["execute"].state == "done"


def test_index_usage_available_24_hours_after_the_run() -> None:
    d = data(run())
    ready = T0 + timedelta(seconds=0.6) + timedelta(hours=24)
    assert index_usage_available_at(d, NAME) == ready
    early = states(d, now=ready - timedelta(minutes=1))["index_usage"]
    assert (early.state, early.available) == ("pending", False)
    assert early.detail == "available from 2026-11-25 01:28 UTC"
    later = states(d, now=ready)["index_usage"]
    assert (later.state, later.available, later.detail) == ("pending", True, "available now")
    done = data(run(), signoffs=[signoff_row("index_usage", "done", ready + timedelta(hours=1))])
    assert states(done, now=ready + timedelta(hours=2))["index_usage"].state == "done"


def test_signoffs_latest_wins_and_override_only_when_newer() -> None:
    d = data(
        run(),
        signoffs=[
            signoff_row("backup", "done", T0 - timedelta(hours=1), note="snapshot 7"),
            signoff_row("backup", "pending", T0 - timedelta(hours=3)),  # older: loses
            signoff_row("verify", "done", T0 - timedelta(hours=1)),  # before the run: stale
            signoff_row("endpoints", "failed", T0 + timedelta(minutes=1)),
            signoff_row("execute", "skipped", T0 - timedelta(days=1)),  # older than the run
            signoff_row("baseline", "skipped", T0),  # no measurement: the sign-off counts
            {"migration": "other", "item": "backup", "state": "done", "at": T0, "by": "x"},
            {"migration": NAME, "item": "backup", "state": "nonsense", "at": T0},
        ],
    )
    got = states(d)
    assert (got["backup"].state, got["backup"].by, got["backup"].note) == (
        "done",
        "bo",
        "snapshot 7",
    )
    assert got["backup"].detail.startswith("marked done by bo 2026-11-24 00:28 UTC")
    assert got["verify"].state == "pending"
    assert got["endpoints"].state == "failed"
    assert got["execute"].state == "done"
    assert got["baseline"].state == "skipped"


def test_verify_signoff_after_the_run_counts() -> None:
    d = data(run(), signoffs=[signoff_row("verify", "failed", T0 + timedelta(minutes=1))])
    assert states(d)["verify"].state == "failed"


# -- persistence ---------------------------------------------------------------------------


def test_signoffs_round_trip_through_history_keeping_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_text(
        "# header\n\ncustom = 1\n\n[[migrations]]\n"
        f'migration = "{NAME}"\nstatus = "pending"\n\n[[custom_rows]]\nx = "y"\n'
    )
    store = HistoryStore(path)
    store.append_run(run())
    sign_off(store, NAME, "backup", by="ana", note="Railway backup 02:00", at=T0)
    sign_off(store, NAME, "backup", by="bo", state="pending", at=T0 + timedelta(minutes=1))
    sign_off(store, NAME, "endpoints", by="bo", at=T0 + timedelta(minutes=2), defs=DEFAULT_ITEMS)
    save_measurement(
        store,
        Measurement(
            NAME, BASELINE, T0 - timedelta(hours=1), [QueryMeasurement(1, "SELECT 1", 0.5, 0.1)]
        ),
    )
    loaded = store.load()
    assert loaded.raw["custom"] == 1 and loaded.raw["custom_rows"] == [{"x": "y"}]
    assert path.read_text().startswith("# header")
    assert [s["item"] for s in loaded.raw["signoffs"]] == ["backup", "backup", "endpoints"]
    got = {s.key: s for s in checklist_state(DEFAULT_ITEMS, loaded, NAME, T0)}
    assert (got["backup"].state, got["backup"].by) == ("pending", "bo")
    assert got["endpoints"].state == "done" and got["endpoints"].at == T0 + timedelta(minutes=2)
    assert got["baseline"].state == "done" and got["execute"].state == "done"


def test_sign_off_refuses_bad_states_and_resetting_auto_items(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.toml")
    with pytest.raises(BadInput, match="must be one of"):
        sign_off(store, NAME, "backup", by="ana", state="finished")
    with pytest.raises(BadInput, match="Only manual items"):
        sign_off(store, NAME, "execute", by="ana", state="pending", defs=DEFAULT_ITEMS)
    with pytest.raises(BadInput, match="no item 'nope'"):
        sign_off(store, NAME, "nope", by="ana", defs=DEFAULT_ITEMS)
    assert not (tmp_path / "history.toml").exists()
