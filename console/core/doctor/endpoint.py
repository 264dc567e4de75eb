"""The way to the server: does the host resolve here, is there a pooler in between,
how TLS went. Judged from the URL first, then from the connection when there is one."""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import Mapping

import asyncpg

from console.core.doctor import url
from console.core.doctor.report import (
    FAIL,
    HOST,
    OK,
    POOLER,
    QUERY_ERRORS,
    SKIP,
    STAGE_TIMEOUT_S,
    TLS,
    WARN,
    Check,
    first_line,
)
from console.db import diagnostics

_POOLED = (
    "advisory locks (the console's run lock) and session settings (lock_timeout, "
    "statement_timeout) do not work behind PgBouncer in transaction mode"
)


async def host_check(t: url.Target, env: Mapping[str, str], source: str) -> tuple[Check, str]:
    """The host check and how resolution went (url.RESOLVED, UNRESOLVED, SLOW, NOT_APPLICABLE)."""
    if t.socket:
        where = t.host or "the default socket directory"
        return Check(HOST, OK, f"Connects through the local socket in {where}."), url.NOT_APPLICABLE
    state, detail = await url.resolve(t.host, t.port)
    if t.railway_internal:
        if state == url.RESOLVED:
            summary = f"{t.host} resolves here ({detail}): this is Railway's private network."
            return Check(HOST, OK, summary), state
        why = (
            "the RAILWAY_* variables are set, but `railway run` and `railway shell` run the "
            "command on this machine, outside that network"
            if url.inside_railway(env)
            else "this machine is outside Railway"
        )
        verb = "did not resolve in time" if state == url.SLOW else "does not resolve here"
        summary = (
            f"{t.host} {verb}: *.railway.internal names resolve only inside Railway's "
            f"private network, and {why}."
        )
        return Check(HOST, FAIL, summary, url.public_url_fix(env)), url.UNRESOLVED
    if state == url.RESOLVED:
        return Check(HOST, OK, f"{t.host} resolves to {detail}."), state
    if state == url.SLOW:
        summary = f"{t.host} did not resolve within {url.RESOLVE_TIMEOUT_S:g} s; trying anyway."
        return Check(HOST, WARN, summary, "Check this machine's DNS."), state
    summary = f"{t.host} does not resolve ({detail})."
    return Check(HOST, FAIL, summary, f"Check the host name in {source}."), state


async def probe_session(
    conn: asyncpg.Connection,
) -> tuple[diagnostics.SessionProbe | None, str | None]:
    """The session probe, and the error when prepared statements vanished in between."""
    try:
        return await asyncio.wait_for(diagnostics.session_probe(conn), STAGE_TIMEOUT_S), None
    except (asyncpg.InvalidSQLStatementNameError, asyncpg.DuplicatePreparedStatementError) as e:
        return None, first_line(e)
    except QUERY_ERRORS:
        return None, None


async def read_ssl(conn: asyncpg.Connection) -> diagnostics.SslStatus | None:
    try:
        return await asyncio.wait_for(diagnostics.ssl_status(conn), STAGE_TIMEOUT_S)
    except QUERY_ERRORS:
        return None


