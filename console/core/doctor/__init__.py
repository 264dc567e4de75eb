"""The connection doctor: before anything runs, every reason it might not, with the fix.

``diagnose`` never raises for what it finds and never hangs: it resolves the host with a
short timeout, connects once as a monitor (autocommit, short server-side timeouts) with a
5 s limit, and bounds every query. Checks that need a connection are marked "skip" when
there is none. Every sentence is redacted: no password leaves, including those of the
other URLs it offers (DATABASE_PUBLIC_URL, DATABASE_UNPOOLED_URL, ...), shown masked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import asyncpg

from console.connection import MONITOR
from console.core.doctor import url
from console.core.doctor.endpoint import (
    host_check,
    pooler_check,
    probe_session,
    read_ssl,
    tls_check,
)
from console.core.doctor.report import (
    CONNECTED_CHECKS,
    CONNECTION,
    FAIL,
    OK,
    SKIP,
    VERDICTS,
    WARN,
    Check,
    DoctorReport,
)
from console.core.doctor.server import connected_checks
from console.core.model import Migration
from console.db.connect import close_quietly, connect, translate_connect_error
from console.errors import ConsoleError
from console.settings import ConnectionSettings, Redactor

__all__ = ["FAIL", "OK", "SKIP", "VERDICTS", "WARN", "Check", "DoctorReport", "diagnose"]

CONNECT_TIMEOUT_S = 5.0


async def diagnose(
    settings: ConnectionSettings,
    migration: Migration | Sequence[Migration] | None,
    env: Mapping[str, str],
) -> DoctorReport:
    """Every check, in order: host, pooler, tls, connection, server, role, privileges
    (per problem, or per migration), timeouts, idle-transactions, invalid-indexes."""
    migrations = [migration] if isinstance(migration, Migration) else list(migration or ())
    redact = Redactor(settings.secrets + url.env_secrets(env))
    t = url.target(settings, env)
    host, resolved = await host_check(t, env, settings.source)
    conn: asyncpg.Connection | None = None
    cause: BaseException | None = None
    if resolved == url.UNRESOLVED:
        connection = Check(CONNECTION, SKIP, f"Not tried: {t.host} does not resolve here.")
    else:
        conn, connection, cause = await _connect(settings)
    try:
        probe = probe_failed = ssl = None
        if conn is not None:
            probe, probe_failed = await probe_session(conn)
            ssl = await read_ssl(conn)
        rejected = "unsupported startup parameter" in str(cause)
        pooler = pooler_check(
            t,
            env,
            settings.dsn,
            probe=probe,
            probe_failed=probe_failed,
            rejected_startup=rejected,
            avoid_internal=not (t.railway_internal and resolved == url.RESOLVED),
        )
        tls = tls_check(t, cause, ssl, connected=conn is not None)
        if connection.verdict == FAIL and (tls.verdict == FAIL or rejected):
            # the check that explains the failure knows the better fix
            connection = replace(connection, fix=tls.fix if tls.verdict == FAIL else pooler.fix)
        checks = [host, pooler, tls, connection]
        if conn is None:
            why = "Skipped: there is no connection to the database."
            checks += [Check(name, SKIP, why) for name in CONNECTED_CHECKS]
        else:
            checks += await connected_checks(conn, migrations)
    finally:
        await close_quietly(conn)
    return DoctorReport(
        settings.display, [c.redacted(redact) for c in checks], [m.name for m in migrations]
    )


async def _connect(
    settings: ConnectionSettings,
) -> tuple[asyncpg.Connection | None, Check, BaseException | None]:
    """The monitor connection (or None), the connection check, and the original error."""
    started = time.monotonic()
    try:
        conn = await asyncio.wait_for(
            connect(settings, MONITOR, "doctor", connect_timeout=CONNECT_TIMEOUT_S),
            CONNECT_TIMEOUT_S + 2,
        )
    except ConsoleError as exc:
        return None, Check(CONNECTION, FAIL, exc.message, exc.hint), exc.__context__
    except TimeoutError as exc:
        err = translate_connect_error(exc, settings, timeout_s=CONNECT_TIMEOUT_S)
        assert isinstance(err, ConsoleError)
        return None, Check(CONNECTION, FAIL, err.message, err.hint), exc
    ms = (time.monotonic() - started) * 1000
    return conn, Check(CONNECTION, OK, f"Connected and signed in within {ms:.0f} ms."), None
