"""What every panel shares: the console app it belongs to, typed."""

from __future__ import annotations

from collections.abc import Callable
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

    def follow_selection(self, load: Callable[[str], object]) -> None:
        """``load(name)`` with the migration the App has chosen, now and at each change."""

        def chosen(name: str | None) -> None:
            if name is not None:
                load(name)

        self.watch(self.app, "selected", chosen)  # type: ignore[attr-defined]
