"""Where the console connects, who is running it, and how secrets are kept out of sight.

Connection strings are read by ``console.connection``; this module picks which one to use
(``--database-url``, ``DATABASE_URL``, libpq's ``PG*`` variables) and turns what cannot be
read into errors for people.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from console import connection
from console.connection import PG_VARS, Dsn, DsnError, NotADsn, Redactor, as_text
from console.errors import BadInput

__all__ = [
    "ConnectionSettings",
    "Redactor",
    "default_operator",
    "railway_context",
    "resolve_connection",
]

# Railway injects these into `railway run` / `railway shell` / `railway ssh`.
RAILWAY_VARS = {
    "project": "RAILWAY_PROJECT_NAME",
    "environment": "RAILWAY_ENVIRONMENT_NAME",
    "service": "RAILWAY_SERVICE_NAME",
}


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach the database: ``dsn`` as given (a URL or key=value pairs), or None with
    the ``PG*`` variables it was resolved from in ``pg_vars``. Every field round-trips
    through JSON (the runner process gets its settings that way)."""

    dsn: str | None = field(repr=False)
    source: str  # "--database-url", "DATABASE_URL" or "PG* variables"
    display: str  # masked, safe to show and store
    secrets: tuple[str, ...] = field(default=(), repr=False)
    read_only: bool = False  # --read-only: every connection is opened read-only
    pg_vars: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def redact(self) -> Redactor:
        return Redactor(self.secrets)

    @property
    def parsed(self) -> Dsn:
        if self.dsn is not None:
            return connection.parse_dsn(self.dsn)
        return connection.from_environment(self.pg_vars) or Dsn(connection.ENVIRONMENT)

    @property
    def host(self) -> str:
        return self.parsed.host or ""

    def connect_kwargs(self) -> dict[str, Any]:
        """What asyncpg.connect needs (the password as a keyword, never in a string)."""
        return self.parsed.connect_kwargs()

    @property
    def place(self) -> str:
        """Where, in a few words, for a top bar: "app on db.example.com:5432", "demo on the
        local socket" (from the masked display: never a secret, never a socket path)."""
        try:
            d = connection.parse_dsn(self.display)
        except DsnError:
            return self.display
        where = "the local socket" if d.socket or not d.host else f"{d.host}:{d.port or 5432}"
        return f"{d.database or d.user or 'the default database'} on {where}"


def _parse(text: str, source: str) -> Dsn:
    """The connection string, or BadInput that says how to fix it and quotes none of it."""
    try:
        return connection.parse_dsn(text)
    except NotADsn:
        raise BadInput(
            f"{source} is {connection.NOT_A_DSN}.",
            "Set it to the database's connection URL, e.g. postgresql://user:password@host:5432/db.",
        ) from None
    except DsnError as exc:
        raise BadInput(str(exc), f"Correct {source} and run the command again.") from None


def resolve_connection(
    database_url: str | None = None, env: Mapping[str, str] | None = None
) -> ConnectionSettings:
    """``--database-url``, else ``DATABASE_URL``, else libpq's ``PG*`` variables."""
    env = os.environ if env is None else env
    pgpassword = connection.password_forms(env.get("PGPASSWORD"))
    for value, source in (
        (database_url, "--database-url"),
        (env.get("DATABASE_URL"), "DATABASE_URL"),
    ):
        if value is None:
            continue
        value = value.strip()
        if not value:
            raise BadInput(f"{source} is empty.", "Set it to the database's connection URL.")
        dsn = _parse(value, source)
        return ConnectionSettings(value, source, dsn.display, (*dsn.secrets, *pgpassword))
    try:
        from_env = connection.from_environment(env)
    except DsnError as exc:
        raise BadInput(f"{exc}.", "Set PGPORT to the server's port, or unset it.") from None
    if from_env is not None:
        pg_vars = {name: env[name] for name in PG_VARS if env.get(name)}
        return ConnectionSettings(
            None, connection.ENVIRONMENT, from_env.display, from_env.secrets, pg_vars=pg_vars
        )
    raise BadInput(
        "No database to connect to: DATABASE_URL is not set.",
        "Set DATABASE_URL (on Railway: `railway run -- migration-console ...`), "
        "or pass --database-url, or try `migration-console demo`.",
    )


def railway_context(env: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if env is None else env
    return {key: as_text(env[var]) for key, var in RAILWAY_VARS.items() if env.get(var)}


def default_operator(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("MIGRATION_CONSOLE_OPERATOR"):
        return as_text(env["MIGRATION_CONSOLE_OPERATOR"])
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return as_text(f"{user}@{socket.gethostname()}")
