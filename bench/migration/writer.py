"""(b) A concurrent writer: the INSERT latency it sees while the indexes are built."""

from __future__ import annotations

import asyncio
import time

from _load import SessionThread, session, valid_indexes
from _report import ms, pct, print_table

from migration.ways import STEP_TIMEOUT_S, TEMPLATE, Bench

WARMUP_S = 1.0  # the writer runs alone this long before a build starts
COOLDOWN_S = 0.5  # and this long after it ends
BASELINE_S = 3.0  # the writer alone, for the "no build" row
STALL_S = 0.1  # an INSERT slower than this counts as stalled


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


class Writer(SessionThread):
    """Single-row INSERTs into conversation_messages in autocommit, as fast as it can,
    on its own connection and its own event loop in a thread."""

    role = "the writer"

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.samples: list[tuple[float, float]] = []  # (start, end) of each INSERT

    async def run(self) -> None:
        conn = await session(self.url, "bench writer")
        try:
            insert = await conn.prepare(
                "INSERT INTO conversation_messages "
                "(user_id, contact_id, message_type, direction, body) "
                "VALUES ($1, $2, 'sms', 'outbound', 'bench write')"
            )
            self.ready.set()
            n = 0
            clock = time.perf_counter
            while not self.stop.is_set():
                n += 1
                user = 2 + n % 1999
                t0 = clock()
                await insert.fetch(user, (user - 1) * 50 + 1 + n % 50)
                self.samples.append((t0, clock()))
        finally:
            await conn.close()

    def during(self, start: float, end: float) -> list[float]:
        """Latencies of the INSERTs that overlapped [start, end]."""
        return [t1 - t0 for t0, t1 in self.samples if t0 < end and t1 > start]


async def bench_writer(bench: Bench) -> None:
    print("\n(b) a concurrent writer: single-row INSERTs into conversation_messages, autocommit")

    async def console_build(url: str) -> None:
        await bench.run_console(url)

    async def psql_build(url: str) -> None:
        await bench.run_psql(url)

    async def plain_build(url: str) -> None:
        await bench.run_psql(url, bench.plain_file)

    async def no_build(_url: str) -> None:
        await asyncio.sleep(BASELINE_S)

    modes = [
        ("no build (baseline, 3 s)", no_build),
        ("console run, CONCURRENTLY", console_build),
        ("psql, CONCURRENTLY", psql_build),
        ("psql, plain CREATE INDEX", plain_build),
    ]
    rows = []
    for label, build in modes:
        async with bench.server.clone(TEMPLATE) as url:
            writer = Writer(url)
            writer.start()
            try:
                await asyncio.sleep(WARMUP_S)
                t0 = time.perf_counter()
                await build(url)
                t1 = time.perf_counter()
                await asyncio.sleep(COOLDOWN_S)
            finally:
                writer.join(STEP_TIMEOUT_S)
            if build is not no_build and (await valid_indexes(url))[0] != 4:
                raise RuntimeError(f"{label}: the indexes were not all built")
        lat = writer.during(t0, t1)
        if not lat:
            rows.append([label, fmt_s(t1 - t0), "0", "-", "-", "-", "-", "-"])
            continue
        rows.append(
            [
                label,
                fmt_s(t1 - t0),
                f"{len(lat):,}",
                f"{len(lat) / (t1 - t0):,.0f}",
                ms(pct(lat, 50)),
                ms(pct(lat, 99)),
                ms(max(lat)),
                f"{sum(x for x in lat if x > STALL_S):.2f} s",
            ]
        )
        print(f"  {label}: done")
    print()
    print_table(
        [
            "build mode",
            "build wall",
            "inserts",
            "inserts/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "stalled",
        ],
        rows,
    )
    print(
        "  inserts = those overlapping the build; stalled = time spent in INSERTs that "
        f"took over {STALL_S * 1000:.0f} ms"
    )
