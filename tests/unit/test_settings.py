from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from console.connection import UNPARSABLE_URL
from console.connection import mask as mask_url
from console.errors import BadInput
from console.settings import (
    ConnectionSettings,
    Redactor,
    default_operator,
    railway_context,
    resolve_connection,
)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u:p%40ss@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db?user=u&password=zz", "postgresql://u:***@h/db"),
        ("host=h user=u password='p w'", "host=h user=u password=***"),
        ("postgresql://u:p#w@h/db", "***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_resolution_order_and_secrets() -> None:
    env = {"DATABASE_URL": "postgresql://a:envpw@h/db", "PGHOST": "x"}
    s = resolve_connection("postgresql://b:flagpw@h/db", env=env)
    assert s.source == "--database-url" and "flagpw" in s.secrets
    s = resolve_connection(None, env=env)
    assert s.source == "DATABASE_URL" and s.display == "postgresql://a:***@h/db"
    assert s.redact("error for postgresql://a:envpw@h/db") == "error for postgresql://a:***@h/db"
    s = resolve_connection(None, env={"PGHOST": "db.example", "PGUSER": "me", "PGPASSWORD": "q1"})
    assert s.dsn is None and s.source == "PG* variables"
    assert "q1" not in s.display and s.redact("q1") == "***"


def test_percent_encoded_password_is_redacted_in_both_forms() -> None:
    s = resolve_connection("postgresql://u:p%40ss@h/db", env={})
    assert s.redact("p@ss and p%40ss") == "*** and ***"


@pytest.mark.parametrize(
    "bad",
    ["", "mysql://x", "postgresql://u:secret@h:notaport/db", "postgresql://u:sec/ret@h/db"],
)
def test_bad_urls_are_bad_input(bad: str) -> None:
    with pytest.raises(BadInput) as info:
        resolve_connection(bad, env={})
    assert "secret" not in str(info.value) and "ret" not in str(info.value)
    assert info.value.exit_code == 2


def test_unparsable_url_names_where_to_fix_it() -> None:
    with pytest.raises(BadInput) as info:
        resolve_connection(None, env={"DATABASE_URL": "postgresql://u:p@ss@h/db"})
    assert info.value.message == UNPARSABLE_URL
    assert info.value.hint == "Correct DATABASE_URL and run the command again."
    assert "ss@h" not in str(info.value)


def test_key_value_and_pg_variables() -> None:
    s = resolve_connection("host=h user=u password='p w' dbname=d", env={"PGPASSWORD": "envpw"})
    assert s.display == "host=h user=u password=*** dbname=d"
    assert {"p w", "p%20w", "envpw"} <= set(s.secrets)
    assert s.connect_kwargs() == {"host": "h", "user": "u", "password": "p w", "database": "d"}
    env = {"PGHOST": "/tmp/pg", "PGPORT": "5433", "PGUSER": "me", "PGPASSWORD": "q/1"}
    s = resolve_connection(None, env=env)
    assert s.pg_vars == env and s.host == "/tmp/pg"
    assert s.connect_kwargs() == {"host": "/tmp/pg", "port": 5433, "user": "me", "password": "q/1"}
    assert "q/1" not in repr(s) and "q%2F1" in s.secrets
    with pytest.raises(BadInput, match="PGPORT is not a port number"):
        resolve_connection(None, env={"PGPORT": "x5432"})


def test_settings_round_trip_through_json() -> None:
    """The runner process gets its settings as JSON (run/process.py: _spec, from_spec)."""
    for s in (
        resolve_connection("postgresql://u:p%2Fw@h/db", env={"PGPASSWORD": "x"}),
        resolve_connection(None, env={"PGHOST": "h", "PGPASSWORD": "y"}),
    ):
        data = json.loads(json.dumps(asdict(s)))
        back = ConnectionSettings(**{**data, "secrets": tuple(data["secrets"])})
        assert back == s and back.connect_kwargs() == s.connect_kwargs()


def test_repr_shows_no_secret() -> None:
    s = resolve_connection("postgresql://u:hunter2@h/db", env={})
    assert "hunter2" not in repr(s) and "hunter2" not in repr(s.parsed)


def test_no_database_at_all() -> None:
    with pytest.raises(BadInput, match="DATABASE_URL is not set"):
        resolve_connection(None, env={})


def test_railway_context_and_operator() -> None:
    env = {
        "RAILWAY_PROJECT_NAME": "bollalabz",
        "RAILWAY_ENVIRONMENT_NAME": "production",
        "RAILWAY_SERVICE_NAME": "bollalabz-backend",
    }
    assert railway_context(env) == {
        "project": "bollalabz",
        "environment": "production",
        "service": "bollalabz-backend",
    }
    assert railway_context({}) == {}
    assert default_operator({"MIGRATION_CONSOLE_OPERATOR": "alice"}) == "alice"
    assert "@" in default_operator({})


def test_redactor_handles_no_secrets() -> None:
    assert Redactor(())("nothing to hide") == "nothing to hide"


def test_the_record_a_resumed_run_closes_reaches_the_spawned_runner() -> None:
    """The TUI's runner gets the interrupted record its run resumes through the same JSON
    (``recovery.resumed``; the runner writes it as the run starts)."""
    from datetime import UTC, datetime
    from pathlib import Path

    from console.core.history import RunRecord, StatementRecord
    from console.core.run.process import _spec, from_spec
    from console.core.run.request import RunRequest

    started = datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC)
    closes = RunRecord(
        "m",
        status="interrupted",
        started_at=started,
        finished_at=started,
        statements=[StatementRecord(1, 2, "CREATE INDEX i ON t (a)", "succeeded", 0.5, 1)],
        error="The runner went away.",
        invalid_indexes=["i_ccnew"],
        run_id="old-run",
        extra={"resolution": {"what": "resumed", "by": "me", "at": started, "run": "new"}},
    )
    settings = resolve_connection("postgresql://u:pw@h/db", env={})
    request = RunRequest(Path("m.sql"), "run", run_id="new", resumes="old-run")
    for given in (closes, None):
        spec = json.loads(json.dumps(_spec(settings, request, 7, given)))
        back_settings, back_request, wake, back = from_spec(spec)
        assert (back_settings, back_request, wake) == (settings, request, 7)
        if given is None:
            assert back is None
        else:
            assert back is not None and back.to_toml() == closes.to_toml()
