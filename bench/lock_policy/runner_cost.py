"""(b) What the runner process costs: the tiny migration every way, interleaved."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from _load import ROOT, Server
from _report import ms, pct, print_table

from console.settings import resolve_connection
from lock_policy.consoles import NEW, OLD, OLD_COMMIT, run_folder, run_imports
from lock_policy.ways import (
    TINY_NAME,
    Sample,
    history_with_runs,
    measure_cli,
    measure_floor,
    measure_forked,
    measure_inprocess,
    measure_python,
)

TINY_DB = "bench_tiny"
TINY_SQL = """-- A tiny migration: what running it costs besides its one statement.

-- migrate:up transaction:false
ANALYZE users;

-- migrate:down transaction:false
ANALYZE users;
"""
SETTLE_S = 0.2  # a pause before each measurement: nothing of the last one still runs


def bench_runner_cost(
    server: Server,
    runs: int,
    cli: bool,
    old: Path | None,
    against: str = OLD_COMMIT,
    history_runs: int | None = None,
) -> None:
    print(
        f"\n(b) what the runner process costs: a tiny migration (ANALYZE users), {runs} runs "
        "of each way, interleaved (the order rotated every round), after one warm-up each"
    )
    seeded = asyncio.run(server.seed(TINY_DB, 1000))
    url = server.url(TINY_DB)
    print(f"  its own database ({TINY_DB}, the demo seed with 1,000 rows) in {seeded:.1f} s")
    settings = resolve_connection(url, env={})
    tiny = server.work / "tiny"
    tiny.mkdir()
    source = tiny / f"{TINY_NAME}.sql"
    source.write_text(TINY_SQL, encoding="utf-8")
    folders = {}
    history: Path | None = None
    if history_runs is not None:
        history = tiny / "history-start.toml"
        history_with_runs(history, history_runs)
        print(
            f"  each CLI run starts from a history.toml with {history_runs} earlier runs "
            f"({history.stat().st_size:,} bytes)"
        )
    ways: dict[str, Any] = {
        "in-process execute_run": lambda: measure_inprocess(settings, source),
        "forked runner + follow": lambda: measure_forked(settings, source),
    }
    if cli:
        # The CLI's parts besides the run: its imports and
        # its record, written as the run goes.
        record = tiny / "history-in-process.toml"
        ways["in-process, with history.toml"] = lambda: measure_inprocess(settings, source, record)
        folders[NEW] = run_folder(tiny, "cli-new", source)
        new_imports = run_imports(ROOT)
        ways["python -c pass"] = lambda: measure_python("pass", tiny)
        ways["floor: asyncpg, 3 sessions"] = lambda: measure_floor(url, tiny)
        ways["imports, this checkout"] = lambda: measure_python(f"import {new_imports}", tiny)
        ways["CLI, this checkout"] = lambda: measure_cli(folders[NEW], ROOT, url, history)
        if old is not None:
            folders[OLD] = run_folder(tiny, "cli-old", source)
            old_imports = run_imports(old)
            ways[f"imports, {against}"] = lambda: measure_python(f"import {old_imports}", tiny, old)
            ways[f"CLI, {against}"] = lambda: measure_cli(folders[OLD], old, url, history)
    for fn in ways.values():  # warm-up: imports, the server's caches
        fn()
    samples: dict[str, list[Sample]] = {w: [] for w in ways}
    order = list(ways)
    for i in range(runs):
        for way in order[i % len(order) :] + order[: i % len(order)]:
            time.sleep(SETTLE_S)  # the last way's server backends and runner have exited
            samples[way].append(ways[way]())
    print(f"  threads in this process before each fork: {threading.active_count()}")

    rows = []
    for way, xs in samples.items():
        totals = [s.total_s for s in xs]

        def med(attr: str, xs: list[Sample] = xs) -> str:
            vals = [getattr(s, attr) for s in xs if getattr(s, attr) is not None]
            return ms(statistics.median(vals)) if vals else "-"

        rows.append(
            [
                way,
                ms(min(totals)),
                ms(statistics.median(totals)),
                ms(pct(totals, 95)),
                ms(max(totals)),
                med("started_s"),
                med("finished_s"),
                med("launch_s"),
                med("exited_s"),
            ]
        )
    print()
    print_table(
        [
            "way, ms",
            "min",
            "median",
            "p95",
            "max",
            "to RunStarted",
            "to RunFinished",
            "to go",
            "runner exits after",
        ],
        rows,
        indent="  ",
    )
    print(
        "  in-process: `await execute_run(settings, request)` (open, run, close; no history, "
        "no event log);\n  forked: from just before early.forked() (then hand over, ready, go: "
        "'to go') to RunFinished read from the event log by\n  asyncio.run(follow_launched); "
        "CLI: spawn to exit of "
        "`python -m console run tiny_analyze --yes`;\n  the medians of RunStarted / "
        "RunFinished are when the sink got them (in-process) or the follower read them;\n"
        "  with history.toml: the same in-process run recorded in a fresh history.toml, as the "
        "CLI records it;\n"
        "  imports: "
        "`python -c 'import console.cli.main, ...'`\n  (every module a run loads, in its "
        "face or its runner); python -c pass: the interpreter alone;\n  floor: a script that "
        "forks, loads asyncio and asyncpg, opens three sessions (two at once), takes an "
        "advisory lock and runs the\n  statement, with nothing of the console's "
        "(ways.FLOOR); p95 is the nearest rank (with 20 runs or fewer: the largest)"
    )

    def median_of(way: str, attr: str = "total_s") -> float:
        return statistics.median(getattr(s, attr) for s in samples[way])

    inproc, forked = "in-process execute_run", "forked runner + follow"
    d = median_of(forked) - median_of(inproc)
    d_fin = median_of(forked, "finished_s") - median_of(inproc, "finished_s")
    print(
        f"\n  the runner process costs (median forked - median in-process): {ms(d)} ms "
        f"({ms(d_fin)} ms comparing both to RunFinished)"
    )
    if cli:
        base = median_of("python -c pass")
        fixed = {
            "the floor": median_of("floor: asyncpg, 3 sessions") - base,
            "this checkout": median_of("CLI, this checkout") - base,
        }
        if old is not None:
            fixed[against] = median_of(f"CLI, {against}") - base
        print(
            "  the CLI's fixed cost (median CLI - median `python -c pass`): "
            + ", ".join(f"{who} {ms(took)} ms" for who, took in fixed.items())
        )
    if cli and old is not None:
        d_cli = median_of("CLI, this checkout") - median_of(f"CLI, {against}")
        d_imp = median_of("imports, this checkout") - median_of(f"imports, {against}")
        rec = median_of("in-process, with history.toml") - median_of(inproc)
        print(
            f"  the whole CLI, this checkout - {against} (medians): {ms(d_cli)} ms; its parts: "
            f"imports {ms(d_imp)} ms more,\n  the runner process "
            f"{ms(d)} ms, the record in history.toml {ms(rec)} ms (not all of it new)"
        )
