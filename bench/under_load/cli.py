"""(1) The CLI as a subprocess: ``blockers --json`` among the sessions, spawn to exit, every
output checked."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _load import console_env, run_timed
from _report import print_table, spread

from under_load.checks import check_cli
from under_load.sessions import DATABASE, Load

CLI_TIMEOUT_S = 60.0  # one CLI run


@dataclass
class CliLine:
    label: str
    argv: list[str]
    env: dict[str, str]
    check: Callable[[dict[str, Any]], list[str]] | None = None
    times: list[float] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)
    sample: dict[str, Any] | None = None


def bench_cli(url: str, quiet_url: str, work: Path, lo: Load, runs: int, profile: bool) -> None:
    py = sys.executable
    env, quiet_env = console_env(url, work / "state"), console_env(quiet_url, work / "state")
    blockers = [py, "-m", "console", "blockers", "--json"]
    lines = [
        CliLine(
            f"blockers --json ({DATABASE}: {len(lo.waiters)} queued, no migration)",
            blockers,
            env,
            lambda d: check_cli(d, lo, rooted=False),
        ),
        CliLine(
            f"blockers --pid HOLDER --json (the tree: {len(lo.waiters)} below the holder)",
            [*blockers[:4], "--pid", str(lo.holder), "--json"],
            env,
            lambda d: check_cli(d, lo, rooted=True),
        ),
        CliLine("blockers --json, a quiet database (same server)", blockers, quiet_env),
        CliLine(
            "python -c 'import console.cli.commands' (imports only)",
            [py, "-c", "import console.cli.commands"],
            env,
        ),
        CliLine("python -c pass", [py, "-c", "pass"], env),
    ]
    print(
        f"\n(1) the CLI as a subprocess, spawn to exit, {runs} runs of each line, interleaved "
        "(after one warm-up each)"
    )
    for rnd in range(runs + 1):
        order = lines[rnd % len(lines) :] + lines[: rnd % len(lines)]
        for line in order:
            took, proc = run_timed(line.argv, CLI_TIMEOUT_S, env=line.env, cwd=work)
            if proc.returncode != 0:
                raise RuntimeError(f"{line.label} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
            if line.check is not None:
                doc = json.loads(proc.stdout)
                line.sample = doc
                for p in line.check(doc):
                    line.problems[p] += 1
            if rnd:  # the first round warms the page cache and the server
                line.times.append(took)
    print_table(
        ["command", "min ms", "median ms", "p95 ms", "max ms", "checked"],
        [
            [
                line.label,
                *spread(line.times, 0, grouped=True),
                "-"
                if line.check is None
                else (
                    f"{runs + 1} of {runs + 1} correct"
                    if not line.problems
                    else "; ".join(f"{p} ({n}x)" for p, n in line.problems.items())
                ),
            ]
            for line in lines
        ],
        indent="  ",
    )
    doc = lines[0].sample or {}
    print(
        f"  one output: {len(doc.get('sessions', []))} sessions, "
        f"{sum(1 for s in doc.get('sessions', []) if s['blocked_by'])} waiting, "
        f"{len(json.dumps(doc)):,} bytes of JSON; with --pid: "
        f"{len((lines[1].sample or {}).get('tree', []))} in the tree; reason: "
        f"{(lines[1].sample or {}).get('reason', '')!r}"
    )
    med = statistics.median(lines[0].times)
    print(
        f"  blockers --json median {med:.3f} s against the 0.18-0.20 s the issue quotes; the "
        f"quiet database {statistics.median(lines[2].times):.3f} s, imports alone "
        f"{statistics.median(lines[3].times):.3f} s"
    )
    if profile:
        out = work / "blockers.prof"
        subprocess.run(
            [py, "-m", "cProfile", "-o", str(out), *blockers[1:]],
            env=env,
            cwd=work,
            capture_output=True,
            timeout=CLI_TIMEOUT_S,
            check=True,
        )
        import pstats

        print("\n  cProfile of one `blockers --json` (profiled times: about twice the real ones)")
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
