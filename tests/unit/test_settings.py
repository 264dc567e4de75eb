from __future__ import annotations

import pytest

from console.core.errors import BadInput
from console.core.settings import (
    Redactor,
    default_operator,
    mask_url,
    railway_context,
    resolve_connection,
)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u:p%40ss@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db?user=u&password=zz", "postgresql://h/db?user=u&password=***"),
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


@pytest.mark.parametrize("bad", ["", "mysql://x", "postgresql://u:p@h:notaport/db"])
def test_bad_urls_are_bad_input(bad: str) -> None:
    with pytest.raises(BadInput) as info:
        resolve_connection(bad, env={})
    assert "secret" not in str(info.value)


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
