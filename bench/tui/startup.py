"""(1) Start-up: the console in a pseudo-terminal, a bare Textual app beside it, and the
headless child's own milestones (its side: tui/startup_child.py)."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from _load import MIGRATION_NAME, ROOT
from _report import ms, print_table

from tui.children import (
    CHILD_TIMEOUT_S,
    ESC,
    QUIT_TIMEOUT_S,
    STARTUP_TIMEOUT_S,
    child_env,
    drain,
    in_pty,
    spawn_child,
    watch,
)


def startup_pty(url: str, work: Path, n: int) -> dict[str, float | None]:
    """`python -m console` in a pseudo-terminal, timed from spawn by what it draws."""
    cmd = [sys.executable, "-m", "console", "--migrations", str(ROOT / "migrations")]
    cmd += ["--history", str(work / f"history-pty-{n}.toml"), "--operator", "bench"]
    from console.settings import resolve_connection

    display = resolve_connection(url, env={}).place.encode()  # what the top bar starts with
    tests = {
        "frame": lambda plain: display in plain,
        "tabs": lambda plain: b"Migrations" in plain and b"History" in plain,
        # a narrow column may cut the name
        "data": lambda plain: MIGRATION_NAME[:21].encode() in plain,
    }
    t0 = time.monotonic()
    with in_pty(cmd, child_env(url, work), work) as (proc, fd):
        marks, buf = watch(fd, t0, tests, "data")
        marks["quit"] = None
        if marks["data"] is not None:
            t_q = time.monotonic()
            os.write(fd, b"q")
            end = t_q + QUIT_TIMEOUT_S
            while proc.poll() is None and time.monotonic() < end:
                drain(fd, time.monotonic() + 0.02)
            if proc.poll() == 0:
                marks["quit"] = time.monotonic() - t_q
    if marks["data"] is None:
        text = ESC.sub(b" ", bytes(buf)).decode(errors="replace")
        seen: list[str] = []
        for part in re.split(r"\s{2,}", text):
            if part.strip() and part.strip() not in seen:
                seen.append(part.strip())
        raise RuntimeError(
            f"the console showed no migration in {STARTUP_TIMEOUT_S:.0f} s "
            f"(exit code {proc.returncode}); what it drew: {' | '.join(seen)[-1500:]}"
        )
    return marks


BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Bare(App):
    def compose(self):
        yield Header()
        yield Static("bare textual ready")
        yield Footer()

Bare().run()
"""


def startup_bare(work: Path) -> dict[str, float | None]:
    """A bare Textual app (header, one line, footer) in the same kind of pty, timed the
    same way: the baseline issue 9 measures the console's first screen against."""
    cmd = [sys.executable, "-c", BARE_APP]
    t0 = time.monotonic()
    with in_pty(cmd, child_env("", work), work) as (_proc, fd):
        marks, _buf = watch(
            fd, t0, {"frame": lambda plain: b"bare textual ready" in plain}, "frame"
        )
    if marks["frame"] is None:
        raise RuntimeError("the bare Textual app drew nothing")
    return marks


def startup_headless(url: str, work: Path, n: int) -> dict[str, float]:
    return spawn_child("startup", url, work, work / f"startup-{n}.json")


def startup_import_only() -> float:
    """Wall time of `python -c 'import console.tui.app'` (interpreter included)."""
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import console.tui.app"],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=True,
        timeout=CHILD_TIMEOUT_S,
    )
    return time.monotonic() - t0


def bench_startup(url: str, work: Path, repeat: int) -> None:
    print(f"\n(1) start-up, {repeat} runs each, interleaved (times from spawn, ms)")
    ptys: list[dict[str, float | None]] = []
    heads: list[dict[str, float]] = []
    bares: list[dict[str, float | None]] = []
    imports: list[float] = []
    failed = 0
    for n in range(repeat):
        try:
            p = startup_pty(url, work, n)
            b = startup_bare(work)
            h = startup_headless(url, work, n)
        except RuntimeError as exc:  # reported, not fatal: the others still count
            failed += 1
            print(f"  run {n + 1}: FAILED: {exc}")
            continue
        ptys.append(p)
        bares.append(b)
        heads.append(h)
        imports.append(startup_import_only())
        print(
            f"  run {n + 1}: terminal: first output {ms(p['output'], 0)}, "
            f"screen {ms(p['frame'], 0)}, tabs {ms(p['tabs'], 0)}, "
            f"table filled {ms(p['data'], 0)}, quit {ms(p['quit'], 0)} · "
            f"headless: import {ms(h['import'], 0)}, first frame {ms(h['frame'], 0)}, "
            f"table filled {ms(h['data'], 0)}"
        )
    if not ptys:
        print("  no start-up succeeded")
        return

    def row(label: str, values: Sequence[float | None]) -> list[str]:
        xs = [v for v in values if v is not None]
        if not xs:
            return [label, "-", "-", "-"]
        return [label, ms(min(xs), 0), ms(statistics.median(xs), 0), ms(max(xs), 0)]

    print()
    print_table(
        ["real console in a pty (python -m console), from spawn", "min", "median", "max"],
        [
            row("first byte written to the terminal", [p["output"] for p in ptys]),
            row("first screen drawn (top bar)", [p["frame"] for p in ptys]),
            row("tab bar drawn (all 7 tabs)", [p["tabs"] for p in ptys]),
            row("migrations table shows the database's row", [p["data"] for p in ptys]),
            row("q to exit (not from spawn)", [p["quit"] for p in ptys]),
            row("bare Textual app: first byte", [b["output"] for b in bares]),
            row("bare Textual app: first screen drawn", [b["frame"] for b in bares]),
        ],
    )
    console = statistics.median(float(p["frame"] or 0) for p in ptys)
    baseline = statistics.median(float(b["frame"] or 0) for b in bares)
    print(
        f"  first screen: the console's median is {console / baseline:.2f}x the bare app's "
        "(issue 9 asks for at most 2x)"
    )
    print()
    print_table(
        ["headless child, from spawn unless said", "min", "median", "max"],
        [
            row("python start-up + this script's imports", [h["python"] for h in heads]),
            row("import console.tui.app (alone)", [h["import"] for h in heads]),
            row("service + app objects (alone)", [h["build"] for h in heads]),
            row("App.run_async to first frame (alone)", [h["frame"] - h["run"] for h in heads]),
            row("first frame: compose + mount + layout", [h["frame"] for h in heads]),
            row("first frame with the table filled", [h["data"] for h in heads]),
            row("python -c 'import console.tui.app' (wall)", imports),
        ],
    )
    print(
        "  the pty times include Python start-up, the CLI's imports, the terminal set-up "
        "and the ANSI output; the headless child has no terminal"
    )
