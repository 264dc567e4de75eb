"""One cached loader for the SQL files in ``queries/`` (one query per file)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The text of ``queries/NAME.sql``."""
    return resources.files("console.db").joinpath("queries", f"{name}.sql").read_text("utf-8")
