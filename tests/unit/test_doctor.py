"""The connection doctor's judgements that need no server: URL facts, pooling, TLS, units."""

from __future__ import annotations

import ssl

import pytest

from console.core.doctor import url
from console.core.doctor.endpoint import pooler_check, tls_check
from console.core.doctor.server import setting_ms
from console.db.diagnostics import SessionProbe, SslStatus
from console.settings import resolve_connection

PUBLIC_PW = "publ1c-pw"


def target(dsn: str, **env: str) -> url.Target:
    return url.target(resolve_connection(dsn, env={}), env)


def test_target_reads_socket_port_and_sslmode() -> None:
    t = target("postgresql://postgres@/demo?host=/tmp/pg&port=5433")
    assert (t.host, t.port, t.socket, t.sslmode, t.sslmode_source) == (
        "/tmp/pg",
        5433,
        True,
        "prefer",
        "the default",
    )
    t = target("postgresql://u:p@x.proxy.rlwy.net:41234/railway?sslmode=Require")
    assert (t.railway_proxy, t.sslmode, t.sslmode_source) == (True, "require", "the URL")
    assert target("postgresql://u@h/db", PGSSLMODE="verify-full").sslmode_source == "PGSSLMODE"


@pytest.mark.parametrize(
    ("dsn", "strong", "words"),
    [
        ("postgresql://u@ep-1-pooler.us-east-2.aws.neon.tech/db", True, "'pooler'"),
        ("postgresql://u@pgbouncer.internal:5432/db", True, "'pgbouncer'"),
        ("postgresql://u@db.example.com/db?pgbouncer=true", True, "pgbouncer=true"),
        ("postgresql://u@db.example.com:6432/db", False, "port 6432"),
        ("postgresql://u@aws-0-eu.pooler.supabase.com:6543/db", True, "port 6543"),
    ],
)
def test_pooler_signals(dsn: str, strong: bool, words: str) -> None:
    reasons, is_strong = url.pooler_signals(target(dsn))
    assert is_strong is strong
    assert words in "; ".join(reasons)


def test_plain_url_is_not_pooled() -> None:
    assert url.pooler_signals(target("postgresql://u@db.example.com:5432/db")) == ([], False)


def test_pooler_check_by_behaviour() -> None:
    t = target("postgresql://u@db.example.com/db")
    env = {"DATABASE_PUBLIC_UNPOOLED_URL": f"postgresql://u:{PUBLIC_PW}@direct.example.com/db"}
    moved = pooler_check(
        t,
        env,
        None,
        probe=SessionProbe(10, 11, False),
        probe_failed=None,
        rejected_startup=False,
        avoid_internal=True,
    )
    assert moved.verdict == "fail"
    assert "pid 10, then pid 11" in moved.summary
    assert '"$DATABASE_PUBLIC_UNPOOLED_URL"' in moved.fix and PUBLIC_PW not in moved.fix
    kept = pooler_check(
        t,
        {},
        None,
        probe=SessionProbe(10, 10, True),
        probe_failed=None,
        rejected_startup=False,
        avoid_internal=True,
    )
    assert kept.verdict == "ok"
    refused = pooler_check(
        t, {}, None, probe=None, probe_failed=None, rejected_startup=True, avoid_internal=True
    )
    assert refused.verdict == "fail" and "startup parameter" in refused.summary


def test_unpooled_fix_skips_pooled_and_private_candidates() -> None:
    env = {
        "DATABASE_UNPOOLED_URL": "postgresql://u:a@postgres.railway.internal:5432/db",
        "DATABASE_URL_UNPOOLED": "postgresql://u:b@ep-1-pooler.neon.tech/db",
        "DIRECT_URL": "postgresql://u:c@ep-1.neon.tech/db",
    }
    fix = url.unpooled_fix(env, None, avoid_internal=True)
    assert '"$DIRECT_URL"' in fix and "u:***@ep-1.neon.tech" in fix
    assert '"$DATABASE_UNPOOLED_URL"' in url.unpooled_fix(env, None, avoid_internal=False)
    assert "DIRECT_URL" in url.unpooled_fix({}, None, avoid_internal=True)


RAILWAY = "postgresql://u@roundhouse.proxy.rlwy.net:41234/railway"


def test_tls_self_signed_certificate_on_railway() -> None:
    cause = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    c = tls_check(target(RAILWAY + "?sslmode=verify-full"), cause, None, connected=False)
    assert c.verdict == "fail"
    assert "sslmode=verify-full" in c.summary and "self-signed" in c.summary
    assert c.fix.startswith("Use sslmode=require")


def test_tls_verdicts_without_errors() -> None:
    disable = tls_check(target(RAILWAY + "?sslmode=disable"), None, None, connected=False)
    assert disable.verdict == "warn" and "unencrypted" in disable.summary
    verify = tls_check(target(RAILWAY + "?sslmode=verify-full"), None, None, connected=False)
    assert verify.verdict == "warn" and "sslmode=require" in verify.fix
    encrypted = tls_check(target(RAILWAY), None, SslStatus(True, "TLSv1.3"), connected=True)
    assert encrypted.verdict == "ok" and "TLSv1.3" in encrypted.summary
    clear = tls_check(
        target("postgresql://u@db.example.com/db"), None, SslStatus(False, None), True
    )
    assert clear.verdict == "warn"
    local = tls_check(target("postgresql://u@localhost/db"), None, SslStatus(False, None), True)
    assert local.verdict == "ok"
    rejected = ConnectionError('PostgreSQL server at "h:5432" rejected SSL upgrade')
    c = tls_check(target("postgresql://u@h/db?sslmode=require"), rejected, None, False)
    assert c.verdict == "fail" and "does not offer TLS" in c.summary


@pytest.mark.parametrize(
    ("value", "ms"),
    [("0", 0), ("1500", 1500), ("30s", 30_000), ("5min", 300_000), ("2h", 7_200_000)],
)
def test_setting_ms(value: str, ms: float) -> None:
    assert setting_ms(value) == ms


def test_setting_ms_unreadable() -> None:
    assert setting_ms("soon") is None


def test_inside_railway_ignores_cli_tokens() -> None:
    assert url.inside_railway({"RAILWAY_ENVIRONMENT_NAME": "production"})
    assert not url.inside_railway({"RAILWAY_TOKEN": "t", "RAILWAY_API_TOKEN": "t"})
