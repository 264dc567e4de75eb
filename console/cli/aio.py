"""Running the CLI's coroutines so that Ctrl-C is never held up by a hung lookup.

asyncpg resolves host names with ``getaddrinfo`` in the event loop's default
executor. ``asyncio.run`` waits for that executor on the way out, so Ctrl-C during
a slow or hung DNS lookup used to wait for the lookup (30 s and more). Here the
executor's threads get half a second; ``exit_now`` leaves without them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
JOIN_S = 0.5


class _Executor(ThreadPoolExecutor):
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)
        if wait:
            for thread in list(self._threads):
                thread.join(JOIN_S)


async def _on_own_executor(coro: Coroutine[Any, Any, T]) -> T:
    asyncio.get_running_loop().set_default_executor(_Executor(thread_name_prefix="mc-io"))
    return await coro


def run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with an executor nobody waits for when the command is interrupted."""
    return asyncio.run(_on_own_executor(coro))


def exit_now_if_stuck(code: int) -> None:
    """After an interrupt: if a thread is still stuck (a DNS lookup), leave without it."""
    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if stuck:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
