"""What the console shows of the database and the migration files: the server, each
migration's state, a plan, a verification, the connection doctor, history.toml."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from console.core.service.base import ServiceBase
from console.core.service.deps import catalog, doctor, migration_file, model, plan, status, verify_
from console.errors import ConsoleError

if TYPE_CHECKING:
    import asyncpg

    from console.core.doctor import DoctorReport
    from console.core.history import HistoryData
    from console.core.model import Migration, MigrationPlan
    from console.core.status import MigrationStatus
    from console.core.verify import VerifyReport


@dataclass(frozen=True)
class Overview:
    database: str  # masked
    version: str
    role: str
    railway: dict[str, str] = field(default_factory=dict)

    @property
    def railway_text(self) -> str:
        keys = ("project", "environment", "service")
        return " / ".join(self.railway[k] for k in keys if k in self.railway)


class OverviewService(ServiceBase):
    async def overview(self) -> Overview:
        info: catalog.ServerInfo = await self.with_monitor(catalog.server_info)
        self.server = info
        return Overview(self.settings.display, info.version, info.role, dict(self.environment))

    async def statuses(self) -> list[MigrationStatus]:
        history = self.store.load()
        result: list[MigrationStatus] = await self.with_monitor(
            lambda c: status.statuses(c, self.migrations_dir, history)
        )
        return result

    async def verify(self, name: str) -> VerifyReport:
        migration = self.migration(name)

        async def go(conn: asyncpg.Connection) -> VerifyReport:
            return await verify_.verify_on(conn, migration, self.settings.display)

        result: VerifyReport = await self.with_monitor(go)
        return result

    async def doctor(self) -> DoctorReport:
        """The connection doctor's checks for every readable migration file."""
        migrations = []
        for path in migration_file.list_migrations(self.migrations_dir):
            try:
                migrations.append(migration_file.parse_migration(path))
            except ConsoleError:
                continue
        return await doctor.diagnose(self.settings, migrations, os.environ)

    def migration(self, name: str) -> Migration:
        """The migration file, parsed once while it stays the same file (inode, size and
        modification time): an edited file is read again."""
        path = migration_file.resolve_migration(name, self.migrations_dir)
        st = os.stat(path)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        known = self._parsed.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        migration = migration_file.parse_migration(path)
        self._parsed[path] = (stamp, migration)
        return migration

    def plan(self, name: str, action: str = "run") -> MigrationPlan:
        return plan.plan_migration(
            self.migration(name), model.DOWN if action == "rollback" else model.UP
        )

    def history(self) -> HistoryData:
        return self.store.load()
