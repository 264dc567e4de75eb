"""The checklist of a migration, as a face asks for it: its items and their states, a
sign-off, what the console does for an item, and the before/after measurements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.core.service.deps import checklist, measure
from console.core.service.overview import OverviewService

if TYPE_CHECKING:
    from console.core.verify import VerifyReport


class ChecklistService(OverviewService):
    def checklist(self, name: str) -> tuple[list[checklist.ItemDef], list[checklist.ItemState]]:
        migration = self.migration(name)
        defs = checklist.load_checklist(migration.path)
        states = checklist.checklist_state(
            defs, self.store.load(), migration.name, datetime.now(UTC)
        )
        return defs, states

    def sign_off(
        self, name: str, key: str, *, by: str, note: str = "", state: str = "done"
    ) -> None:
        checklist.sign_item(self.store, self.migration(name), key, by=by, note=note, state=state)

    def record_verify(self, name: str, report: VerifyReport) -> None:
        """The checklist's verify item, signed by the console with what it found."""
        checklist.record_verify(self.store, self.migration(name), report, operator=self.operator)

    async def do_item(self, name: str, action: str) -> str:
        """Do a checklist item the console can do; returns one line saying what it did."""
        return await checklist.do_item(
            self.settings, self.store, self.migration(name), action,
            operator=self.operator, monitor=self.with_monitor,
        )  # fmt: skip

    def comparison(self, name: str) -> list[measure.QueryComparison]:
        data = self.store.load()
        before = measure.latest_measurement(data, name, measure.BASELINE)
        after = measure.latest_measurement(data, name, measure.AFTER)
        return measure.compare(before, after) if before and after else []
