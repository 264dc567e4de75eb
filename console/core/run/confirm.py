"""What a run asks before it starts, worded once for both faces: the CLI prints it and
waits for y, the TUI shows it in its confirmation modal."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.core.model import SectionPlan


@dataclass(frozen=True)
class Confirmation:
    verb: str  # Run, Roll back or Resume: what the yes does
    title: str  # the question
    body: str  # what will happen: the database, what it drops, each statement


def confirmation(
    name: str,
    action: str,
    database: str,
    section: SectionPlan,
    skip: Collection[int] = (),
    *,
    resuming: bool = False,
) -> Confirmation:
    """The question before ``action`` (run or rollback) of migration ``name``'s
    ``section`` on ``database`` (masked); ``skip``: the statements a resume leaves out."""
    verb = "Roll back" if action == "rollback" else ("Resume" if resuming else "Run")
    lines = [f"{verb} {name} on {database}."]
    dropped = [p.drops_index for p in section.statements if p.drops_index]
    if dropped:
        lines.append(f"This DROPS {len(dropped)} index(es): " + ", ".join(dropped) + ".")
    lines += [section.reason, ""]
    lines += [
        f"{p.statement.number}. {p.statement.first_line}"
        + (" (done: skipped)" if p.statement.number in skip else "")
        for p in section.statements
    ]
    lines.append("\nIt runs in a process of its own: closing the console does not stop it.")
    return Confirmation(verb, f"{verb} {name}?", "\n".join(lines))
