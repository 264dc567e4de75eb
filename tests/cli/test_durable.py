"""Runs that outlive the terminal, and recovery after a crash, as an operator meets them.

Each test starts `migration-console run` as a separate process, lets its first
build wait on a writer the test holds open, does something bad to the console
while it waits (SIGHUP, a closed pipe, SIGKILL, SIGTERM), and only then lets the
writer go. What history.toml and the database hold afterwards is checked.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tomllib
from pathlib import Path

import asyncpg
import pytest

from console.db import runlock
from tests.cli.test_hostile import asked, said_after
from tests.helpers import (
    MIGRATIONS,
    ROOT,
    RUN_SESSION,
    hold_write,
    logged,
    poll_until,
    run_cli_async,
    run_log,
    spawn_cli,
)

NAME = "add_composite_indexes_20251123"
FIRST = "idx_conversation_messages_user_contact_date"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(MIGRATIONS, tmp_path / "migrations")
    shutil.copy(ROOT / "history.toml", tmp_path / "history.toml")
    return tmp_path


def runs(workdir: Path) -> list[dict]:
    return tomllib.loads((workdir / "history.toml").read_text()).get("runs", [])


async def until_recorded(workdir: Path, status: str, limit_s: float = 60) -> dict:
    """The latest run's record, once it has this status."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while loop.time() < end:
        found = runs(workdir)
        if found and found[-1]["status"] == status:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"never recorded {status}: {runs(workdir)[-1:]}")


async def started_waiting(workdir: Path) -> dict:
    """The running record, once the runner has reported its first build waiting."""
    log = await run_log(workdir / "history.toml")
    await logged(log, "Waiting", number=1)
    return next(r for r in reversed(runs(workdir)) if r["status"] == "running")


async def valid(conn: asyncpg.Connection) -> dict[str, bool]:
    rows = await conn.fetch(
        "SELECT c.relname, x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
        "WHERE c.relname LIKE 'idx_%'"
    )
    return {r["relname"]: r["indisvalid"] for r in rows}


async def said(proc: subprocess.Popen[str], text: str) -> None:
    """Until the process has printed a line containing text."""
    assert proc.stdout is not None
    lines: list[str] = []
    while True:
        line = await asyncio.to_thread(proc.stdout.readline)
        if not line:
            rest = proc.stderr.read() if proc.stderr is not None else ""
            raise AssertionError(f"it never said {text!r}; it said: {''.join(lines)}{rest}")
        lines.append(line)
        if text in line:
            return


async def kill_everything(face: subprocess.Popen[str], record: dict) -> None:
    """SIGKILL the command and its runner: every console process of the run is gone."""
    face.kill()
    os.kill(record["runner_pid"], signal.SIGKILL)
    await asyncio.to_thread(face.wait, timeout=30)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


