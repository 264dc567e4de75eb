"""The top bar: which database on which host; once the server has answered, its
PostgreSQL version and Railway's names."""

from __future__ import annotations

from textual.widgets import Static

from console.glyphs import G


class TopBar(Static):
    def __init__(self, place: str) -> None:
        super().__init__(place, id="topbar", markup=False)
        self.place = place  # "app on db.example.com:5432", from the masked URL

    def show_server(self, version: str, railway: str) -> None:
        where = f" {G.sep} railway {railway}" if railway else ""
        self.update(f"{self.place} {G.sep} PostgreSQL {version}{where}")
