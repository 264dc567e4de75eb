"""Connections with one job each, and connection failures turned into sentences.

Every connection the console opens says what it is in ``application_name``
(``console.connection.application_name``: ``migration-console run <migration>``,
``... monitor``, ``... lock``). The monitor and the lock sessions run with short
timeouts, never idle in a transaction.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

import asyncpg

from console.connection import LOCK, MONITOR, application_name
from console.errors import ConnectError, NotPermitted
from console.settings import ConnectionSettings

CONNECT_TIMEOUT_S = 10.0


def _monitor_settings() -> dict[str, str]:
    return {
        "statement_timeout": "5s",
        "lock_timeout": "1s",
        "idle_in_transaction_session_timeout": "10s",
    }


async def connect(
    settings: ConnectionSettings,
    role: str,
    migration: str | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_only: bool = False,
) -> asyncpg.Connection:
    """Open one connection for one job; failures become ConnectError with a hint."""
    server_settings = {"application_name": application_name(role, migration)}
    if role in (MONITOR, LOCK):
        server_settings.update(_monitor_settings())
    if read_only or settings.read_only:
        server_settings["default_transaction_read_only"] = "on"
    kwargs: dict[str, Any] = {"timeout": connect_timeout, "server_settings": server_settings}
    try:
        conn = await asyncpg.connect(**settings.connect_kwargs(), **kwargs)
    except BaseException as exc:  # noqa: BLE001 - translated below, re-raised if unknown
        if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
            raise
        raise translate_connect_error(exc, settings, timeout_s=connect_timeout) from None
    return conn


def translate_connect_error(
    exc: BaseException, settings: ConnectionSettings, *, timeout_s: float = CONNECT_TIMEOUT_S
) -> Exception:
    """One clear sentence for a failed connection, with the password redacted.

    ``connect`` raises it ``from None``: the original stays in ``__context__``."""
    redact = settings.redact
    host = settings.host or "the server"
    where = settings.display
    detail = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    internal = host.endswith(".railway.internal")
    railway_hint = (
        " `*.railway.internal` hosts resolve only inside Railway: from a laptop use "
        "DATABASE_PUBLIC_URL, or run the console inside Railway with `railway ssh`."
        if internal
        else ""
    )
    if isinstance(exc, socket.gaierror):
        return ConnectError(
            f"Cannot resolve the database host {host!r} ({where}).",
            ("Check the host in DATABASE_URL." + railway_hint).strip(),
        )
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return NotPermitted(
            f"The server refused the password for {where}.",
            "Check the user and password in DATABASE_URL (Railway rotates them when the "
            "database is re-provisioned: copy the current URL from the service's variables).",
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return ConnectError(
            f"The database in {where} does not exist ({detail}).",
            "Check the database name at the end of DATABASE_URL.",
        )
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return NotPermitted(
            f"The server refused the connection to {where}: {detail}.",
            "Check the user name in DATABASE_URL and that this role may log in from here.",
        )
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return ConnectError(
            f"The server has no connection slots left for {where}.",
            "Close idle sessions or raise max_connections, then try again.",
        )
    if isinstance(exc, ssl.SSLError):
        return ConnectError(
            f"TLS failed while connecting to {where}: {detail}.",
            "Railway's proxy presents a self-signed certificate: use sslmode=require, "
            "not verify-full.",
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return ConnectError(
            f"Connecting to {where} timed out after {timeout_s:g} s.",
            ("Check that the host and port are right and reachable from here." + railway_hint),
        )
    if isinstance(exc, ConnectionRefusedError | OSError):
        return ConnectError(
            f"Cannot reach the database at {where}: {detail}.",
            ("Check that the server is running and the host and port are right." + railway_hint),
        )
    if isinstance(exc, asyncpg.PostgresError):
        return ConnectError(f"The server refused the connection to {where}: {detail}.", "")
    return ConnectError(
        f"Cannot connect to {where}: {detail}.", "Run again with --debug for details."
    )


async def close_quietly(conn: asyncpg.Connection | None) -> None:
    if conn is None or conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.close(), timeout=5)
    except Exception:  # noqa: BLE001 - closing is best effort; terminate instead
        conn.terminate()
