"""(2) and (3): run events streamed into the Run panel while keys switch tabs, in three
children (their side: tui/stream_child.py); then the Log and memory."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from _frames import KEY_PERIOD_S, KEY_TARGET_S
from _report import mib, ms, pct, print_table

from tui.children import spawn_child
from tui.stream_child import IDLE_KEYS


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
    args = ["--kind", kind, "--lines", str(lines), "--rounds", str(rounds), "--burst", str(burst)]
    if tty:
        args.append("--tty")
    prof = work / f"stream-{n}.prof"
    if profile:
        args += ["--profile-out", str(prof)]
    result = spawn_child("stream", url, work, work / f"stream-{n}.json", *args, tty=tty)
    if profile:
        import pstats

        print(f"\n  cProfile of the {kind} stream ({'pty' if tty else 'headless'}):")
        stats = pstats.Stats(str(prof))
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
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
                ms(pct(r["lag_s"], 95), 0),
                ms(max(r["lag_s"]), 0),
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
                    ms(pct(xs, 50), 0) if xs else "-",
                    ms(pct(xs, 95), 0) if xs else "-",
                    ms(max(xs), 0) if xs else "-",
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
