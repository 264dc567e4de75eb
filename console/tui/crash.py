"""What the console says when it stops on an unexpected error: one sentence, never
Textual's traceback, which prints the local variables of every frame (a connection's
password among them). ``--debug`` keeps the traceback."""

from __future__ import annotations

from rich.text import Text

from console.settings import ConnectionSettings


def crash_text(settings: ConnectionSettings, exc: BaseException | None) -> Text:
    what = settings.redact(f"{type(exc).__name__}: {exc}") if exc else "?"
    return Text.assemble(
        ("error: ", "bold red"),
        f"the console stopped on an unexpected error ({what}).\n"
        "  Run it again with --debug to see the traceback, and report it.",
    )
