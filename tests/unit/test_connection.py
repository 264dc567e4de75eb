"""Reading connection strings (console/connection/): URLs, key=value pairs, PG* variables,
masking, the secrets to redact, asyncpg's arguments, and errors that quote nothing."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import quote

import pytest

from console.connection import (
    CONNINFO,
    ENVIRONMENT,
    MASK,
    UNPARSABLE_CONNINFO,
    UNPARSABLE_URL,
    URL,
    Dsn,
    DsnError,
    NotADsn,
    Redactor,
    from_environment,
    mask,
    parse_dsn,
    password_of,
    secrets_of,
)
from tests.helpers import ROOT

SPECIALS = "/#?@:%"
SENTINEL = "S3nt!nel/#?@:%pw"
ENCODED = quote(SENTINEL, safe="")  # S3nt%21nel%2F%23%3F%40%3A%25pw


# -- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("special", SPECIALS)
def test_percent_encoded_special_in_the_password(special: str) -> None:
    password = f"pa{special}ss"
    d = parse_dsn(f"postgresql://app:{quote(password, safe='')}@db.example:6543/app")
    assert (d.form, d.host, d.port, d.user, d.password, d.database) == (
        URL,
        "db.example",
        6543,
        "app",
        password,
        "app",
    )
    assert d.display == "postgresql://app:***@db.example:6543/app"


def test_the_sentinel_encoded_everywhere() -> None:
    user, db = "us@r:1", "d/b?#"
    url = f"postgres://{quote(user, safe='')}:{ENCODED}@h/{quote(db, safe='')}?sslmode=require"
    d = parse_dsn(url)
    assert (d.user, d.password, d.database, dict(d.params)) == (
        user,
        SENTINEL,
        db,
        {"sslmode": "require"},
    )
    assert SENTINEL in d.secrets and ENCODED in d.secrets
    assert SENTINEL not in d.display and ENCODED not in d.display
    assert parse_dsn(d.url(mask=False)) == d  # the canonical URL reads back the same


def test_a_colon_in_the_password_needs_no_encoding() -> None:
    assert parse_dsn("postgresql://u:a:b:c@h/db").password == "a:b:c"


def test_socket_folder_ipv6_and_query_parameters() -> None:
    d = parse_dsn("postgresql://postgres@/demo?host=/tmp/pg&port=5433&application_name=x")
    assert (d.host, d.port, d.socket, dict(d.params)) == (
        "/tmp/pg",
        5433,
        True,
        {"application_name": "x"},
    )
    assert d.display == "postgresql://postgres@/demo?host=/tmp/pg&port=5433&application_name=x"
    assert parse_dsn("postgresql://%2Fvar%2Frun%2Fpostgresql/db").host == "/var/run/postgresql"
    d = parse_dsn("postgresql://u@[::1]:5433/db")
    assert (d.host, d.port, d.display) == ("::1", 5433, "postgresql://u@[::1]:5433/db")
    d = parse_dsn("postgresql://h/db?user=u&password=zz&dbname=other")
    assert (d.user, d.password, d.database, dict(d.params)) == ("u", "zz", "db", {})
    assert d.display == "postgresql://u:***@h/db"


def test_a_password_in_both_places_is_a_secret_twice() -> None:
    d = parse_dsn("postgresql://u:first@h/db?password=second")
    assert d.password == "first"
    assert {"first", "second"} <= set(d.secrets)


def test_empty_parts_are_left_to_libpq() -> None:
    d = parse_dsn("postgresql://")
    assert (d.host, d.port, d.user, d.password, d.database) == (None,) * 5
    assert d.connect_kwargs() == {}
    assert parse_dsn("postgresql://u:@h/db").password is None


# -- URLs that cannot be read: exactly one sentence, nothing of the URL -----------------------


@pytest.mark.parametrize("special", ["/", "#", "?", "@"])
@pytest.mark.parametrize("password", ["Zq{}9w", "{}Zq9w", "Zq9w{}", "1234{}Zq9w", "Zq{}5432@b"])
def test_each_unencoded_special_is_refused(special: str, password: str) -> None:
    secret = password.format(special)
    with pytest.raises(DsnError) as info:
        parse_dsn(f"postgresql://app:{secret}@db.example:5432/app")
    _refused(info.value, UNPARSABLE_URL, secret)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://app:{SENTINEL}@h/db",
        "postgresql://app:Zq9w%zz@h/db",  # a % that is not an escape
        "postgresql://app:Zq9w%@h/db",
        "postgresql://app:Zq9w%ff@h/db",  # not UTF-8 once decoded
        "postgresql://app:Zq9w@h:notaport/db",
        "postgresql://app:Zq9w@h:99999/db",
        "postgresql://app:Zq9w@h:0/db",
        "postgresql://app:Zq9w@h1:5432,h2:5432/db",
        "postgresql://app:Zq9w@h/db?port=x",
        "postgresql://app:Zq9w@h/db?sslmode",
        "postgresql://app:Zq9w word@h p/db",
    ],
)
def test_unreadable_urls(url: str) -> None:
    with pytest.raises(DsnError) as info:
        parse_dsn(url)
    _refused(info.value, UNPARSABLE_URL, "Zq9w")


def _refused(exc: BaseException, sentence: str, secret: str) -> None:
    assert str(exc) == sentence
    assert exc.__context__ is None and exc.__cause__ is None  # no other text rides along
    for part in {secret, *secret.split("/"), *secret.split("?")} - {""}:
        if len(part) > 2:
            assert part not in str(exc)


def test_not_a_connection_string() -> None:
    for text in ("mysql://u:pw@h/db", "hello", "postgresql:/u:pw@h/db"):
        with pytest.raises(NotADsn) as info:
            parse_dsn(text)
        assert "pw" not in str(info.value)


def test_masking_never_shows_what_it_cannot_read() -> None:
    assert mask(f"postgresql://u:{SENTINEL}@h/db") == MASK
    assert password_of(f"postgresql://u:{SENTINEL}@h/db") is None
    assert password_of(f"postgresql://u:{ENCODED}@h/db") == SENTINEL
    # what may be the password is still redacted wherever it turns up
    assert SENTINEL in secrets_of(f"postgresql://u:{SENTINEL}@h/db")
    assert "pa ss" in secrets_of("host=h password='pa ss")
    assert secrets_of("") == () and secrets_of(None) == ()


# -- key=value ---------------------------------------------------------------------------------


def test_key_value_with_quoting_and_escapes() -> None:
    d = parse_dsn(
        r"host=db port = 5432 user='o\'brien' password='p w\\x\'' dbname=app sslmode=require"
    )
    assert (d.form, d.host, d.port, d.user, d.password, d.database) == (
        CONNINFO,
        "db",
        5432,
        "o'brien",
        "p w\\x'",
        "app",
    )
    assert dict(d.params) == {"sslmode": "require"}
    assert d.display == r"host=db port=5432 user='o\'brien' password=*** dbname=app sslmode=require"
    assert r"p w\\x\'" in d.secrets  # as written, too
    again = parse_dsn(d.conninfo(mask=False))  # written back in libpq's quoting, read the same
    assert (again.host, again.port, again.user, again.password, again.database) == (
        d.host,
        d.port,
        d.user,
        d.password,
        d.database,
    )


def test_key_value_unquoted_escapes_and_empty_values() -> None:
    d = parse_dsn(r"host=h password=a\ b\\c user= dbname=''")
    assert (d.password, d.user, d.database) == ("a b\\c", "dbname=''", None)  # libpq's rule
    d = parse_dsn(f"host=h password={SENTINEL}")
    assert d.password == SENTINEL and d.display == "host=h password=***"


@pytest.mark.parametrize(
    "text",
    [
        "host=db password='unterminated",
        "host=db justaword",
        "host=db =value",
        "host=db port=http",
        "host=db port=5432,5433",
    ],
)
def test_unreadable_key_value(text: str) -> None:
    with pytest.raises(DsnError) as info:
        parse_dsn(text)
    assert str(info.value) == UNPARSABLE_CONNINFO
    assert "unterminated" not in str(info.value) and "justaword" not in str(info.value)


# -- PG* variables ---------------------------------------------------------------------------


def test_pg_variables() -> None:
    assert from_environment({"HOME": "/root"}) is None
    env = {
        "PGHOST": "db.example",
        "PGPORT": "5433",
        "PGUSER": "me",
        "PGPASSWORD": SENTINEL,
        "PGDATABASE": "app",
    }
    d = from_environment(env)
    assert d is not None
    assert (d.form, d.host, d.port, d.user, d.password, d.database) == (
        ENVIRONMENT,
        "db.example",
        5433,
        "me",
        SENTINEL,
        "app",
    )
    assert d.display == "postgresql://me:***@db.example:5433/app"
    assert {SENTINEL, ENCODED} <= set(d.secrets)
    with pytest.raises(DsnError, match="PGPORT"):
        from_environment({"PGPORT": "54x"})


# -- what asyncpg gets -------------------------------------------------------------------------


def test_asyncpg_gets_the_password_as_a_keyword_only() -> None:
    d = parse_dsn(
        f"postgresql://app:{ENCODED}@h:5432/db?sslmode=require&connect_timeout=5"
        f"&options=-c%20search_path%3Dx&sslpassword=k%26ey"
    )
    kwargs = d.connect_kwargs()
    assert kwargs["password"] == SENTINEL
    assert {k: kwargs[k] for k in ("host", "port", "user", "database")} == {
        "host": "h",
        "port": 5432,
        "user": "app",
        "database": "db",
    }
    # libpq options asyncpg reads from a URL; connect_timeout is libpq's alone (not sent)
    assert kwargs["dsn"] == (
        "postgresql://?sslmode=require&options=-c%20search_path%3Dx&sslpassword=k%26ey"
    )
    assert SENTINEL not in kwargs["dsn"] and ENCODED not in kwargs["dsn"]
    assert "k&ey" in d.secrets and "sslpassword=***" in d.display


def test_key_value_is_converted_for_asyncpg() -> None:
    d = parse_dsn("host=/tmp/pg port=5433 user=app password='p w' dbname=app sslmode=disable")
    assert d.connect_kwargs() == {
        "host": "/tmp/pg",
        "port": 5433,
        "user": "app",
        "password": "p w",
        "database": "app",
        "dsn": "postgresql://?sslmode=disable",
    }


# -- redaction ---------------------------------------------------------------------------------


def test_redactor_replaces_the_longest_secret_first() -> None:
    redact = Redactor(("pw", "pw-and-more", ""))
    assert redact("x pw-and-more y pw") == "x *** y ***"


def test_repr_hides_the_password() -> None:
    d = Dsn(URL, host="h", password=SENTINEL, written=(ENCODED,))
    assert SENTINEL not in repr(d) and ENCODED not in repr(d)


def test_the_module_stands_alone() -> None:
    """The ground floor: importing it loads nothing else of the console, nor a face."""
    code = (
        "import sys, console.connection\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('console', 'textual', 'rich', 'asyncpg'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "console,console.connection"
