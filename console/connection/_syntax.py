"""libpq's two connection-string syntaxes, read strictly: the URI and ``key=value`` pairs.

Each reader gives the parts a :class:`~console.connection.Dsn` is made of, or None for a
string it cannot read; ``console.connection`` builds the Dsn and says what is wrong, never
quoting the string. Loaded by it when it first reads one, so that importing the ground
floor loads nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

# Host, port, user, password and database as fields; the other parameters; the secrets
# as written (percent-encoded, quoted), to be redacted in that form too.
Parts = tuple[dict[str, Any], dict[str, str], list[str]]

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_REG_NAME = re.compile(r"[A-Za-z0-9._~!$&'()*+;=%-]*")  # RFC 3986 host name, %-escapes
_IPV6 = re.compile(r"\[([0-9A-Fa-f:.]+(?:%25[A-Za-z0-9._~-]+)?)\](?::(.*))?")
_PORT = re.compile(r"[0-9]{1,5}")

# Parameters that name a field of their own (libpq says dbname; asyncpg also takes database).
_LIFTED = {
    "host": "host",
    "port": "port",
    "user": "user",
    "password": "password",
    "dbname": "database",
    "database": "database",
}


def port(raw: str) -> int | None:
    if not _PORT.fullmatch(raw):
        return None
    number = int(raw)
    return number if 0 < number < 65536 else None


# -- URLs ------------------------------------------------------------------------------------


def read_url(text: str, secret_params: Collection[str]) -> Parts | None:
    """libpq's URI syntax, strictly: anything that would put part of the user name or the
    password somewhere else (an unencoded ``/ # ? @``, a bad %-escape or port) is refused."""
    rest = text.split("://", 1)[1]
    authority = re.match(r"[^/?]*", rest)
    assert authority is not None
    path, _, query = rest[authority.end() :].partition("?")
    database_raw = path[1:]
    if "#" in rest or "@" in path or "@" in query or "/" in database_raw:
        return None
    if authority.group().count("@") > 1:
        return None
    userinfo, _, hostport = authority.group().rpartition("@")
    user_raw, _, password_raw = userinfo.partition(":")
    where, user, password = _host_port(hostport), _decode(user_raw), _decode(password_raw)
    database, pairs = _decode(database_raw), _query(query, secret_params)
    if where is None or user is None or password is None or database is None or pairs is None:
        return None
    params, written = pairs
    if password_raw != password:
        written.append(password_raw)
    given = {"host": where[0], "port": where[1], "user": user, "password": password}
    return _lift({**given, "database": database}, params, written)


def _host_port(hostport: str) -> tuple[str, int | None] | None:
    ipv6 = _IPV6.fullmatch(hostport)
    if ipv6:
        host, port_raw = unquote(ipv6.group(1)), ipv6.group(2) or ""
    else:
        host_raw, _, port_raw = hostport.partition(":")
        decoded = _decode(host_raw) if _REG_NAME.fullmatch(host_raw) else None
        if decoded is None:
            return None
        host = decoded
    if not port_raw:
        return host, None
    number = port(port_raw)
    return None if number is None else (host, number)


def _query(query: str, secret_params: Collection[str]) -> tuple[dict[str, str], list[str]] | None:
    """The decoded parameters and the secrets among them as written; None when malformed."""
    params: dict[str, str] = {}
    written: list[str] = []
    for pair in query.split("&") if query else ():
        if not pair:
            continue
        key_raw, eq, value_raw = pair.partition("=")
        key, value = _decode(key_raw), _decode(value_raw)
        if not eq or not key or value is None:
            return None
        params[key] = value
        if key in secret_params:
            written.append(value_raw)
    return params, written


def _decode(raw: str) -> str | None:
    """Percent-decoding that refuses a ``%`` not followed by two hex digits (libpq does)."""
    if _BAD_ESCAPE.search(raw):
        return None
    try:
        return unquote_to_bytes(raw).decode()
    except UnicodeDecodeError:
        return None  # not raised from here: the exception would quote the bytes


# -- key=value --------------------------------------------------------------------------------


def read_conninfo(text: str, secret_params: Collection[str]) -> Parts | None:
    """libpq's rules: ``key = value`` pairs separated by whitespace; a value in single quotes
    may hold spaces; a backslash takes the next character literally."""
    params: dict[str, str] = {}
    written: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        while i < n and text[i] != "=" and not text[i].isspace():
            i += 1
        key = text[start:i]
        while i < n and text[i].isspace():
            i += 1
        if not key or i >= n or text[i] != "=":
            return None
        i += 1
        while i < n and text[i].isspace():
            i += 1
        quoted = i < n and text[i] == "'"
        i += quoted
        start, chars, closed = i, [], False
        while i < n:
            c = text[i]
            if c == "\\":
                chars.append(text[i + 1 : i + 2])
                i += 2
                continue
            if (quoted and c == "'") or (not quoted and c.isspace()):
                closed = True
                break
            chars.append(c)
            i += 1
        if quoted and not closed:
            return None
        params[key] = "".join(chars)
        if key in secret_params:
            written.append(text[start:i])
        i += quoted
    return _lift({}, params, written)


# -- both -------------------------------------------------------------------------------------


def _lift(given: dict[str, Any], params: dict[str, str], written: list[str]) -> Parts | None:
    """Host, port, user, password and database: the URL's own parts first, else the
    parameter of that name. None for a port that is not one."""
    fields: dict[str, Any] = {k: v for k, v in given.items() if v not in (None, "")}
    rest: dict[str, str] = {}
    for key, value in params.items():
        name = _LIFTED.get(key)
        if name is None:
            rest[key] = value
            continue
        if name == "password":
            written.append(value)  # a secret even when the URL's own password wins
        if not value or name in fields:
            continue
        if name == "port":
            number = port(value)
            if number is None:
                return None
            fields[name] = number
        else:
            fields[name] = value
    return fields, rest, written
