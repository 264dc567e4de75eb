"""What the connection URL alone says: the host and whether it resolves here, Railway's
private network, a connection pooler, the TLS mode. Used by the connection doctor."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from console.connection import DsnError, mask, parse_dsn, secrets_of
from console.settings import ConnectionSettings

RESOLVE_TIMEOUT_S = 3.0
PUBLIC_URL_VAR = "DATABASE_PUBLIC_URL"
# Where providers put the direct (unpooled) URL: Railway, Neon, Vercel/Supabase, Prisma.
UNPOOLED_URL_VARS = (
    "DATABASE_UNPOOLED_URL",
    "DATABASE_PUBLIC_UNPOOLED_URL",
    "DATABASE_URL_UNPOOLED",
    "POSTGRES_URL_NON_POOLING",
    "DIRECT_URL",
)
OFFERED_URL_VARS = (PUBLIC_URL_VAR, *UNPOOLED_URL_VARS)
# Set by Railway inside its containers and by `railway run`/`railway shell` (which run
# the command on this machine): present means "Railway context", not "on its network".
RAILWAY_CONTEXT_VARS = (
    "RAILWAY_ENVIRONMENT_NAME",
    "RAILWAY_ENVIRONMENT_ID",
    "RAILWAY_PROJECT_ID",
    "RAILWAY_PROJECT_NAME",
    "RAILWAY_SERVICE_ID",
    "RAILWAY_SERVICE_NAME",
    "RAILWAY_PRIVATE_DOMAIN",
)
PGBOUNCER_PORTS = {6432: "PgBouncer's default port", 6543: "Supabase's transaction pooler port"}
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

RESOLVED, UNRESOLVED, SLOW, NOT_APPLICABLE = "resolved", "unresolved", "slow", "n/a"


@dataclass(frozen=True)
class Target:
    """Where the URL points and how it asks to connect."""

    host: str  # "" or a directory for a local socket
    port: int
    sslmode: str
    sslmode_source: str  # "the URL", "PGSSLMODE" or "the default"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def socket(self) -> bool:
        return not self.host or self.host.startswith("/")

    @property
    def railway_internal(self) -> bool:
        return self.host.endswith(".railway.internal")

    @property
    def railway_proxy(self) -> bool:
        return self.host.endswith(".rlwy.net")

    @property
    def local(self) -> bool:
        return self.socket or self.host in _LOCAL_HOSTS or self.railway_internal


def target(settings: ConnectionSettings, env: Mapping[str, str]) -> Target:
    dsn = settings.parsed
    params = {k.lower(): v for k, v in dsn.params.items()}
    host = dsn.host or env.get("PGHOST", "")
    port = str(dsn.port or env.get("PGPORT", ""))
    mode, source = params.get("sslmode", ""), "the URL"
    if not mode:
        mode, source = env.get("PGSSLMODE", ""), "PGSSLMODE"
    if not mode:
        mode, source = "prefer", "the default"
    return Target(host, int(port) if port.isdigit() else 5432, mode.lower(), source, params)


def inside_railway(env: Mapping[str, str]) -> bool:
    return any(env.get(v) for v in RAILWAY_CONTEXT_VARS)


async def resolve(host: str, port: int) -> tuple[str, str]:
    """(RESOLVED, first address), (UNRESOLVED, reason) or (SLOW, "") after a short wait."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        return SLOW, ""
    except (socket.gaierror, UnicodeError) as exc:
        return UNRESOLVED, str(exc.args[-1] if exc.args else exc)
    return RESOLVED, str(infos[0][4][0]) if infos else ""


def offer(env: Mapping[str, str], var: str) -> str:
    """How to use another URL from the environment, its password masked."""
    return f'run with --database-url "${var}" ({mask(env[var].strip())})'


def public_url_fix(env: Mapping[str, str]) -> str:
    ssh = "or run the console inside Railway with `railway ssh`."
    if env.get(PUBLIC_URL_VAR, "").strip():
        return f"Use the public URL: {offer(env, PUBLIC_URL_VAR)}, {ssh}"
    return (
        "Use the database's public URL (DATABASE_PUBLIC_URL in the Postgres service's "
        "variables): `railway run -- sh -c 'migration-console --database-url "
        f'"$DATABASE_PUBLIC_URL" doctor\'`, {ssh}'
    )


def pooler_signals(t: Target) -> tuple[list[str], bool]:
    """Why the URL looks pooled, and whether any reason is strong (more than the port)."""
    reasons: list[str] = []
    host = t.host.lower()
    for word in ("pooler", "pgbouncer"):
        if word in host:
            reasons.append(f"the host name contains {word!r}")
    if t.params.get("pgbouncer", "").lower() in ("true", "1", "yes"):
        reasons.append("the URL says pgbouncer=true")
    strong = bool(reasons)
    if t.port in PGBOUNCER_PORTS:
        reasons.append(f"port {t.port} is {PGBOUNCER_PORTS[t.port]}")
    return reasons, strong


def unpooled_fix(env: Mapping[str, str], current: str | None, avoid_internal: bool) -> str:
    """Offer the first direct URL the environment holds, masked."""
    for var in UNPOOLED_URL_VARS:
        url = env.get(var, "").strip()
        if not url or url == (current or "").strip():
            continue
        try:
            dsn = parse_dsn(url)
        except DsnError:
            continue
        candidate = Target(dsn.host or "", dsn.port or 5432, "", "")
        if avoid_internal and candidate.railway_internal:
            continue
        if pooler_signals(candidate)[1]:
            continue
        return f"Use the direct (unpooled) URL: {offer(env, var)}."
    return (
        "Use the database's direct, unpooled URL (often in DATABASE_UNPOOLED_URL, "
        "DATABASE_PUBLIC_UNPOOLED_URL or DIRECT_URL; on Neon, the host without -pooler)."
    )


def env_secrets(env: Mapping[str, str]) -> tuple[str, ...]:
    """Passwords of the other URLs the doctor may mention, to redact them everywhere."""
    return tuple(pw for var in OFFERED_URL_VARS for pw in secrets_of(env.get(var, "").strip()))
