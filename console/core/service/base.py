"""What every part of the service shares: the settings, history.toml, and the long-lived
monitor session (autocommit, short timeouts, never in a transaction), reopened after a
lost connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.connection import MONITOR
from console.core.service.deps import db, hist, pg
from console.errors import ConnectError, ConsoleError, ExitCode
from console.settings import ConnectionSettings, railway_context

if TYPE_CHECKING:
    import asyncpg

    from console.core.model import Migration
    from console.core.run import control
    from console.db import catalog


def _lost() -> tuple[type[BaseException], ...]:
    return (pg.InterfaceError, pg.ConnectionDoesNotExistError, OSError, TimeoutError)


def _is_disconnect(exc: asyncpg.PostgresError) -> bool:
    """Connection exceptions (08xxx) and operator intervention (57P01-57P03: the
    session was terminated, or the server is shutting down or starting)."""
    code = exc.sqlstate or ""
    return code.startswith("08") or code in ("57P01", "57P02", "57P03")


class ConnectionLost(ConnectError):
    """The monitor session went away; the next call reconnects."""


class ServiceBase:
    def __init__(
        self,
        settings: ConnectionSettings,
        migrations_dir: Path,
        history_path: Path,
        operator: str,
        *,
        environment: dict[str, str] | None = None,
        read_only: bool = False,
    ):
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.history_path = history_path
        self.operator = operator
        self.environment = railway_context() if environment is None else environment
        self.read_only = read_only
        self.server: catalog.ServerInfo | None = None
        self.active: control.RunRef | None = None  # the run this face follows, if any
        self.active_pid: int | None = None  # its migration session, once it has started
        self._mon: asyncpg.Connection | None = None
        self._mon_lock = asyncio.Lock()
        # Migration files as last parsed, by path, with the stat they had: a run plans,
        # checks and launches the same file without parsing it three times.
        self._parsed: dict[Path, tuple[tuple[int, int, int], Migration]] = {}

    @property
    def store(self) -> hist.HistoryStore:
        """history.toml (opened when first used)."""
        store = self.__dict__.get("_store")
        if store is None:
            store = self.__dict__["_store"] = hist.HistoryStore(self.history_path)
        return store

    def _refuse_read_only(self) -> None:
        if self.read_only:
            raise ConsoleError(
                "The console runs --read-only: it monitors, it does not run migrations.",
                "Start it without --read-only to run or roll back.",
            )

    # -- the monitor session -----------------------------------------------------------

    @property
    def own_pids(self) -> set[int]:
        pids = set()
        if self._mon is not None and not self._mon.is_closed():
            pids.add(int(self._mon.get_server_pid()))
        if self.active_pid is not None:
            pids.add(self.active_pid)
        return pids

    async def _monitor(self) -> asyncpg.Connection:
        if self._mon is None or self._mon.is_closed():
            self._mon = await db.connect(self.settings, MONITOR, read_only=self.read_only)
        return self._mon

    async def with_monitor(self, fn: Callable[[asyncpg.Connection], Any]) -> Any:
        """Run fn on the monitor session; one caller at a time; a lost session becomes
        ConnectionLost and is reopened on the next call."""
        async with self._mon_lock:
            try:
                conn = await self._monitor()
                return await fn(conn)
            except _lost() as exc:
                raise self._lost(exc) from None
            except pg.PostgresError as exc:
                if _is_disconnect(exc):
                    raise self._lost(exc) from None
                raise ConsoleError(
                    f"The server refused a monitoring query: {self.settings.redact(str(exc))} "
                    f"(SQLSTATE {exc.sqlstate}).",
                    "Check the role's privileges; run with --debug for details.",
                    exit_code=ExitCode.CONNECT,
                ) from None

    def _lost(self, exc: BaseException) -> ConnectionLost:
        bad, self._mon = self._mon, None
        if bad is not None:
            bad.terminate()
        return ConnectionLost(
            f"Lost the connection to {self.settings.display} "
            f"({self.settings.redact(str(exc)) or type(exc).__name__}).",
            "Retrying; check the network or the server.",
        )

    async def close(self) -> None:
        await db.close_quietly(self._mon)
        self._mon = None
