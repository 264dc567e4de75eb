"""Where the console connects, who is running it, and how secrets are kept out of sight."""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from console.core.errors import BadInput

MASK = "***"

# Railway injects these into `railway run` / `railway shell` / `railway ssh`.
RAILWAY_VARS = {
    "project": "RAILWAY_PROJECT_NAME",
    "environment": "RAILWAY_ENVIRONMENT_NAME",
    "service": "RAILWAY_SERVICE_NAME",
}

_PG_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE")


def mask_url(url: str) -> str:
    """The URL with its password (in the userinfo or a password= parameter) replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{hostport}"
    query = re.sub(r"(?i)(^|&)(password)=[^&]*", rf"\1\2={MASK}", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_password(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password:
        return unquote(parts.password)
    for key, value in parse_qsl(parts.query):
        if key.lower() == "password" and value:
            return value
    return None


@dataclass(frozen=True)
class Redactor:
    """Removes every known secret from text before it is shown or stored."""

    secrets: tuple[str, ...] = ()

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret and len(secret) >= 1:
                text = text.replace(secret, MASK)
        return text


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach the database. ``dsn`` is None when libpq's PG* variables are used."""

    dsn: str | None
    source: str  # "--database-url", "DATABASE_URL" or "PG* variables"
    display: str  # masked, safe to show and store
    secrets: tuple[str, ...] = field(default=(), repr=False)
    read_only: bool = False  # --read-only: every connection is opened read-only

    @property
    def redact(self) -> Redactor:
        return Redactor(self.secrets)

    @property
    def host(self) -> str:
        if self.dsn is None:
            return os.environ.get("PGHOST", "")
        try:
            return urlsplit(self.dsn).hostname or ""
        except ValueError:
            return ""


def _check_url(url: str, source: str) -> None:
    if not re.match(r"^postgres(ql)?://", url):
        raise BadInput(
            f"{source} is not a PostgreSQL URL (it must start with postgresql:// or postgres://).",
            "Set it to the database's connection URL, e.g. postgresql://user:password@host:5432/db.",
        )
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise BadInput(
            f"{source} cannot be read as a URL ({Redactor(_secrets_of(url))(str(exc))}).",
            "Check the host and port; special characters in the password must be %-encoded.",
        ) from None


def _secrets_of(url: str) -> tuple[str, ...]:
    secrets: list[str] = []
    pw = url_password(url)
    if pw:
        secrets.append(pw)
        try:
            raw = urlsplit(url).netloc.rpartition("@")[0].split(":", 1)[1]
            if raw != pw:
                secrets.append(raw)
        except (IndexError, ValueError):
            pass
    return tuple(secrets)


def resolve_connection(
    database_url: str | None = None, env: Mapping[str, str] | None = None
) -> ConnectionSettings:
    """``--database-url``, else ``DATABASE_URL``, else libpq's ``PG*`` variables."""
    env = os.environ if env is None else env
    for value, source in (
        (database_url, "--database-url"),
        (env.get("DATABASE_URL"), "DATABASE_URL"),
    ):
        if value is None:
            continue
        value = value.strip()
        if not value:
            raise BadInput(f"{source} is empty.", "Set it to the database's connection URL.")
        _check_url(value, source)
        secrets = _secrets_of(value)
        if env.get("PGPASSWORD"):
            secrets += (env["PGPASSWORD"],)
        return ConnectionSettings(value, source, mask_url(value), secrets)
    if any(env.get(v) for v in _PG_VARS):
        user = env.get("PGUSER", getpass.getuser())
        host = env.get("PGHOST", "localhost")
        port = env.get("PGPORT", "5432")
        db = env.get("PGDATABASE", user)
        display = (
            f"postgresql://{user}{':' + MASK if env.get('PGPASSWORD') else ''}@{host}:{port}/{db}"
        )
        secrets = (env["PGPASSWORD"],) if env.get("PGPASSWORD") else ()
        return ConnectionSettings(None, "PG* variables", display, secrets)
    raise BadInput(
        "No database to connect to: DATABASE_URL is not set.",
        "Set DATABASE_URL (on Railway: `railway run -- migration-console ...`), "
        "or pass --database-url, or try `migration-console demo`.",
    )


def railway_context(env: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if env is None else env
    return {key: env[var] for key, var in RAILWAY_VARS.items() if env.get(var)}


def default_operator(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("MIGRATION_CONSOLE_OPERATOR"):
        return env["MIGRATION_CONSOLE_OPERATOR"]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
