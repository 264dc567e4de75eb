"""One module per command, each with one entry: ``command(ctx)``.

A run command (run, rollback, recover; attach and cancel with them) is a plain
function: it forks its runner before any event loop starts. The others are
coroutines, which ``main`` runs. A command's module is imported only when it is the
one chosen: `blockers --json` pays for neither the SQL parser nor the renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.cli.context import Context

Command = Callable[["Context"], int | Coroutine[Any, Any, int]]

# command -> its module, where they differ
MODULE_OF = {"rollback": "run"}


def handler(command: str) -> Command:
    """The command's entry, its module imported now."""
    module = import_module(f"{__name__}.{MODULE_OF.get(command, command)}")
    entry: Command = module.command
    return entry
