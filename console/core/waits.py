"""Why a migration waits: the lock tree around its session, and one sentence about it.

The tree has the migration's session at its root (depth 0); what it waits for
above it (depth -1, and their blockers at -2, ...), and the sessions queued
behind it below (depth 1, 2, ...). Every blocker of a session appears.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from console.connection import MONITOR, RUN, application_name
from console.core.durations import age, duration
from console.core.locks import conflicts, lock_mode
from console.db import activity, catalog
from console.db.activity import LockEdge, LockWait, Session
from console.db.connect import close_quietly, connect
from console.settings import ConnectionSettings

MAX_DEPTH = 8
IDLE_WAITS = ("Client", "Activity")  # waiting for its client, or a background idle loop
CIC_WAIT_PHASES = ("waiting for writers", "waiting for old snapshots", "waiting for readers")


@dataclass(frozen=True)
class TreeNode:
    session: Session
    depth: int  # < 0: the root waits on it; 0: the root; > 0: it waits on the root
    edges: tuple[LockEdge, ...] = ()  # how this node waits on its parent / its parent on it


@dataclass(frozen=True)
class WaitReport:
    root_pid: int | None
    sessions: list[Session]
    edges: list[LockEdge] = field(default_factory=list)
    progress: catalog.IndexProgress | None = None
    tree: list[TreeNode] = field(default_factory=list)
    reason: str = ""
    wait: LockWait | None = None  # the lock the root waits for, and since when

    @property
    def direct_blockers(self) -> tuple[int, ...]:
        return tuple(sorted(n.session.pid for n in self.tree if n.depth == -1))

    @property
    def blocking_root(self) -> set[int]:
        return {n.session.pid for n in self.tree if n.depth < 0}

    @property
    def queued_behind_root(self) -> set[int]:
        return {n.session.pid for n in self.tree if n.depth > 0}


def build_tree(
    sessions: Sequence[Session], root_pid: int, extra_blockers: Sequence[int] = ()
) -> list[TreeNode]:
    """Ancestors (blockers, deepest first), the root, then everything queued behind it."""
    by_pid = {s.pid: s for s in sessions}
    root = by_pid.get(root_pid)
    if root is None:
        return []
    above: list[TreeNode] = []
    seen = {root_pid}

    def climb(pid: int, depth: int) -> None:
        s = by_pid.get(pid)
        blockers = list(s.blocked_by) if s else []
        if pid == root_pid:
            blockers += [p for p in extra_blockers if p not in blockers]
        for b in blockers:
            if b in seen or b not in by_pid or depth > MAX_DEPTH:
                continue
            seen.add(b)
            climb(b, depth + 1)
            above.append(TreeNode(by_pid[b], -depth))

    climb(root_pid, 1)
    above.sort(key=lambda n: n.depth)
    below: list[TreeNode] = []

    def descend(pid: int, depth: int) -> None:
        for s in sessions:
            if pid in s.blocked_by and s.pid not in seen and depth <= MAX_DEPTH:
                seen.add(s.pid)
                below.append(TreeNode(s, depth))
                descend(s.pid, depth + 1)

    descend(root_pid, 1)
    return [*above, TreeNode(root, 0), *below]


def describe(s: Session) -> str:
    """pid, application, user, client, state (and for how long), transaction age, last query."""
    state = s.state or "?"
    if s.idle_in_transaction:
        state = f"{state} for {age(s.state_age_s)}"
    xact = f", transaction open {age(s.xact_age_s)}" if s.xact_age_s is not None else ""
    query = " ".join(s.query.split())[:80]
    return (
        f"pid {s.pid} ({s.application_name or 'no application'}, user {s.role}, from {s.client}, "
        f"{state}{xact}; last query: {query or '-'})"
    )


def explain(report: WaitReport) -> str:
    """One sentence: what the root waits for and who holds it."""
    root = next((n.session for n in report.tree if n.depth == 0), None)
    if root is None:
        return ""
    direct = [n.session for n in report.tree if n.depth == -1]
    p = report.progress
    if p is not None and p.phase.startswith(CIC_WAIT_PHASES):
        holder = next(
            (n.session for n in report.tree if n.session.pid == p.current_locker_pid), None
        )
        who = describe(holder) if holder else f"pid {p.current_locker_pid or '?'}"
        why = (
            "every transaction that wrote to the table must finish first"
            if "writers" in p.phase
            else "every transaction older than the build must finish first, even one that "
            "never touched the table"
        )
        return (
            f"CREATE INDEX CONCURRENTLY (pid {root.pid}) is {p.phase} "
            f"({p.lockers_done} of {p.lockers_total} done): {why}; now waiting for {who}."
            f"{_waited(report.wait)}"
        )
    queued = len(report.queued_behind_root)
    tail = f" {queued} session(s) are queued behind it." if queued else ""
    if not direct:
        # Waiting for its client (idle, idle in transaction) or on its own work is not a
        # wait on anyone; an IO or LWLock wait is worth naming.
        if root.wait_event_type and root.wait_event_type not in IDLE_WAITS:
            event = f"{root.wait_event_type}:{root.wait_event}"
            return f"pid {root.pid} waits on {event} (no lock holder).{tail}"
        return f"pid {root.pid} is not waiting for a lock.{tail}"
    parts = []
    for holder in direct:
        edges = [e for e in report.edges if e.waiter == root.pid and e.holder == holder.pid]
        what = ""
        if edges:
            e = edges[0]
            target = f" on {e.relation}" if e.relation else f" ({e.locktype})"
            what = f" holds {e.holds}{target} while pid {root.pid} wants {e.wants};"
        parts.append(f"{describe(holder)}{what}")
    holders = " and ".join(parts).rstrip(";")
    return f"pid {root.pid} waits for {holders}.{_waited(report.wait)}{tail}"


def _waited(wait: LockWait | None) -> str:
    if wait is None or wait.waited_s is None:
        return ""
    return f" It has waited {duration(wait.waited_s)}."


def run_session_pid(sessions: Sequence[Session], migration: str | None = None) -> int | None:
    """A running migration's own session, found by the application name every run sets."""
    prefix = application_name(RUN, migration)
    found = [s.pid for s in sessions if s.application_name.startswith(prefix)]
    return found[0] if found else None


