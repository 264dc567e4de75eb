"""What every panel shares: the console app it belongs to, typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from console.core.service import ConsoleService
    from console.tui.app import MigrationConsoleApp


class Panel:
    """Mixed into a panel widget: ``self.console`` is the app, ``self.service`` its core."""

    @property
    def console(self) -> MigrationConsoleApp:
        return cast("MigrationConsoleApp", self.app)  # type: ignore[attr-defined]

    @property
    def service(self) -> ConsoleService:
        return self.console.service