async def test_sighup_mid_run_the_run_completes_and_is_recorded(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    record = await started_waiting(workdir)
    face.send_signal(signal.SIGHUP)  # the terminal closed
    await asyncio.to_thread(face.communicate, timeout=30)
    assert face.returncode == 128 + signal.SIGHUP
    assert alive(record["runner_pid"])
    await helper.execute("ROLLBACK")
    done = await until_recorded(workdir, "succeeded")
    assert done["run_id"] == record["run_id"]
    assert [s["status"] for s in done["statements"]] == ["succeeded"] * 7
    assert all((await valid(helper)).values()) and len(await valid(helper)) == 4


async def test_closed_output_pipe_the_run_completes(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    await started_waiting(workdir)
    assert face.stdout is not None
    face.stdout.close()  # `migration-console run … | head -3` once head has had enough
    await helper.execute("ROLLBACK")
    await until_recorded(workdir, "succeeded")
    await asyncio.to_thread(face.wait, timeout=30)
    assert face.returncode is not None


async def test_sigterm_to_the_runner_cancels_on_the_server_and_records(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    record = await started_waiting(workdir)
    os.kill(record["runner_pid"], signal.SIGTERM)
    stdout, stderr = await asyncio.to_thread(face.communicate, timeout=60)
    await helper.execute("ROLLBACK")
    assert face.returncode == 130, stdout + stderr
    assert "run cancelled" in stdout
    done = runs(workdir)[-1]
    assert done["status"] == "cancelled" and "SIGTERM" in done.get("error", "") + stdout
    assert done["invalid_indexes"] == [FIRST]
    assert not await observer.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", RUN_SESSION
    )


async def test_sigkill_everything_status_interrupted_then_orphan_adopted(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    record = await started_waiting(workdir)
    await kill_everything(face, record)
    # The record exists, and status tells what the database holds now.
    assert runs(workdir)[-1]["status"] == "running"
    r = await run_cli_async("status", "--json", url=db_url, cwd=workdir)
    row = json.loads(r.stdout)["migrations"][0]
    assert row["state"] == "interrupted", r.output
    assert "still executing on the server" in row["detail"]
    assert "Being built right now" in row["detail"] and "do not drop it" in row["detail"]
    # run refuses until the operator chooses; resume refuses while the orphan builds.
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 2 and "interrupted" in r.stderr and "recover" in r.stderr, r.output
    r = await run_cli_async("recover", NAME, "--resume", "--yes", url=db_url, cwd=workdir)
    assert r.code == 2 and "still executing" in r.stderr, r.output
    # Adopt: wait for the orphaned build (it goes on once the writer lets go).
    adopter = spawn_cli("recover", NAME, "--adopt", url=db_url, cwd=workdir)
    await said(adopter, "Waiting for pid")
    await helper.execute("ROLLBACK")
    stdout, stderr = await asyncio.to_thread(adopter.communicate, timeout=60)
    assert adopter.returncode == 1, stdout + stderr  # interrupted: statements 2-7 never ran
    done = runs(workdir)[-1]
    assert done["run_id"] == record["run_id"]
    assert done["status"] == "interrupted"
    assert done["statements"][0]["status"] == "succeeded"
    assert done["resolution"]["what"] == "adopted"
    assert (await valid(helper)) == {FIRST: True}
    # Then a plain run finishes the job (IF NOT EXISTS skips what is there).
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    assert len(await valid(helper)) == 4


async def test_resume_after_the_orphan_ended_skips_done_work(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper, "call_costs")  # statement 3 waits; 1 and 2 are done
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    log = await run_log(workdir / "history.toml")
    await logged(log, "Waiting", number=3)
    record = runs(workdir)[-1]
    await kill_everything(face, record)
    await helper.execute("ROLLBACK")  # the orphan finishes its build and goes away
    await poll_until(
        observer,
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = $1",
        RUN_SESSION,
    )
    r = await run_cli_async("recover", NAME, "--resume", "--yes", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    assert "[1/7] skipped" in r.stdout and "[2/7] skipped" in r.stdout
    old, new = runs(workdir)[-2:]
    assert old["run_id"] == record["run_id"] and old["status"] == "interrupted"
    assert old["resolution"]["what"] == "resumed" and old["resolution"]["run"] == new["run_id"]
    assert new["resumes"] == old["run_id"] and new["status"] == "succeeded"
    assert [s["status"] for s in new["statements"][:3]] == ["skipped", "skipped", "succeeded"]
    assert len(await valid(helper)) == 4 and all((await valid(helper)).values())


async def test_a_resume_refused_after_yes_leaves_the_interrupted_run_open(
    db_url: str, helper: asyncpg.Connection, observer: asyncpg.Connection, workdir: Path
) -> None:
    # The resumed run is refused after the operator said yes: another run took the
    # migration's lock while the question was on screen. The interrupted record must not
    # say it was resumed by a run that never started.
    await hold_write(helper, "call_costs")
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    log = await run_log(workdir / "history.toml")
    await logged(log, "Waiting", number=3)
    record = runs(workdir)[-1]
    await kill_everything(face, record)
    await helper.execute("ROLLBACK")
    await poll_until(
        observer,
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = $1",
        RUN_SESSION,
    )
    before = (workdir / "history.toml").read_text()
    proc, master = await asked(db_url, workdir, "recover", NAME, "--resume")
    try:
        assert await runlock.try_acquire(helper, NAME)  # another operator's run, say
        os.write(master, b"y\n")
        await asyncio.to_thread(proc.wait, 60)
        text = said_after(master)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, text
    assert (workdir / "history.toml").read_text() == before  # still open, nothing recorded
    await runlock.release(helper, NAME)
    r = await run_cli_async("recover", NAME, "--resume", "--yes", url=db_url, cwd=workdir)
    assert r.code == 0, r.output
    old, new = runs(workdir)[-2:]
    assert old["run_id"] == record["run_id"] and old["resolution"]["run"] == new["run_id"]
    assert old["finished_at"] == new["started_at"]  # it ended as the run resuming it started


async def test_mark_interrupted_with_a_note(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    record = await started_waiting(workdir)
    await kill_everything(face, record)
    r = await run_cli_async("recover", NAME, "--mark", "box rebooted; will rerun tonight",
        url=db_url, cwd=workdir,
    )  # fmt: skip
    await helper.execute("ROLLBACK")
    assert r.code == 0, r.output
    done = runs(workdir)[-1]
    assert done["status"] == "interrupted"
    assert done["resolution"]["note"] == "box rebooted; will rerun tonight"
    assert "went away during statement 1" in done["error"]


async def test_attach_follows_live_and_exits_with_the_run_code(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    await started_waiting(workdir)
    follower = spawn_cli("attach", NAME, url=db_url, cwd=workdir)
    await helper.execute("ROLLBACK")
    stdout, stderr = await asyncio.to_thread(follower.communicate, timeout=60)
    await asyncio.to_thread(face.communicate, timeout=60)
    assert follower.returncode == 0, stdout + stderr
    assert "[1/7]" in stdout and "⏳ waiting" in stdout and "■ run succeeded" in stdout


async def test_cancel_command_from_another_terminal(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", "--operator", "alice", url=db_url, cwd=workdir)
    await started_waiting(workdir)
    r = await run_cli_async("cancel", NAME, "--operator", "bob", url=db_url, cwd=workdir)
    stdout, _ = await asyncio.to_thread(face.communicate, timeout=60)
    await helper.execute("ROLLBACK")
    assert r.code == 130, r.output
    assert face.returncode == 130 and "run cancelled" in stdout
    done = runs(workdir)[-1]
    assert done["status"] == "cancelled"
    assert {"what": "cancel run", "by": "bob"}.items() <= done["actions"][0].items()


async def test_attach_to_a_run_on_another_machine_follows_the_database(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    await started_waiting(workdir)
    # The same history seen from another machine: its runner is not on this host.
    history = workdir / "history.toml"
    history.write_text(
        history.read_text().replace(f'host = "{os.uname().nodename}"', 'host = "elsewhere"')
    )
    follower = spawn_cli("attach", NAME, url=db_url, cwd=workdir)
    await said(follower, "another machine (elsewhere)")
    await helper.execute("ROLLBACK")
    stdout, stderr = await asyncio.to_thread(follower.communicate, timeout=60)
    await asyncio.to_thread(face.communicate, timeout=60)
    assert follower.returncode == 0, stdout + stderr
    assert "the database shows it applied" in stdout


async def test_history_not_writable_refuses_before_running(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    missing = workdir / "no-such-folder" / "history.toml"
    r = await run_cli_async(
        "run", NAME, "--yes", "--history", str(missing), url=db_url, cwd=workdir
    )
    assert r.code == 2, r.output
    assert "cannot be written" in r.stderr and "nothing was run" in r.stderr
    assert await valid(helper) == {}


async def test_history_unwritable_after_the_run_started_keeps_the_record_and_the_exit_code(
    db_url: str, helper: asyncpg.Connection, workdir: Path
) -> None:
    await hold_write(helper)
    face = spawn_cli("run", NAME, "--yes", url=db_url, cwd=workdir)
    record = await started_waiting(workdir)
    history = workdir / "history.toml"
    kept = workdir / "history.kept.toml"
    history.rename(kept)
    history.mkdir()  # the file is gone and nothing can be written in its place
    try:
        await helper.execute("ROLLBACK")
        stdout, stderr = await asyncio.to_thread(face.communicate, timeout=60)
    finally:
        history.rmdir()
        kept.rename(history)
    assert face.returncode == 0, stdout + stderr  # the migration's code, not "bad input"
    assert "■ run succeeded" in stdout
    assert "The migration itself is done (run succeeded)" in stdout
    assert "run it again" not in stdout.replace("Do not run it again", "")
    fallback = Path(record["log"]).with_name(Path(record["log"]).stem + ".record.toml")
    assert f"recorded in {fallback}" in stdout
    saved = tomllib.loads(fallback.read_text())["runs"][0]
    assert saved["run_id"] == record["run_id"] and saved["status"] == "succeeded"
    assert [s["status"] for s in saved["statements"]] == ["succeeded"] * 7
    assert len(await valid(helper)) == 4


# The run's event log on a full disk: its writes fail with ENOSPC (the runner writes it
# to /dev/full) and are dropped, as EventLog drops them; history.toml is written.
FULL_LOG = """
import console.core.run.sinks as sinks

_made = sinks.EventLog.__init__


def _full(self, path, wake_fd=None):
    _made(self, path, wake_fd)
    self._file.close()
    self._file = open("/dev/full", "a", encoding="utf-8")


sinks.EventLog.__init__ = _full
"""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_an_event_log_on_a_full_disk_the_face_says_what_history_toml_records(
    db_url: str, observer: asyncpg.Connection, workdir: Path, tmp_path: Path
) -> None:
    hook = tmp_path / "full"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FULL_LOG)
    r = await run_cli_async(
        "run",
        NAME,
        "--yes",
        url=db_url,
        cwd=workdir,
        env={"PYTHONPATH": f"{hook}:{ROOT}"},
    )
    record = runs(workdir)[-1]
    assert record["status"] == "succeeded" and len(await valid(observer)) == 4
    assert Path(record["log"]).read_text() == ""  # not one event reached it
    # Not "ended without recording an outcome: the run is interrupted", exit 1.
    assert r.code == 0, r.output
    assert "ends before the run did (is its disk full?)" in r.stdout
    assert "■ run succeeded" in r.stdout and "interrupted" not in r.output


async def test_a_relative_state_folder_is_recorded_absolute_and_attach_finds_it(
    db_url: str, workdir: Path, tmp_path: Path
) -> None:
    # MIGRATION_CONSOLE_STATE_DIR=relative: the event log's path in history.toml is read
    # from other folders later (attach, recover, the console started elsewhere).
    env = {"MIGRATION_CONSOLE_STATE_DIR": "relstate"}
    r = await run_cli_async("run", NAME, "--yes", url=db_url, cwd=workdir, env=env)
    assert r.code == 0, r.output
    log = Path(runs(workdir)[-1]["log"])
    assert log.is_absolute() and log.is_relative_to(workdir / "relstate") and log.exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = await run_cli_async(
        "--history",
        str(workdir / "history.toml"),
        "--migrations",
        str(workdir / "migrations"),
        "attach",
        NAME,
        url=db_url,
        cwd=elsewhere,
        env=env,
    )
    assert r.code == 0, r.output
    assert "■ run succeeded" in r.stdout and "no event log here" not in r.stdout
