"""(a) The console against psql: wall time of the up section, each way on fresh clones."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from functools import partial

from _load import valid_indexes
from _report import print_table

from migration.ways import TEMPLATE, Bench, Measurement

PSQL = "psql -f up.sql"


async def bench_wall_time(bench: Bench, repeat: int, extra: bool) -> None:
    print(
        f"\n(a) wall time of the up section, {repeat} runs each on fresh clones "
        "(interleaved, the order rotated every round)"
    )
    ways: dict[str, Callable[[str], Awaitable[Measurement]]] = {
        "console (in-process)": bench.run_console,
        "console CLI (subprocess)": bench.run_cli,
        PSQL: bench.run_psql,
    }
    if extra:
        # The same engine with the progress poll every 50 ms, and with no poll at all.
        ways["console, poll 50 ms"] = partial(bench.run_console, progress_interval_s=0.05)
        ways["console, no poll"] = partial(bench.run_console, progress_interval_s=1e9)
    results: dict[str, list[Measurement]] = {w: [] for w in ways}
    order = list(ways)
    for i in range(repeat):
        for way in order[i % len(order) :] + order[: i % len(order)]:
            async with bench.server.clone(TEMPLATE) as url:
                m = await ways[way](url)
                built, _invalid = await valid_indexes(url)
            if built != 4:
                raise RuntimeError(f"{way} left {built} of 4 valid indexes")
            results[way].append(m)
            stmts = sum(m.statements_s)
            phases = " ".join(f"{k}={v:.3f}s" for k, v in m.phases.items())
            print(
                f"  run {i + 1} {way:<26} {m.total_s:7.3f} s  (statements {stmts:7.3f} s) {phases}"
            )

    rows = []
    psql = results[PSQL]
    psql_min = min(m.total_s for m in psql)
    psql_med = statistics.median(m.total_s for m in psql)
    psql_fixed = statistics.median(m.total_s - sum(m.statements_s) for m in psql)
    for way, ms in results.items():
        totals = [m.total_s for m in ms]
        mn, med = min(totals), statistics.median(totals)
        stmts = statistics.median(sum(m.statements_s) for m in ms)
        fixed = statistics.median(m.total_s - sum(m.statements_s) for m in ms)
        rows.append(
            [
                way,
                f"{mn:.3f}",
                f"{med:.3f}",
                f"{stmts:.3f}",
                f"{fixed:.3f}",
                f"{(mn / psql_min - 1) * 100:+.1f} %",
                f"{(med / psql_med - 1) * 100:+.1f} %",
                f"{(fixed - psql_fixed) / psql_med * 100:+.1f} %",
            ]
        )
    print()
    print_table(
        [
            "way",
            "min s",
            "median s",
            "statements s",
            "outside s",
            "vs psql min",
            "vs psql median",
            "outside vs psql",
        ],
        rows,
    )
    print(
        "  statements = median sum of per-statement times (the console's own timer, psql's "
        "\\timing);\n  outside = median (total - statements): connecting, start-up, "
        "checks, history;\n  outside vs psql = (outside - psql's outside) / psql's median "
        "total: the console's fixed cost."
    )

    print("\n  per statement, median seconds:")
    stmt_rows = []
    for k, sql in enumerate(bench.up_sql):
        row = [f"{k + 1}. {' '.join(sql.split())[:52]}"]
        for way in ways:
            vals = [m.statements_s[k] for m in results[way] if len(m.statements_s) > k]
            row.append(f"{statistics.median(vals):.3f}" if vals else "-")
        stmt_rows.append(row)
    print_table(["statement", *ways], stmt_rows)

    samples: dict[str, list[float]] = {}
    for _ in range(5):
        for label, took in (await bench.startup()).items():
            samples.setdefault(label, []).append(took)
    print("\n  start-up alone, median of 5:")
    for label, took in samples.items():
        print(f"    {label:<42} {statistics.median(took):.3f} s")
    opens = [m.phases["open"] for m in results["console (in-process)"]]
    closes = [m.phases["close"] for m in results["console (in-process)"]]
    print(
        f"  in-process console, median: open (3 connections, run lock, preflight) "
        f"{statistics.median(opens):.3f} s, close {statistics.median(closes):.3f} s"
    )
