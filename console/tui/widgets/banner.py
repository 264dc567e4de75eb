"""The banner under the top bar: one line for what the operator must know now.

A lost connection (cleared when the monitor is back), a rehearsal of the demo
and what to look for in it, or what the connection doctor found at start:
failures first, then warnings. In that order of precedence: the doctor's
findings come back when the others clear. It takes one line, never covers the
log or a dialog, and ``e`` expands it to every finding with its fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.widgets import Static

from console.errors import ConsoleError
from console.glyphs import is_ascii
from console.tui.widgets.panel import Panel

CONNECTION, REHEARSAL, DOCTOR = "connection", "rehearsal", "doctor"


@dataclass(frozen=True)
class Finding:
    text: str
    fix: str = ""
    severe: bool = True  # a failure (red) rather than a warning (yellow)


class Banner(Panel, Static):
    def __init__(self) -> None:
        super().__init__("", id="banner")
        self.report: object = None  # the doctor's report, once it has run
        self.kind = ""
        self.findings: list[Finding] = []
        self.expanded = False
        self.doctor_findings: list[Finding] = []
        self.rehearsal_findings: list[Finding] = []

    @property
    def has_more(self) -> bool:
        return len(self.findings) > 1 or self.has_fix

    @property
    def has_fix(self) -> bool:
        return any(f.fix for f in self.findings)

    def connection(self, text: str) -> None:
        """A lost connection: shown until cleared (it clears itself when the monitor is back)."""
        self._show(CONNECTION, [Finding(text)] if text else [])

    def clear_connection(self) -> None:
        if self.kind == CONNECTION:
            self._fall_back()

    def rehearsal(self, findings: list[Finding]) -> None:
        """A demo rehearsal runs: what it made and what to look for."""
        self.rehearsal_findings = findings
        if self.kind != CONNECTION:  # a lost connection matters more, and clears itself
            self._show(REHEARSAL, findings)

    def end_rehearsal(self) -> None:
        self.rehearsal_findings = []
        if self.kind == REHEARSAL:
            self._fall_back()

    def doctor(self, findings: list[Finding]) -> None:
        self.doctor_findings = findings
        if self.kind in ("", DOCTOR):
            self._show(DOCTOR, findings)

    def _fall_back(self) -> None:
        if self.rehearsal_findings:
            self._show(REHEARSAL, self.rehearsal_findings)
        else:
            self._show(DOCTOR, self.doctor_findings)

    @work(group="doctor", exclusive=True, exit_on_error=False)
    async def run_doctor(self) -> None:
        """The connection doctor at start: failures, then warnings, here (e: details)."""
        try:
            report = await self.service.doctor()
        except ConsoleError as exc:
            self.console.report(exc)
            return
        self.report = report
        findings = [Finding(c.summary, c.fix) for c in report.failures]
        findings += [Finding(c.summary, c.fix, severe=False) for c in report.warnings]
        if findings:
            self.doctor(findings)

    def toggle(self) -> None:
        self.expanded = not self.expanded
        self._draw()

    def _show(self, kind: str, findings: list[Finding]) -> None:
        self.kind = kind if findings else ""
        self.findings = findings
        self.expanded = False
        self._draw()

    def _draw(self) -> None:
        shown = bool(self.findings)
        self.set_class(shown, "-visible")
        self.set_class(shown and not any(f.severe for f in self.findings), "-warning")
        if not shown:
            self.update("")
            return
        self.set_class(self.expanded, "-expanded")
        if not self.expanded:
            first = self.findings[0]
            more = len(self.findings) - 1
            line = Text(no_wrap=True, overflow="crop" if is_ascii() else "ellipsis")
            if self.has_more:  # the key first: the line is cut at the terminal's width
                what = ([f"+{more}"] if more else []) + (["fix"] if self.has_fix else [])
                line.append(f"[e: {', '.join(what)}] ", style="italic")
            line.append(first.text)
            self.update(line)
            return
        text = Text()
        for i, f in enumerate(self.findings):
            if i:
                text.append("\n")
            text.append(f"- {f.text}")
            if f.fix:
                text.append(f"\n  fix: {f.fix}", style="italic")
        text.append("\n(e: fold)", style="italic")
        self.update(text)
