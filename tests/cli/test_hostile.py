"""Odd input and impatient operators: one sentence, exit 2 (or 130), nothing held."""

from __future__ import annotations

import asyncio
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import asyncpg
import pytest

from tests.helpers import (
    MIGRATIONS,
    OTHER_ROLE,
    ROOT,
    SLOW_HOST,
    poll_until,
    run_cli,
    run_cli_async,
    slow_dns_hook,
    with_user,
)

NAME = "add_composite_indexes_20251123"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    shutil.copy(ROOT / "history.toml", tmp_path / "history.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("blockers", "--pid", "99999999999"), "a pid must be between 1 and"),
        (("blockers", "--pid", "-3"), "a pid must be between 1 and"),
        (("plan", "a" * 300), "at most 255 characters"),
        (("plan", "x/" * 600 + "y"), "at most 1024 are allowed"),
        (("plan", "bad\x01name"), "must not contain control characters"),
        (("run", NAME, "--yes", "--operator", "ana\x1b[31m"), "must not contain control"),
        (("run", NAME, "--yes", "--lock-timeout", "nan"), "is not a duration"),
        (("run", NAME, "--yes", "--lock-timeout", "inf"), "is not a duration"),
        (("run", NAME, "--yes", "--lock-timeout=-5s"), "must be a positive duration"),
        (("run", NAME, "--yes", "--lock-timeout", "0.0001"), "rounds to 0 ms"),
        (("run", NAME, "--yes", "--retry-backoff", "1e400"), "must be a positive duration"),
        (("run", NAME, "--yes", "--max-wait", "2 fortnights"), "unknown unit"),
        (("run", NAME, "--yes", "--lock-retries", "100000"), "between 0 and 100"),
        (("demo", "--rows", "1000000000000", "--no-tui"), "--rows must be between 1 and"),
        # A byte that is not UTF-8 (\xff arrives as a lone surrogate): history.toml could
        # not hold it, so the run's record would be lost.
        (("run", NAME, "--yes", "--operator", "ana\udcff"), "bytes that are not UTF-8"),
        (("run", NAME, "--yes", "--notes", "n\udcffte"), "bytes that are not UTF-8"),
        (("plan", "add\udcffx"), "bytes that are not UTF-8"),
        (("recover", NAME, "--mark", "n\udcffte"), "bytes that are not UTF-8"),
    ],
)
def test_odd_values_are_refused_with_exit_2(
    workdir: Path, args: tuple[str, ...], says: str
) -> None:
    r = run_cli(*args, url="postgresql://u@127.0.0.1:1/x", cwd=workdir)
    assert r.code == 2, r.output
    assert says in r.stderr
    assert "Traceback" not in r.output and "Unexpected error" not in r.output


async def test_an_operator_from_the_environment_that_is_not_utf8_is_recorded(
    db_url: str, workdir: Path
) -> None:
    # MIGRATION_CONSOLE_OPERATOR and the Railway labels are not checked like arguments:
    # a byte that is not UTF-8 becomes U+FFFD in the record, which is written.
    env = {"MIGRATION_CONSOLE_OPERATOR": "ana\udcff", "RAILWAY_SERVICE_NAME": "web\udcff"}
    r = await run_cli_async("rollback", NAME, "--yes", url=db_url, cwd=workdir, env=env)
    assert r.code == 0, r.output
    assert "recorded in" in r.stdout and "not in" not in r.stdout
    record = tomllib.loads((workdir / "history.toml").read_text())["runs"][-1]
    assert record["executed_by"] == "ana\ufffd"
    assert record["environment"]["service"] == "web\ufffd"
    assert record["status"] == "succeeded"


def test_the_bare_command_without_a_terminal_says_what_to_run(workdir: Path) -> None:
    r = run_cli(url="postgresql://u@127.0.0.1:1/x", cwd=workdir, input="")
    assert r.code == 2, r.output
    assert "needs a terminal" in r.stderr and "migration-console status" in r.stderr


async def test_rollback_by_a_role_that_does_not_own_the_tables_is_refused(
    db_url: str, workdir: Path
) -> None:
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    r = await run_cli_async(
        "rollback", NAME, "--yes", url=with_user(db_url, OTHER_ROLE), cwd=workdir
    )
    assert r.code == 3, r.output
    assert f"Role {OTHER_ROLE} may not create or drop indexes" in r.stderr