async def analyse(
    conn: asyncpg.Connection,
    root_pid: int | None,
    extra_blockers: Sequence[int] = (),
    sessions: list[Session] | None = None,
) -> WaitReport:
    """The sessions, and, when a root is given, its lock tree, progress and explanation.

    ``extra_blockers`` count as blocking the root even when it does not wait now: the
    sessions that made a retried statement give up, while the run pauses before retrying.
    ``sessions``: the ones a report just read (to find the root), not read again."""
    if sessions is None:
        sessions = await activity.sessions(conn)
    if root_pid is None:
        return WaitReport(None, sessions)
    progress = await catalog.progress(conn, root_pid)
    wait = await activity.lock_wait(conn, root_pid)
    extra = list(extra_blockers)
    if progress and progress.current_locker_pid:
        extra.append(progress.current_locker_pid)
    tree = build_tree(sessions, root_pid, extra)
    waiters = [n.session.pid for n in tree if n.session.waiting]
    holders = [n.session.pid for n in tree]
    blocked_by = {s.pid: set(s.blocked_by) for s in sessions}
    edges = [
        LockEdge(e.waiter, e.holder, e.locktype, lock_mode(e.wants), lock_mode(e.holds), e.relation)
        for e in await activity.lock_edges(conn, waiters, holders)
        if e.holder in blocked_by.get(e.waiter, set())
        and e.holder != e.waiter
        and conflicts(lock_mode(e.wants), lock_mode(e.holds))
    ]
    report = WaitReport(root_pid, sessions, edges, progress, tree, wait=wait)
    return WaitReport(root_pid, sessions, edges, progress, tree, explain(report), wait)


async def report_for(
    settings: ConnectionSettings, pid: int | None = None, migration: str | None = None
) -> WaitReport:
    """One look on a monitor session of its own: the sessions, and the lock tree of
    ``pid``, else of ``migration``'s running session (none: no tree)."""
    conn = await connect(settings, MONITOR)
    try:
        sessions = await activity.sessions(conn)
        root = pid or run_session_pid(sessions, migration)
        return await analyse(conn, root, sessions=sessions)
    finally:
        await close_quietly(conn)
