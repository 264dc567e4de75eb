"""Connection strings, read in one place: what the console connects to and which secrets that
brings along.

A ``postgres://`` or ``postgresql://`` URL, a libpq ``key=value`` string
(``host=db port=5432 user=app password='p w' dbname=app sslmode=require``) or libpq's
``PG*`` variables become one :class:`Dsn`. From it come the text safe to show (the password
as ``***``), the secrets to redact everywhere else, and the arguments for
``asyncpg.connect``. Errors never quote the string: a URL that cannot be read says how to
encode it and nothing more, since what broke it is usually the password.

The ground floor of the package: it imports nothing of the console, of Textual or of rich.
Its readers of the two syntaxes are in ``_syntax``, loaded when a string is first read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"

# Every session the console opens names its job in application_name, so an operator looking
# at pg_stat_activity from anywhere can tell them apart: the migration's own session ("run"),
# the monitor (progress, blockers, catalog reads) and the run lock (an idle session that only
# holds an advisory lock): "migration-console run <migration>", "... monitor", "... lock".
APP = "migration-console"
NAME_BYTES = 63  # what PostgreSQL keeps of an application_name
RUN, MONITOR, LOCK = "run", "monitor", "lock"


def application_name(job: str, migration: str | None = None) -> str:
    """What a session of this job says it is, exactly as pg_stat_activity will show it:
    the console finds its sessions (an orphaned statement, the run's own session) by
    this name. PostgreSQL keeps printable ASCII only, escaping any other byte as \\xNN
    (since 16; "?" before), and 63 bytes: the name is made so here, the same on every
    version, a longer one cut and ended with a digest of the whole."""
    name = f"{APP} {job}" + (f" {migration}" if migration else "")
    shown = "".join(ch if " " <= ch <= "~" else _escaped(ch) for ch in name)
    if len(shown) <= NAME_BYTES:
        return shown
    # Cut, it ends with a digest of the whole: two long names that begin alike differ.
    import hashlib

    digest = hashlib.blake2s(shown.encode(), digest_size=3).hexdigest()
    return f"{shown[: NAME_BYTES - len(digest) - 1]}~{digest}"


def _escaped(ch: str) -> str:
    return "".join(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogateescape"))


URL, CONNINFO, ENVIRONMENT = "URL", "key=value", "PG* variables"

UNPARSABLE_URL = (
    "cannot parse the database URL: percent-encode special characters in the user name and "
    "password (`/` is `%2F`, `#` is `%23`, `?` is `%3F`, `@` is `%40`)"
)
UNPARSABLE_CONNINFO = (
    "cannot parse the connection string: write it as key=value pairs separated by spaces, "
    "a value with spaces or quotes in single quotes with \\' and \\\\ inside "
    "(password='it\\'s secret')"
)
NOT_A_DSN = (
    "not a PostgreSQL URL (it must start with postgresql:// or postgres://) "
    "nor libpq key=value pairs"
)
BAD_PGPORT = "PGPORT is not a port number (1 to 65535)"
NOT_TEXT = (
    "cannot read the connection string: it holds bytes that are not UTF-8 text (a stray "
    "character, or a password in another encoding)"
)

# libpq's PG* variables read here; asyncpg reads the others (PGSSLMODE, PGPASSFILE, ...)
# itself.
PG_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE")
# Parameters whose values are secrets: masked on display, redacted everywhere.
SECRET_PARAMS = ("password", "sslpassword")
# libpq options asyncpg does not know: it would send them to the server as settings,
# which refuses the connection. They are shown, not passed on.
CLIENT_ONLY = frozenset(
    {
        "connect_timeout",
        "hostaddr",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "channel_binding",
        "gssencmode",
        "gssdelegation",
        "requiressl",
        "sslcompression",
        "sslcertmode",
        "sslsni",
        "require_auth",
        "load_balance_hosts",
        "fallback_application_name",
    }
)

_URL_PREFIX = re.compile(r"postgres(?:ql)?://")
_CONNINFO_START = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*=")


class DsnError(ValueError):
    """A connection string that cannot be read. The message never quotes the string."""


class NotADsn(DsnError):
    """Neither a PostgreSQL URL nor key=value pairs (``mysql://...``, a bare word)."""


@dataclass(frozen=True)
class Dsn:
    """Where to connect and as whom. Fields are None when the string leaves them to libpq's
    defaults (asyncpg applies the same ones: ``PGHOST``, the local socket, ...)."""

    form: str  # URL, CONNINFO or ENVIRONMENT: what it was read from
    host: str | None = None  # a name, an address, or a socket folder (starts with "/")
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)  # the rest: sslmode, options, ...
    written: tuple[str, ...] = field(default=(), repr=False)  # secrets as written (encoded)

    @property
    def socket(self) -> bool:
        return bool(self.host and self.host.startswith("/"))

    @property
    def display(self) -> str:
        """Safe to show and store: the same form, every secret as ``***``."""
        return self.conninfo() if self.form == CONNINFO else self.url()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of every secret it holds, as given, decoded and percent-encoded."""
        found: list[str] = []
        for value in (self.password, *(self.params.get(k) for k in SECRET_PARAMS)):
            found += password_forms(value)
        return _unique([*found, *self.written])

    def url(self, *, mask: bool = True) -> str:
        """The canonical URL, every part percent-encoded; ``mask=False`` keeps the password
        (for handing to another tool, never for people)."""
        userinfo = ""
        if self.user or self.password:
            userinfo = quote(self.user or "", safe="")
            if self.password:
                userinfo += ":" + (MASK if mask else quote(self.password, safe=""))
            userinfo += "@"
        query: dict[str, str] = {}
        netloc = ""
        if self.socket:  # a folder cannot be the URL's host: libpq takes it as ?host=
            query["host"] = self.host or ""
            if self.port is not None:
                query["port"] = str(self.port)
        else:
            host = self.host or ""
            netloc = f"[{host}]" if ":" in host else quote(host, safe="")
            if self.port is not None:
                netloc += f":{self.port}"
        query.update(self._shown_params(mask))
        text = f"postgresql://{userinfo}{netloc}/{quote(self.database or '', safe='')}"
        if query:
            text += "?" + "&".join(
                f"{quote(k, safe='')}={quote(v, safe='/:,*')}" for k, v in query.items()
            )
        return text

    def conninfo(self, *, mask: bool = True) -> str:
        """libpq key=value pairs; ``mask=False`` keeps the password."""
        pairs = {
            "host": self.host,
            "port": None if self.port is None else str(self.port),
            "user": self.user,
            "password": (MASK if mask else self.password) if self.password else None,
            "dbname": self.database,
            **self._shown_params(mask),
        }
        return " ".join(f"{k}={_conninfo_value(v)}" for k, v in pairs.items() if v is not None)

    def connect_kwargs(self) -> dict[str, Any]:
        """Arguments for ``asyncpg.connect``: the password goes as a keyword, never inside a
        string; libpq options asyncpg understands (sslmode, sslrootcert, options,
        target_session_attrs, ...) go in a URL that holds nothing else."""
        kwargs: dict[str, Any] = {
            name: value
            for name in ("host", "port", "user", "password", "database")
            if (value := getattr(self, name)) not in (None, "")
        }
        passed = {k: v for k, v in self.params.items() if v and k not in CLIENT_ONLY}
        if passed:
            kwargs["dsn"] = "postgresql://?" + "&".join(
                f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in passed.items()
            )
        return kwargs

    def _shown_params(self, mask: bool) -> dict[str, str]:
        return {k: MASK if mask and k in SECRET_PARAMS else v for k, v in self.params.items()}


def parse_dsn(text: str) -> Dsn:
    """A URL or key=value pairs; DsnError (which never quotes ``text``) when unreadable."""
    from console.connection import _syntax  # the readers: loaded when first needed

    if not is_text(text):
        raise DsnError(NOT_TEXT)
    if _URL_PREFIX.match(text):
        form, parts = URL, _syntax.read_url(text, SECRET_PARAMS)
    elif _CONNINFO_START.match(text):
        form, parts = CONNINFO, _syntax.read_conninfo(text, SECRET_PARAMS)
    else:
        raise NotADsn(NOT_A_DSN)
    if parts is None:
        raise DsnError(UNPARSABLE_URL if form == URL else UNPARSABLE_CONNINFO)
    fields, params, written = parts
    return Dsn(form, **fields, params=params, written=_unique(written))


def from_environment(env: Mapping[str, str]) -> Dsn | None:
    """libpq's PG* variables, or None when none is set."""
    from console.connection._syntax import port as read_port

    if not any(env.get(name) for name in PG_VARS):
        return None
    port = read_port(env["PGPORT"]) if env.get("PGPORT") else None
    if env.get("PGPORT") and port is None:
        raise DsnError(BAD_PGPORT)
    return Dsn(
        ENVIRONMENT,
        host=env.get("PGHOST") or None,
        port=port,
        user=env.get("PGUSER") or None,
        password=env.get("PGPASSWORD") or None,
        database=env.get("PGDATABASE") or None,
    )


def mask(text: str) -> str:
    """``text`` safe to show: its display form, or just ``***`` when it cannot be read."""
    try:
        return parse_dsn(text).display
    except DsnError:
        return MASK


def password_of(text: str) -> str | None:
    try:
        return parse_dsn(text).password
    except DsnError:
        return None


def secrets_of(text: str | None) -> tuple[str, ...]:
    """The secrets in a connection string; for one that cannot be read, every stretch that
    may be its password (redacting too much is harmless, too little is not)."""
    if not text:
        return ()
    try:
        return parse_dsn(text).secrets
    except DsnError:
        pass
    guesses: list[str] = []
    if "://" in text:
        userinfo = text.split("://", 1)[1].rpartition("@")[0]
        if ":" in userinfo:
            guesses.append(userinfo.split(":", 1)[1])
    for match in re.finditer(r"(?i)password\s*=\s*'?", text):
        rest = text[match.end() :]
        guesses += [rest, rest.split()[0] if rest.split() else rest, rest.split("&")[0]]
    forms: list[str] = []
    for guess in guesses:
        forms += password_forms(unquote(guess), guess.strip("'"))
    return _unique(forms)


def password_forms(password: str | None, *written: str) -> tuple[str, ...]:
    """A secret as it may appear: itself, percent-encoded both ways, and as written. Bytes
    that are not UTF-8 (an environment variable holds whatever it was given) are
    percent-encoded as the bytes they were."""
    if not password:
        return ()
    how = {"safe": "", "errors": "surrogateescape"}
    return _unique([password, quote(password, **how), quote_plus(password, **how), *written])


def is_text(text: str) -> bool:
    """Whether ``text`` is text: not bytes the system could not decode (as a command
    line or an environment variable may hold, as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_text(value: str) -> str:
    """``value`` as text history.toml (or a process title) can hold: a byte that is not
    UTF-8 (a command line or an environment variable may hold any) becomes U+FFFD."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@dataclass(frozen=True)
class Redactor:
    """Removes every known secret from text before it is shown or stored."""

    secrets: tuple[str, ...] = ()

    def __call__(self, text: str) -> str:
        # longest first: a secret inside a longer one must not leave the rest of it behind
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, MASK)
        return text


def _conninfo_value(value: str) -> str:
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