def test_ctrl_c_during_a_hung_dns_lookup_exits_at_once(workdir: Path, tmp_path: Path) -> None:
    hook, entered = slow_dns_hook(tmp_path)
    env = {
        **os.environ,
        "PYTHONPATH": f"{hook}:{ROOT}",
        "DATABASE_URL": f"postgresql://u:pw@{SLOW_HOST}:5432/x",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "status"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    end = time.monotonic() + 60
    while not entered.exists():  # the lookup is under way (and will hang for 2 minutes)
        assert time.monotonic() < end and proc.poll() is None, "it never looked the host up"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)  # far less than the hung lookup's 120 s
    assert proc.returncode == 130, err
    assert "Interrupted." in err and "Traceback" not in err


async def asked(db_url: str, workdir: Path, *command: str) -> tuple[subprocess.Popen[bytes], int]:
    """`run` (or ``command``) on a terminal of its own (a pty: its master end returned),
    once its question is on screen."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url, "NO_COLOR": "1"}
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once; waited for in a thread
        [sys.executable, "-m", "console", *(command or ("run", NAME))],
        cwd=workdir,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,  # the pty becomes its terminal: Ctrl-C reaches it
    )
    os.close(slave)
    seen = b""
    try:
        while b"[y/N]" not in seen:
            chunk = await asyncio.wait_for(asyncio.to_thread(os.read, master, 4096), 60)
            assert chunk, seen.decode(errors="replace")
            seen += chunk
    except BaseException:
        proc.kill()
        os.close(master)
        raise
    return proc, master


def said_after(master: int) -> str:
    """What the terminal showed after the question, once the command has exited."""
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the command's end of the terminal is closed
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


async def test_ctrl_c_at_the_confirmation_prompt_exits_130_holding_nothing(
    db_url: str, observer: asyncpg.Connection, workdir: Path
) -> None:
    proc, master = await asked(db_url, workdir)
    try:
        # The question is on screen: nothing of the run is held on the server meanwhile
        # (the sessions of the runner's checks, closed before it, may take a moment to
        # leave pg_stat_activity; one kept open never leaves, and the wait fails).
        await poll_until(
            observer,
            "SELECT count(*) = 0 FROM pg_stat_activity "
            "WHERE application_name LIKE 'migration-console%'",
        )
        proc.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(proc.wait, 30)
    finally:
        os.close(master)
    assert code == 130
    assert await observer.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 19779"
    ) == 0  # fmt: skip


async def test_no_at_the_confirmation_prompt_does_nothing(db_url: str, workdir: Path) -> None:
    history = (workdir / "history.toml").read_text()
    proc, master = await asked(db_url, workdir)
    try:
        os.write(master, b"n\n")
        code = await asyncio.to_thread(proc.wait, 30)
        said = said_after(master)
    finally:
        os.close(master)
    assert code == 0, said
    assert "Nothing was done." in said
    assert (workdir / "history.toml").read_text() == history  # no run was recorded


async def test_a_state_folder_that_cannot_take_the_event_log_refuses_before_running(
    db_url: str, observer: asyncpg.Connection, workdir: Path, tmp_path: Path
) -> None:
    # Where runs keep their event logs cannot be written (here: a file in its way; a
    # full disk says "No space left on device" the same way). It was "Unexpected error".
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    history = (workdir / "history.toml").read_text()
    r = await run_cli_async(
        "run",
        NAME,
        "--yes",
        url=db_url,
        cwd=workdir,
        env={"MIGRATION_CONSOLE_STATE_DIR": str(blocker / "state")},
    )
    assert r.code == 2, r.output
    assert r.stderr.startswith(
        f"error: Cannot write the run's event log in {blocker / 'state' / 'runs'} (Not a directory)"
    ), r.stderr
    assert "Unexpected" not in r.output and "Traceback" not in r.output
    assert (workdir / "history.toml").read_text() == history
    await poll_until(
        observer,
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE $1",
        "migration-console%",
    )
    assert (
        await observer.fetchval("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx_%'") == 0
    )


async def test_a_state_folder_whose_name_is_not_utf8_refuses_before_running(
    db_url: str, observer: asyncpg.Connection, workdir: Path, tmp_path: Path
) -> None:
    # history.toml records where the run's event log is, and TOML holds only UTF-8: such
    # a run's record went to a fallback file, and its log's lines could not be written
    # (the runner's recorder died, and the face waited for an end that never came).
    history = (workdir / "history.toml").read_text()
    state = tmp_path / "st\udce9te"  # the byte \xe9, as Python reads it from a name
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir,
        env={"MIGRATION_CONSOLE_STATE_DIR": str(state)}, timeout=60,
    )  # fmt: skip
    assert r.code == 2, r.output
    assert r.stderr.startswith(
        f"error: The folder for the run's event log, {tmp_path}/st\ufffdte/runs, has a name "
        "that is not UTF-8"
    ), r.stderr
    assert "MIGRATION_CONSOLE_STATE_DIR" in r.stderr
    assert "Traceback" not in r.output
    assert (workdir / "history.toml").read_text() == history
    assert not os.path.exists(os.fsencode(str(state)))  # nothing was made there
    await poll_until(
        observer,
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE $1",
        "migration-console%",
    )


async def test_an_output_that_holds_only_ascii_gets_the_whole_run(
    db_url: str, workdir: Path
) -> None:
    # A terminal or pipe that holds only ASCII (here PYTHONIOENCODING=ascii, the locale
    # still UTF-8): the face crashed at the run's first line ("Unexpected error", exit 1)
    # while its runner went on and recorded the run succeeded.
    env = {
        "PYTHONIOENCODING": "ascii",
        "MIGRATION_CONSOLE_OPERATOR": "José",
        "MIGRATION_CONSOLE_ASCII": "",  # the tests' default forces the Unicode table
    }
    r = await run_cli_async("rollback", NAME, "--yes", url=db_url, cwd=workdir, env=env)
    assert r.code == 0, r.output
    assert "Unexpected" not in r.output and r.output.isascii()
    assert "# rollback succeeded" in r.stdout  # the ASCII glyphs, chosen from the output
    r = await run_cli_async("history", cwd=workdir, env=env)
    assert r.code == 0 and "Jos?" in r.stdout, r.output  # what it cannot hold: "?"


def started_closed(
    fd: int, workdir: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``python -m console ARGS`` started with descriptor ``fd`` closed (in the child,
    before the console starts); the other two captured, standard input /dev/null."""
    stdio: dict[str, int | None] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
    }
    stdio[("stdin", "stdout", "stderr")[fd]] = None  # the test's own, closed in the child
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        cwd=workdir,
        env=env,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(fd),  # noqa: PLW1509 - that descriptor, nothing else
        **stdio,  # type: ignore[arg-type]
    )


