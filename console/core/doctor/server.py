"""Checks on the connected server: version, role, privileges on the migration's tables,
timeout defaults, idle-in-transaction sessions, INVALID indexes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

import asyncpg

from console.core.doctor.report import (
    FAIL,
    IDLE,
    INVALID_INDEXES,
    OK,
    PRIVILEGES,
    QUERY_ERRORS,
    ROLE,
    SERVER,
    SKIP,
    STAGE_TIMEOUT_S,
    TIMEOUTS,
    WARN,
    Check,
    first_line,
    guarded,
)
from console.core.durations import age
from console.core.model import Migration
from console.core.plan import plan_section
from console.core.preflight import table_problems, version_problem
from console.db import catalog, diagnostics
from console.glyphs import G

HOUR_MS = 3_600_000
_UNIT_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": HOUR_MS, "d": 24 * HOUR_MS}


async def connected_checks(
    conn: asyncpg.Connection, migrations: Sequence[Migration]
) -> list[Check]:
    try:
        info = await asyncio.wait_for(catalog.server_info(conn), STAGE_TIMEOUT_S)
    except QUERY_ERRORS as exc:
        why = f"Could not read the server's facts: {first_line(exc)}."
        checks = [Check(SERVER, WARN, why), Check(ROLE, SKIP, why), Check(PRIVILEGES, SKIP, why)]
    else:
        checks = [server_check(info), role_check(info)]
        checks += await guarded(PRIVILEGES, privileges_checks(conn, info, migrations))
    checks += await guarded(TIMEOUTS, timeouts_check(conn))
    checks += await guarded(IDLE, idle_check(conn, migrations))
    checks += await guarded(INVALID_INDEXES, invalid_check(conn))
    return checks


def server_check(info: catalog.ServerInfo) -> Check:
    problem = version_problem(info)
    if problem is not None:
        return Check(SERVER, FAIL, problem.message, problem.hint)
    if info.read_only:
        summary = (
            f"PostgreSQL {info.version} accepts only reads here (transaction_read_only is on): "
            "a standby or a read-only default, where no migration can run."
        )
        return Check(SERVER, FAIL, summary, "Connect to the primary, read-write server.")
    return Check(SERVER, OK, f"PostgreSQL {info.version}, database {info.database}.")


def role_check(info: catalog.ServerInfo) -> Check:
    if info.superuser:
        return Check(
            ROLE, OK, f"Role {info.role} is a superuser: it may cancel or end any session."
        )
    if info.signal_backend:
        summary = (
            f"Role {info.role} may cancel or end other roles' sessions (pg_signal_backend), "
            "except superusers'."
        )
        return Check(ROLE, OK, summary)
    summary = (
        f"Role {info.role} is not a superuser and lacks pg_signal_backend: it may cancel or end "
        "only its own role's sessions, not a blocker that belongs to another role."
    )
    fix = f"To act on any blocker, as a superuser: `GRANT pg_signal_backend TO {info.role};`."
    return Check(ROLE, WARN, summary, fix)


async def privileges_checks(
    conn: asyncpg.Connection, info: catalog.ServerInfo, migrations: Sequence[Migration]
) -> list[Check]:
    """One check per problem (as the run's preflight would refuse it), or one ok per migration."""
    if not migrations:
        summary = "No migration to check the role's privileges for."
        return [Check(PRIVILEGES, SKIP, summary, "Name one: `migration-console doctor MIGRATION`.")]
    out: list[Check] = []
    for m in migrations:
        if m.up is None:
            out.append(Check(PRIVILEGES, OK, f"{m.name} has no up section: nothing to check."))
            continue
        plan = plan_section(m.up)
        problems = await table_problems(conn, plan, info, grouped=True)
        out += [Check(PRIVILEGES, FAIL, f"{m.name}: {p.message}", p.hint) for p in problems]
        if not problems:
            tables = ", ".join(plan.tables) or "no existing tables"
            out.append(Check(PRIVILEGES, OK, f"Role {info.role} may run {m.name} on {tables}."))
    return out


def setting_ms(value: str) -> float | None:
    """A timeout setting as milliseconds ("30s", "5min", "1500" -> ms), None if unreadable."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", value.lower())
    if match is None or match.group(2) not in ("", *_UNIT_MS):
        return None
    return float(match.group(1)) * _UNIT_MS.get(match.group(2), 1)


async def timeouts_check(conn: asyncpg.Connection) -> list[Check]:
    found, files_read = await diagnostics.timeout_defaults(conn)

    def show(name: str) -> str:
        d = found.get(name)
        if d is not None:
            return f"{name} {d.value} ({d.source})"
        return f"{name} 0" if files_read else f"{name} not set by role or database"

    st = found.get("statement_timeout")
    ms = setting_ms(st.value) if st is not None else None
    if st is not None and ms is not None and 0 < ms < HOUR_MS:
        summary = (
            f"New sessions start with statement_timeout {st.value} ({st.source}), which cancels "
            "an index build that runs longer and leaves an INVALID index behind."
        )
        undo = (
            st.source.removesuffix(" SET") + " RESET statement_timeout;"
            if st.source.startswith("ALTER ")
            else f"remove it from {st.source}"
        )
        fix = (
            "The console sets its own statement_timeout on every run (--statement-timeout, "
            f"default none), so its runs are safe; psql -f, dbmate or a Node runner would "
            f"inherit {st.value}: `SET statement_timeout = 0` first, or `{undo}`"
        )
        return [Check(TIMEOUTS, WARN, summary, fix)]
    values = ", ".join(show(n) for n in diagnostics.TIMEOUT_SETTINGS)
    summary = (
        f"Session defaults: {values}; the console sets lock_timeout and statement_timeout "
        "itself on every run."
    )
    return [Check(TIMEOUTS, OK, summary)]


def idle_consequence(migrations: Sequence[Migration]) -> str:
    """What an open transaction does to these migrations, by the kind of their statements."""
    plans = [
        p for m in migrations if m.up is not None and m.up.statements
        for p in plan_section(m.up).statements
    ]  # fmt: skip
    if any(p.concurrent for p in plans):
        return (
            "CREATE INDEX CONCURRENTLY waits until every one of them ends (a writer on its "
            "table, or any transaction older than the build)"
        )
    locking = sorted({p.kind for p in plans if p.lock})
    if locking:
        return (
            f"{', '.join(locking[:3])} waits for the locks they hold on the tables they "
            "touched, and sessions queue behind it"
        )
    return "it keeps its locks and snapshot until it ends: a migration on its tables waits"


async def idle_check(conn: asyncpg.Connection, migrations: Sequence[Migration] = ()) -> list[Check]:
    total, rows = await diagnostics.idle_transactions(conn)
    hidden = await diagnostics.hidden_sessions(conn)
    if not total and not hidden:
        return [Check(IDLE, OK, "No session is idle in a transaction.")]
    unseen = (
        f"{hidden} session{'s' if hidden > 1 else ''} of other roles "
        f"{'are' if hidden > 1 else 'is'} hidden from this role (it lacks pg_read_all_stats)"
    )
    see_all = (
        "To see every session, grant the role pg_read_all_stats "
        f"(`GRANT pg_read_all_stats TO {G.ellipsis};` as a superuser), or run the doctor as "
        "one that has it."
    )
    if not total:
        summary = f"No visible session is idle in a transaction, but {unseen}."
        return [Check(IDLE, WARN, summary, see_all)]
    o = rows[0]
    who = f"{o.application_name or 'no application name'}, role {o.role}, from {o.client}"
    summary = (
        f"{total} session{'s are' if total > 1 else ' is'} idle in a transaction; the oldest is "
        f"pid {o.pid} ({who}), open for {age(o.xact_age_s)}: {idle_consequence(migrations)}."
    )
    if total > 1:
        others = ", ".join(str(r.pid) for r in rows[1:6]) + (", …" if total > 6 else "")
        summary += f" Others: pid {others}."
    if hidden:
        summary += f" Besides, {unseen}."
    fix = (
        "Ask its owner to commit or roll back, or end it with "
        f"`SELECT pg_terminate_backend({o.pid});` (its transaction rolls back); "
        "`migration-console blockers` shows every session."
    )
    return [Check(IDLE, WARN, summary, fix)]


async def invalid_check(conn: asyncpg.Connection) -> list[Check]:
    found = await catalog.invalid_indexes(conn)
    rows = [(name, table, size) for name, table, size, pid in found if pid is None]
    building = [f"{name} (pid {pid})" for name, _table, _size, pid in found if pid is not None]
    if not rows:
        summary = "No INVALID indexes."
        if building:
            summary += f" Being built right now (INVALID until done): {', '.join(building)}."
        return [Check(INVALID_INDEXES, OK, summary)]
    listed = ", ".join(f"{name} on {table} ({size})" for name, table, size in rows)
    summary = (
        f"{len(rows)} INVALID index{'es' if len(rows) > 1 else ''} (left by failed or cancelled "
        f"CONCURRENTLY builds; never used by queries, they may still slow writes): {listed}."
    )
    if building:
        summary += f" Being built right now, not to drop: {', '.join(building)}."
    fix = (
        f"Drop each with `DROP INDEX CONCURRENTLY {rows[0][0]};`, or run the migration that "
        "builds it again: the console drops an INVALID leftover and rebuilds it."
    )
    return [Check(INVALID_INDEXES, WARN, summary, fix)]
