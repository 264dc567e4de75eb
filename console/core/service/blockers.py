"""The other sessions: who runs what, the lock tree around a migration, and cancelling or
terminating a session (only what this role may signal; recorded in history.toml)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.core.service.base import ServiceBase
from console.core.service.deps import activity, catalog, waits
from console.errors import ConsoleError, ExitCode

if TYPE_CHECKING:
    import asyncpg


class BlockersService(ServiceBase):
    async def sessions(self) -> list[activity.Session]:
        result: list[activity.Session] = await self.with_monitor(activity.sessions)
        return result

    async def waits(
        self, root_pid: int | None, extra_blockers: tuple[int, ...] = ()
    ) -> waits.WaitReport:
        """Sessions, and the lock tree around root_pid (the migration's session). Without a
        root, a migration running from anywhere (its application_name) is the root."""
        if self.server is None:
            self.server = await self.with_monitor(catalog.server_info)

        async def analyse(conn: asyncpg.Connection) -> waits.WaitReport:
            report = await waits.analyse(conn, None)
            root = root_pid or waits.run_session_pid(report.sessions)
            if root is None:
                return report
            return await waits.analyse(conn, root, extra_blockers, report.sessions)

        result: waits.WaitReport = await self.with_monitor(analyse)
        return result

    # -- acting on other sessions -------------------------------------------------------------

    def signal_rights(self) -> str:
        """Which sessions this role may cancel or terminate, for people."""
        me = self.server
        if self.read_only:
            return "read-only: no actions"
        if me is None:
            return ""
        if me.superuser:
            return f"role {me.role} is superuser: may signal any session"
        if me.signal_backend:
            return f"role {me.role} has pg_signal_backend: may signal any non-superuser session"
        return f"role {me.role} may signal only sessions of its own role(s)"

    def may_signal(self, session: activity.Session) -> tuple[bool, str]:
        """Whether the console may cancel/terminate this session, and if not, why."""
        if self.read_only:
            return False, "the console runs --read-only"
        if session.is_console or session.pid in self.own_pids:
            return False, "it is one of the console's own sessions (x cancels a run)"
        me = self.server
        if me is None:
            return False, "the console does not know its role's rights yet"
        if me.superuser:
            return True, ""
        if session.role_is_superuser:
            return (
                False,
                f"pid {session.pid} belongs to a superuser; only a superuser may signal it",
            )
        if session.same_role or me.signal_backend:
            return True, ""
        return False, (
            f"role {me.role} is neither {session.role} (or a member of it) nor in "
            "pg_signal_backend; GRANT pg_signal_backend TO it, or connect as a superuser"
        )

    async def signal(self, session: activity.Session, kind: str) -> dict[str, object]:
        """Cancel or terminate another session; returns the action as recorded in history."""
        allowed, why = self.may_signal(session)
        if not allowed:
            raise ConsoleError(
                f"Not acting on pid {session.pid}: {why}.", "", exit_code=ExitCode.CONNECT
            )
        fn = activity.cancel if kind == "cancel" else activity.terminate
        ok: bool = await self.with_monitor(lambda c: fn(c, session.pid))
        action: dict[str, object] = {
            "what": kind,
            "pid": session.pid,
            "application": session.application_name,
            "role": session.role,
            "client": session.client,
            "state": session.state or "",
            "query": " ".join(session.query.split())[:200],
            "at": datetime.now(UTC),
            "by": self.operator,
            "signalled": ok,
        }
        self.store.add_action(self.active.run_id if self.active else None, action)
        return action
