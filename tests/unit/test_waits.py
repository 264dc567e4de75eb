"""The lock conflict matrix the wait explanations rely on."""

from __future__ import annotations

from console.core.locks import conflicts, lock_mode


def test_lock_conflict_matrix_matches_postgresql() -> None:
    assert lock_mode("ShareUpdateExclusiveLock") == "SHARE UPDATE EXCLUSIVE"
    assert lock_mode("AccessShareLock") == "ACCESS SHARE"
    assert not conflicts("SHARE UPDATE EXCLUSIVE", "ACCESS SHARE")
    assert conflicts("SHARE UPDATE EXCLUSIVE", "SHARE ROW EXCLUSIVE")
    assert conflicts("ACCESS EXCLUSIVE", "ACCESS SHARE")
    assert not conflicts("ROW EXCLUSIVE", "ROW EXCLUSIVE")
    assert conflicts("SHARE", "ROW EXCLUSIVE")
    assert conflicts("ExclusiveLock", "ExclusiveLock")  # a virtualxid wait
    assert conflicts("unknown", "ACCESS SHARE")  # outside the table: counted
