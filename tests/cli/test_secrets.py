"""A password never leaves: not on screen, in errors, history.toml, run logs, the runner's
stderr or screenshots; for every command, for every way of giving it, and for connections
that fail.

The sentinel password holds every character that breaks URL parsing (``/ # ? @ : %``);
each stretch between them is distinctive, so a password cut in pieces by a bad parser is
found too, not only the whole of it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import asyncpg
import pytest
from textual.widgets import DataTable

from console.connection import UNPARSABLE_URL, parse_dsn
from console.tui.app import MigrationConsoleApp
from tests.helpers import (
    MIGRATIONS,
    ROOT,
    SECRET_PASSWORD,
    SECRET_ROLE,
    CliResult,
    run_cli_async,
)
from tests.ui.harness import loaded, make_app, press_and_confirm, until

NAME = "add_composite_indexes_20251123"

SENTINEL = "S3nt!n3l/Qx7#Jk2?Vb9@Lm4:Rt6%Yw8"
WRONG = "Wr0ng!/Hq5#Pz3?Dk8@Ns1:Gu2%Ej6"  # for failed sign-ins: must not show either


def pieces(secret: str) -> list[str]:
    """The secret whole, percent-encoded both ways, and each stretch between specials."""
    return [secret, quote(secret, safe=""), quote_plus(secret, safe="")] + [
        p for p in re.split(r"[/#?@:%]", secret) if p
    ]


def leaks(text: str) -> list[str]:
    return [p for secret in (SENTINEL, WRONG) for p in pieces(secret) if p in text]


def assert_clean(text: str, what: str = "") -> None:
    assert "Traceback" not in text, what
    assert leaks(text) == [], (what, text)


def assert_files_clean(*folders: Path) -> set[Path]:
    """Every file under the folders (history, event logs, the runner's stderr, records,
    screenshots); returns the files it read."""
    files = {p for folder in folders for p in folder.rglob("*") if p.is_file()}
    for path in sorted(files):
        text = path.read_text(errors="replace")
        assert leaks(text) == [], (str(path), text)
    return files


def run_files(state_dir: Path) -> dict[str, list[Path]]:
    """The runner's event logs and stderr files, by suffix."""
    return {suffix: sorted(state_dir.rglob(f"*{suffix}")) for suffix in (".jsonl", ".stderr")}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A project folder: the shipped migrations and a copy of the shipped history."""
    shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    shutil.copy(ROOT / "history.toml", tmp_path / "history.toml")
    return tmp_path


# -- the sentinel role ----------------------------------------------------------------------


async def _set_password(admin_url: str, password: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        sql = await conn.fetchval(
            "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", SECRET_ROLE, password
        )
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def sentinel_role(pg_admin_url: str, helper: asyncpg.Connection) -> AsyncIterator[str]:
    """``mc_secret_user`` (the role the server asks a password of) with the sentinel
    password, owning the migration's tables in this test's database."""
    await _set_password(pg_admin_url, SENTINEL)
    for table in ("conversation_messages", "call_costs", "scheduled_tasks"):
        await helper.execute(f"ALTER TABLE {table} OWNER TO {SECRET_ROLE}")
    await helper.execute(f"GRANT CREATE ON SCHEMA public TO {SECRET_ROLE}")
    try:
        yield SECRET_ROLE
    finally:
        await _set_password(pg_admin_url, SECRET_PASSWORD)


def url_for(
    db_url: str,
    password: str | None = SENTINEL,
    *,
    host: str | None = None,
    port: int | None = None,
    database: str | None = None,
) -> str:
    """The test database (or another place) as a URL, the password percent-encoded."""
    d = parse_dsn(db_url)
    userinfo = SECRET_ROLE + ("" if password is None else ":" + quote(password, safe=""))
    path = "/" + quote(database or d.database or "", safe="")
    if host is not None:
        return f"postgresql://{userinfo}@{host}:{port}{path}"
    port_param = "" if d.port is None else f"&port={d.port}"
    return f"postgresql://{userinfo}@{path}?host={quote(d.host or '', safe='/')}{port_param}"


def conninfo(
    db_url: str,
    password: str = SENTINEL,
    *,
    host: str | None = None,
    port: int | None = None,
    database: str | None = None,
) -> str:
    """The test database as libpq key=value pairs, the password in single quotes."""
    d = parse_dsn(db_url)
    quoted = password.replace("\\", "\\\\").replace("'", "\\'")
    return (
        f"host={host or d.host} port={port or d.port or 5432} user={SECRET_ROLE} "
        f"password='{quoted}' dbname={database or d.database}"
    )


# Four ways to give the password: in the URL (percent-encoded), in PGPASSWORD beside a URL
# without one, in key=value pairs, and in libpq's PG* variables with no URL at all.
def given(
    form: str, db_url: str, password: str = SENTINEL, **where: Any
) -> tuple[str | None, dict[str, str]]:
    """The DSN (DATABASE_URL) and the environment for ``run_cli``."""
    if form == "url":
        return url_for(db_url, password, **where), {}
    if form == "pgpassword":
        return url_for(db_url, None, **where), {"PGPASSWORD": password}
    if form == "key=value":
        return conninfo(db_url, password, **where), {}
    d = parse_dsn(db_url)
    return None, {
        "PGHOST": where.get("host") or d.host or "",
        "PGPORT": str(where.get("port") or d.port or 5432),
        "PGUSER": SECRET_ROLE,
        "PGPASSWORD": password,
        "PGDATABASE": where.get("database") or d.database or "",
    }


FORMS = ["url", "pgpassword", "key=value", "pg variables"]

# Every command, in an order that leaves the database as it found it; the exit code each
# must end with.
COMMANDS: list[tuple[tuple[str, ...], int]] = [
    (("--version",), 0),
    (("status",), 0),
    (("status", "--json"), 0),
    (("plan", NAME), 0),
    (("doctor",), 0),
    (("doctor", "--json"), 0),
    (("run", NAME, "--yes"), 0),
    (("verify", NAME), 0),
    (("verify", NAME, "--json"), 0),
    (("blockers",), 0),
    (("blockers", "--json"), 0),
    (("blockers", NAME), 0),
    (("attach", NAME), 0),
    (("recover", NAME), 0),
    (("rollback", NAME, "--yes"), 0),
    (("history",), 0),
    (("history", "--json"), 0),
    (("cancel", NAME), 2),
]


@pytest.mark.parametrize("form", FORMS)
async def test_every_command(
    form: str,
    db_url: str,
    sentinel_role: str,
    workdir: Path,
    state_dir: Path,
) -> None:
    dsn, env = given(form, db_url)
    said: dict[tuple[str, ...], CliResult] = {}
    for args, code in COMMANDS:
        r = await run_cli_async(*args, url=dsn, cwd=workdir, env=env)
        assert r.code == code, (args, r.output)
        assert_clean(r.output, " ".join(args))
        said[args] = r
    # the sentinel reached the server intact: the run signed in with it and built the indexes
    assert "run succeeded" in said["run", NAME, "--yes"].stdout
    assert "All checks hold." in said["verify", NAME].stdout
    status, history = said[("status",)].stdout, (workdir / "history.toml").read_text()
    if form in ("url", "pg variables"):
        assert f"{SECRET_ROLE}:***@" in status
        assert f"{SECRET_ROLE}:***@" in history  # each run's database, masked
    if form == "key=value":
        assert "password=***" in status and "password=***" in history
    files = assert_files_clean(workdir, state_dir)
    runs = run_files(state_dir)
    assert len(runs[".jsonl"]) == 2 and len(runs[".stderr"]) == 2  # the run and the rollback
    assert workdir / "history.toml" in files and set(runs[".jsonl"]) <= files


# -- connections that fail --------------------------------------------------------------------


# How each failure is made, and what the command must say (exit 3: cannot connect).
FAILURES: dict[str, tuple[dict[str, Any], str]] = {
    "wrong database": ({"database": "no_such_database"}, "does not exist"),
    "unreachable host": ({"host": "127.0.0.1", "port": 1}, "Cannot reach the database"),
    "wrong password": ({"password": WRONG}, "refused the password"),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", list(FAILURES))
async def test_failing_connections(
    case: str,
    form: str,
    db_url: str,
    sentinel_role: str,
    workdir: Path,
    state_dir: Path,
) -> None:
    where, said = FAILURES[case]
    dsn, env = given(form, db_url, **where)
    for args in (("status",), ("run", NAME, "--yes"), ("doctor",), ("doctor", "--json")):
        r = await run_cli_async(*args, url=dsn, cwd=workdir, env=env)
        if case == "wrong password" and r.code == 0:
            pytest.skip("this server does not ask for passwords")
        assert r.code == 3, (args, r.output)
        assert said in r.output, (args, r.output)
        assert_clean(r.output, " ".join(args))
    assert_files_clean(workdir, state_dir)


def assert_unparsable(r: CliResult, password: str, what: object) -> None:
    """Exit 2, the one sentence, and nothing of the URL: no piece of the password, no host."""
    assert r.code == 2, (what, r.output)
    assert r.stderr.splitlines()[0] == f"error: {UNPARSABLE_URL}", (what, r.stderr)
    assert "Traceback" not in r.output
    shown = r.output.replace(UNPARSABLE_URL, "")
    for piece in {password, *re.split(r"[/#?@%]", password), "db.example", "5432"}:
        if len(piece) > 2:
            assert piece not in shown, (what, piece, r.output)


def unparsable(password: str) -> str:
    return f"postgresql://{SECRET_ROLE}:{password}@db.example.internal:5432/app"


@pytest.mark.parametrize("password", ["Zq/9w", "Zq#9w", "Zq?9w", "Zq@9w", "1234/Zq9w", "Zq%zz9w"])
async def test_each_unencoded_special_is_one_sentence(password: str, workdir: Path) -> None:
    url = unparsable(password)
    r = await run_cli_async("status", url=url, cwd=workdir)
    assert_unparsable(r, password, "DATABASE_URL")
    r = await run_cli_async("--database-url", url, "status", cwd=workdir)
    assert_unparsable(r, password, "--database-url")


# A byte that is not UTF-8 (\xff), as a command line or an environment variable may hold
# it: Python hands it over as a lone surrogate.
NOT_UTF8 = "Zq\udcff9w"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://{SECRET_ROLE}:{NOT_UTF8}@db.example.internal:5432/app",
        f"postgresql://u{NOT_UTF8}:Zq9w@db.example.internal:5432/app",
        f"host=db.example.internal password={NOT_UTF8}",
    ],
)
async def test_a_connection_string_that_is_not_utf8_is_one_sentence(
    url: str, workdir: Path
) -> None:
    for args, env in (
        (("status",), {"DATABASE_URL": url}),
        (("--database-url", url, "status"), {}),
        (("--database-url", url, "run", NAME, "--yes"), {}),
    ):
        r = await run_cli_async(*args, cwd=workdir, env=env)
        assert r.code == 2, (args, r.output)
        assert r.stderr.startswith("error: cannot read the connection string: it holds bytes"), (
            args,
            r.output,
        )
        assert "Traceback" not in r.output and "Zq" not in r.output, (args, r.output)
    assert_files_clean(workdir)


async def test_unparsable_url_for_every_command_that_connects(workdir: Path) -> None:
    url = unparsable(SENTINEL)
    for args in (
        ("status", "--json"),
        ("run", NAME, "--yes"),
        ("verify", NAME),
        ("blockers", "--json"),
        ("doctor", "--json"),
    ):
        r = await run_cli_async(*args, url=url, cwd=workdir)
        assert_unparsable(r, SENTINEL, args)
    assert_files_clean(workdir)


# -- the console (TUI) -----------------------------------------------------------------------


def screenshot(app: MigrationConsoleApp, folder: Path, name: str) -> str:
    """An exported SVG screenshot's text, checked for the password."""
    folder.mkdir(exist_ok=True)
    svg = Path(app.save_screenshot(f"{name}.svg", path=str(folder))).read_text()
    assert leaks(svg) == [], name
    return svg


