"""One cached loader for the SQL files in ``queries/`` (one query per file)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

# Package data next to this module: read from the folder the package is installed in
# (a wheel, an sdist or a checkout). importlib.resources would also read a zipped
# package, which the console never is, and costs a run's runner 3-4 ms to import.
QUERIES = Path(__file__).resolve().with_name("queries")


@cache
def load(name: str) -> str:
    """The text of ``queries/NAME.sql``."""
    return (QUERIES / f"{name}.sql").read_text("utf-8")