def pooler_check(
    t: url.Target,
    env: Mapping[str, str],
    dsn: str | None,
    *,
    probe: diagnostics.SessionProbe | None,
    probe_failed: str | None,
    rejected_startup: bool,
    avoid_internal: bool,
) -> Check:
    reasons, strong = url.pooler_signals(t)
    fix = url.unpooled_fix(env, dsn, avoid_internal)
    if rejected_startup:
        summary = (
            "The server refused session settings at connect (unsupported startup parameter), "
            f"as PgBouncer does, and {_POOLED}."
        )
        return Check(POOLER, FAIL, summary, fix)
    if probe_failed:
        summary = (
            f"A prepared statement vanished between two statements ({probe_failed}), as it "
            f"does behind a transaction pooler, and {_POOLED}."
        )
        return Check(POOLER, FAIL, summary, fix)
    if probe is not None and not probe.stable:
        what = (
            f"pid {probe.first_pid}, then pid {probe.second_pid}"
            if probe.first_pid != probe.second_pid
            else "a session setting was lost"
        )
        summary = f"Two statements in a row reached different server sessions ({what}): {_POOLED}."
        return Check(POOLER, FAIL, summary, fix)
    if reasons:
        summary = f"The URL looks pooled ({'; '.join(reasons)}): {_POOLED}."
        if probe is not None:
            summary += (
                f" Two statements in a row did reach one server session (pid {probe.first_pid}), "
                "but a transaction-mode pooler does not promise that."
            )
        return Check(POOLER, FAIL if strong else WARN, summary, fix)
    if probe is not None:
        summary = (
            "Not pooled: two statements in a row reached the same server session "
            f"(pid {probe.first_pid}) and it kept its settings."
        )
        return Check(POOLER, OK, summary)
    where = "a local socket" if t.socket else f"port {t.port}"
    return Check(
        POOLER, OK, f"The URL does not look pooled ({where}); not tested without a connection."
    )


def tls_check(
    t: url.Target,
    cause: BaseException | None,
    ssl: diagnostics.SslStatus | None,
    connected: bool,
) -> Check:
    """Explain whichever TLS outcome the connection met."""
    mode = f"sslmode={t.sslmode}" + {"the URL": "", "PGSSLMODE": ", from PGSSLMODE"}.get(
        t.sslmode_source, ", the default"
    )
    railway = (
        " Railway's proxy presents a self-signed certificate, which verify-full and verify-ca "
        "reject."
        if t.railway_proxy
        else ""
    )
    require = "Use sslmode=require: it encrypts without verifying the certificate" + (
        ", which is what Railway's proxy needs."
        if t.railway_proxy
        else ", or keep verifying and give the server's CA certificate with sslrootcert=PATH."
    )
    text = str(cause) if cause is not None else ""
    if isinstance(cause, ssl_module.SSLError) or "certificate verify failed" in text:
        detail = first_line(cause) if cause is not None else "certificate verify failed"
        summary = f"The server's TLS certificate was rejected with {mode}: {detail}.{railway}"
        return Check(TLS, FAIL, summary, require)
    if "root certificate file" in text:
        summary = (
            f"With {mode} the client needs the CA certificate that signed the server's, and "
            "none was found "
            f"(sslrootcert, PGSSLROOTCERT or ~/.postgresql/root.crt).{railway}"
        )
        return Check(TLS, FAIL, summary, require)
    if "rejected SSL upgrade" in text:
        summary = f"The server does not offer TLS, and {mode} insists on it."
        fix = "Enable TLS on the server, or use sslmode=prefer on a network you trust."
        return Check(TLS, FAIL, summary, fix)
    if "no encryption" in text:
        summary = f"The server accepts only encrypted connections, and {mode} turns TLS off."
        return Check(TLS, FAIL, summary, "Use sslmode=require instead of sslmode=disable.")
    if t.sslmode == "disable" and t.railway_proxy:
        summary = f"With {mode} the password and data cross the internet unencrypted."
        return Check(TLS, WARN, summary, require)
    if ssl is not None and ssl.encrypted:
        return Check(TLS, OK, f"The connection is encrypted ({ssl.version}, {mode}).")
    if ssl is not None and not t.local:
        summary = f"The connection to {t.host} is not encrypted ({mode})."
        fix = "Use sslmode=require if the server offers TLS; otherwise use a private network."
        return Check(TLS, WARN, summary, fix)
    if ssl is not None:
        where = "Railway's private network" if t.railway_internal else "this machine"
        return Check(TLS, OK, f"Not encrypted ({mode}), but the connection stays on {where}.")
    if connected:
        return Check(TLS, OK, f"Connected with {mode}.")
    if t.sslmode in ("verify-ca", "verify-full") and t.railway_proxy:
        summary = f"With {mode} the client rejects Railway's proxy's self-signed certificate."
        return Check(TLS, WARN, summary, require)
    return Check(TLS, SKIP, f"Not tried without a connection ({mode}).")