async def test_a_command_started_with_its_standard_streams_closed(
    db_url: str, workdir: Path
) -> None:
    # `migration-console run … >&-` (a cron line, a service): Python's stdout is None.
    # The face ended on "AttributeError: 'NoneType' object has no attribute 'flush'"
    # (exit 1, the run recorded succeeded), and without --yes on "… 'isatty'".
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url}
    r = await asyncio.to_thread(started_closed, 1, workdir, env, "rollback", NAME, "--yes")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    record = tomllib.loads((workdir / "history.toml").read_text())["runs"][-1]
    assert record["status"] == "succeeded" and record["action"] == "rollback"
    r = await asyncio.to_thread(started_closed, 0, workdir, env, "rollback", NAME)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: Refusing to change the database without confirmation")


async def test_a_database_that_takes_only_reads_is_refused_before_the_first_statement(
    db_url: str, observer: asyncpg.Connection, workdir: Path
) -> None:
    # A standby, or a read-only default: the run failed at its first CREATE INDEX and
    # was recorded failed. The preflight says it before anything starts.
    name = await observer.fetchval("SELECT current_database()")
    await observer.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    history = (workdir / "history.toml").read_text()
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 3, r.output
    assert r.stderr.startswith(f"error: Database {name} takes only reads here"), r.stderr
    assert "statement 1 (CREATE INDEX CONCURRENTLY) could not run; nothing was run." in r.stderr
    assert (workdir / "history.toml").read_text() == history


def test_a_recorded_log_that_is_no_file_is_not_followed(workdir: Path) -> None:
    # history.toml is a file people edit: a run's `log` naming /dev/zero made `attach`
    # read zeros until memory ran out. Only a regular file is a run's event log.
    (workdir / "history.toml").write_text(
        "[[runs]]\n"
        f'migration = "{NAME}"\n'
        'action = "run"\n'
        'status = "succeeded"\n'
        "started_at = 2026-12-01T10:00:00Z\n"
        "finished_at = 2026-12-01T10:00:05Z\n"
        'executed_by = "x"\n'
        'run_id = "r1"\n'
        'log = "/dev/zero"\n'
    )
    r = run_cli("attach", NAME, url="postgresql://u@localhost:1/x", cwd=workdir, timeout=60)
    assert r.code == 0, r.output
    assert "(no event log here)" in r.stdout
