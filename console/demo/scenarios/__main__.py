"""``python -m console.demo.scenarios NAME RECORD``: the scenario process (see ``hold``).

The database URL arrives as JSON on stdin (``{"url": …}``). The first line on
stdout is ``ready`` or ``error: <one sentence>``; nothing is written there after it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from pathlib import Path

import asyncpg

from console.connection import Redactor, secrets_of
from console.demo.scenarios.catalog import SCENARIOS
from console.demo.scenarios.hold import READY, NotInPlace, hold


def _say(line: str) -> None:
    """The one line for the starter, then stdout goes nowhere (the starter may be gone)."""
    try:
        print(line, flush=True)
    except OSError:
        pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in SCENARIOS:
        _say(f"error: usage: python -m console.demo.scenarios {{{','.join(SCENARIOS)}}} RECORD")
        return 2
    scenario, record = SCENARIOS[argv[1]], Path(argv[2])
    try:
        url = str(json.loads(sys.stdin.read())["url"])
    except (ValueError, KeyError, TypeError):
        _say('error: expected {"url": …} on stdin')
        return 2
    redact = Redactor(secrets_of(url))
    said = False

    def ready() -> None:
        nonlocal said
        said = True
        _say(READY)

    try:
        asyncio.run(hold(url, scenario, record, ready))
    except Exception as exc:  # noqa: BLE001 - one sentence for the starter; details to the log
        text = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        print(f"scenario {scenario.name}: {text}", file=sys.stderr, flush=True)
        if not isinstance(exc, (OSError, asyncpg.PostgresError, NotInPlace, TimeoutError)):
            traceback.print_exc()  # a bug: the log keeps it (the URL is not in a traceback)
        if not said:
            _say(f"error: {text}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
