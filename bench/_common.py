"""What the benchmarks share: an embedded server in a folder of its own, percentiles."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@contextmanager
def embedded_server(prefix: str) -> Iterator[tuple[Any, Path, Path]]:
    """(server, its data folder, a work folder others can read), all removed afterwards.

    Not under pytest-style private folders: as root the server runs as the user
    pgserver, which must be able to reach its data folder.
    """
    from console.demo.server import DemoServer  # the demo extra, imported only when used

    state = Path(tempfile.mkdtemp(prefix=prefix))
    work = state / "work"
    work.mkdir()
    work.chmod(0o755)
    server = DemoServer()
    try:
        server.start(state / "data", keep_running=False)
        yield server, state / "data", work
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
