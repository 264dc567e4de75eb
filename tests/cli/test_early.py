"""A run command's runner is forked as the process starts, before the command line is
read (core/run/early.py). That is a guess from the words: a wrong one must cost
nothing but a moment of CPU, and leave no process, no file and no garbage collector
turned off behind it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from console.core.run import early
from tests.cli.test_handoff import ended
from tests.helpers import ROOT, processes, run_cli

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.mark.parametrize(
    ("argv", "guess"),
    [
        (["run", "m", "--yes"], True),
        (["--database-url", "postgresql://x/y", "rollback", "m"], True),
        (["recover", "m", "--resume", "--yes"], True),
        (["recover", "m", "--adopt"], False),
        (["run", "--help"], False),
        (["--version"], False),
        (["status"], False),
        ([], False),
        (["plan", "run"], True),  # a migration called "run": a wrong guess, discarded later
    ],
)
def test_the_guess_from_the_words(argv: list[str], guess: bool) -> None:
    assert early.wanted(argv) is guess


@pytest.mark.parametrize(
    ("command", "resume", "forks"),
    [
        ("run", False, True),
        ("rollback", False, True),
        ("recover", True, True),
        ("recover", False, False),
        ("plan", False, False),
        (None, False, False),
    ],
)
def test_which_parsed_commands_fork(command: str | None, resume: bool, forks: bool) -> None:
    assert early.forks(command, resume) is forks


PRELOADED = """
import sys
from console.core.run import early

early.start()
print(sorted(set(early.SHARED) - set(sys.modules)), flush=True)
early.discard()
"""


def test_what_both_sides_load_is_loaded_before_the_fork() -> None:
    # Each name in SHARED loads (a module renamed or gone would be skipped unsaid), and
    # is loaded by the time the runner forks: it inherits it instead of loading it again.
    r = subprocess.run(
        [sys.executable, "-c", PRELOADED], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout
    assert "asyncio" in early.SHARED and "console.core.run.handoff" in early.SHARED


DISCARDED = """
import gc, os, sys, time
from console.core.run import early

early.start()
pid = early._waiting[0]
print(pid, gc.isenabled(), flush=True)
early.discard()
print(gc.isenabled(), early.take(), flush=True)
sys.stdin.readline()  # alive until the test has seen the runner end
"""


async def test_a_discarded_guess_ends_its_runner_while_the_face_lives(tmp_path: Path) -> None:
    script = tmp_path / "discard.py"
    script.write_text(DISCARDED)
    face = subprocess.Popen(  # noqa: ASYNC220 - started once; its lines read in a thread
        [sys.executable, str(script)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert face.stdout is not None and face.stdin is not None
        first = (await asyncio.to_thread(face.stdout.readline)).split()
        runner, collecting_while_loading = int(first[0]), first[1]
        assert collecting_while_loading == "False"  # off while the face loads
        after = (await asyncio.to_thread(face.stdout.readline)).split()
        assert after == ["True", "None"]  # on again, and no runner left to take
        await ended(runner)  # it read the end of the socket while its face lives on
        await gone(runner)  # and was reaped: the face keeps no zombie of it
        assert face.poll() is None
        face.stdin.write("\n")
        face.stdin.flush()
        await asyncio.to_thread(face.wait, 30)
    finally:
        if face.poll() is None:
            face.kill()


async def gone(pid: int, limit_s: float = 30) -> None:
    """Wait until process ``pid`` is gone altogether (not even a zombie)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while Path(f"/proc/{pid}").exists():
        assert loop.time() < end, f"pid {pid} is still there"
        await asyncio.sleep(0.05)


def _processes_naming(marker: str) -> list[int]:
    return [pid for pid, cmdline in processes("cmdline") if marker.encode() in cmdline]


async def test_a_wrong_guess_leaves_no_process_and_no_file(tmp_path: Path) -> None:
    # "plan run": a migration called run, which is not there. The entry forks a runner
    # (the word "run"), the face refuses the command; the runner ends, having done nothing.
    marker = f"history-{uuid.uuid4().hex}.toml"
    state = tmp_path / "state"
    r = run_cli(
        "--history",
        str(tmp_path / marker),
        "plan",
        "run",
        cwd=tmp_path,
        env={"MIGRATION_CONSOLE_STATE_DIR": str(state)},
    )
    assert r.code == 2, r.output
    assert "Traceback" not in r.output
    for pid in _processes_naming(marker):  # the forked runner bears its face's command line
        await ended(pid)
    assert not (tmp_path / marker).exists()
    assert not state.exists() or not any(state.rglob("*"))


LOADING = """
import gc
from console.core.run import early

early.start()
during = []
with early.loading():  # the face loads and plans; then it follows the run
    during.append(gc.isenabled())
runner = early.forked()
print(during[0], gc.isenabled(), flush=True)
runner.abort()
"""


def test_collection_is_on_again_once_a_run_face_has_loaded(tmp_path: Path) -> None:
    # The entry turns garbage collection off before it forks; a face that follows a run
    # for hours must have it on again (run and recover --resume load under loading()).
    script = tmp_path / "loading.py"
    script.write_text(LOADING)
    r = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "True"]