async def test_console_run_blockers_verify_and_screenshots(
    db_url: str, sentinel_role: str, tmp_path: Path, state_dir: Path
) -> None:
    shots = tmp_path / "screenshots"
    app = make_app(url_for(db_url), tmp_path, doctor=True)  # the doctor runs at start, too
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await until(lambda: "PostgreSQL" in str(app.query_one("#topbar").render()))
        place = app.service.settings.place  # the database and where, from the masked URL
        assert place.split(" on ")[0] == parse_dsn(db_url).database
        assert place in str(app.query_one("#topbar").render())
        assert place in screenshot(app, shots, "migrations").replace("&#160;", " ")
        await press_and_confirm(pilot, "r")
        await until(lambda: app.runs.last_result is not None, limit_s=60)
        assert app.runs.last_result is not None and app.runs.last_result.status == "succeeded"
        screenshot(app, shots, "run")
        await pilot.press("4")
        app.refresh_blockers()
        await until(lambda: "non-idle" in str(app.query_one("#blockers-status").render()))
        screenshot(app, shots, "blockers")
        await pilot.press("v")
        table = app.query_one("#verify-indexes", DataTable)
        await until(lambda: table.row_count == 4 and "ok" in str(table.get_row_at(0)))
        screenshot(app, shots, "verify")
    files = assert_files_clean(tmp_path, state_dir)
    assert len(list(shots.glob("*.svg"))) == 4 and tmp_path / "history.toml" in files
    assert len(run_files(state_dir)[".jsonl"]) == 1  # the runner process's log, read above


async def asks_for_passwords(db_url: str) -> bool:
    try:
        conn = await asyncpg.connect(url_for(db_url, WRONG))
    except asyncpg.InvalidPasswordError:
        return True
    await conn.close()
    return False


async def test_console_with_a_wrong_password(
    db_url: str, sentinel_role: str, tmp_path: Path
) -> None:
    if not await asks_for_passwords(db_url):
        pytest.skip("this server does not ask for passwords")
    app = make_app(url_for(db_url, WRONG), tmp_path, doctor=True)
    async with app.run_test(size=(120, 40)):
        banner = app.query_one("#banner")
        await until(lambda: banner.has_class("-visible"))
        assert "refused the password" in str(banner.render())
        # The banner's new text reaches the screen on the next repaint: wait for that frame
        # (every screenshot taken on the way is checked for the password too).
        await until(lambda: "refused" in screenshot(app, tmp_path, "refused"))
    assert_files_clean(tmp_path)
