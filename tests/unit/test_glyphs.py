"""The glyph table: ASCII on the Linux console and without a UTF-8 locale, Unicode elsewhere;
the run's wording in ASCII mode holds no character outside ASCII."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from console import glyphs
from console.core import events as ev
from console.core import narrate
from tests.helpers import ROOT

UTF8 = {"TERM": "xterm-256color", "LANG": "en_US.UTF-8"}


@pytest.fixture
def table() -> Iterator[glyphs.Glyphs]:
    """The table in use, put back as it was after the test."""
    before = dataclasses.replace(glyphs.G)
    yield glyphs.G
    glyphs.choose(before == glyphs.ASCII)


@pytest.mark.parametrize(
    ("env", "encoding", "ascii"),
    [
        (UTF8, None, False),
        ({"TERM": "xterm", "LC_ALL": "C.UTF-8"}, None, False),
        ({"TERM": "screen", "LANG": "de_DE.utf8"}, None, False),
        ({**UTF8, "TERM": "linux"}, None, True),
        ({**UTF8, "TERM": "vt100"}, None, True),
        ({**UTF8, "TERM": "dumb"}, None, True),
        ({"TERM": "xterm", "LANG": "en_US.ISO-8859-1"}, None, True),
        ({"TERM": "xterm", "LANG": "en_US"}, None, True),  # no codeset: ISO-8859-1
        ({"TERM": "xterm", "LC_ALL": "C"}, None, True),
        ({"TERM": "xterm", "LANG": "POSIX"}, None, True),
        ({"TERM": "xterm", "LC_ALL": "C", "LANG": "en_US.UTF-8"}, None, True),  # LC_ALL wins
        ({"TERM": "xterm", "LC_CTYPE": "ru_RU.KOI8-R", "LANG": "ru_RU.UTF-8"}, None, True),
        ({"TERM": "xterm"}, "ascii", True),  # no locale variable: standard output's encoding
        ({**UTF8, "TERM": "xterm"}, "ascii", True),  # PYTHONIOENCODING=ascii: the output wins
        ({"TERM": "xterm"}, "UTF-8", False),
        ({**UTF8, "TERM": "linux", "MIGRATION_CONSOLE_ASCII": "0"}, None, False),
        ({**UTF8, "MIGRATION_CONSOLE_ASCII": "1"}, None, True),
    ],
)
def test_ascii_is_chosen_from_the_environment(
    env: dict[str, str], encoding: str | None, ascii: bool
) -> None:
    assert glyphs.ascii_wanted(env, encoding) is ascii


def test_the_table_is_chosen_once_from_the_environment_at_start() -> None:
    code = "from console.glyphs import G; print(G.ok, G.above, G.pending)"
    for term, expected in (("linux", "ok ^ o"), ("xterm", "✓ ▲ ○")):
        env = {"TERM": term, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert proc.stdout.strip() == expected, proc.stderr


def test_every_glyph_has_an_ascii_fallback() -> None:
    for field in dataclasses.fields(glyphs.Glyphs):
        unicode, fallback = getattr(glyphs.UNICODE, field.name), getattr(glyphs.ASCII, field.name)
        assert fallback.isascii() and fallback.strip() or field.name.startswith("scroll")
        assert unicode != fallback or unicode.isspace(), field.name
    # a scrollbar's ends come in eighths of a cell
    assert len(glyphs.ASCII.scroll_vertical) == len(glyphs.UNICODE.scroll_vertical) == 8
    assert len(glyphs.ASCII.scroll_horizontal) == len(glyphs.UNICODE.scroll_horizontal) == 8


def test_glyphs_module_stands_alone() -> None:
    """A ground-floor module: nothing of the console, Textual or Rich."""
    code = (
        "import sys, console.glyphs\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')"
        " or (m.startswith('console.') and m != 'console.glyphs')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


# -- narrate in ASCII mode -------------------------------------------------------------------

T0 = datetime(2025, 11, 23, 12, 0, tzinfo=UTC)
SAMPLE: dict[object, object] = {
    int: 42,
    float: 12.5,
    str: "x",
    bool: True,
    datetime: T0,
    tuple[int, ...]: (101, 102),
    int | None: 7,
    str | None: "s",
    float | None: 1.0,
}


def _result(**kw: object) -> ev.RunResult:
    return ev.RunResult("m", "run", "failed", T0, T0 + timedelta(seconds=3), **kw)  # type: ignore[arg-type]


def _sample(cls: type) -> object:
    """An instance of an event class, every field filled by its type."""
    hints = typing.get_type_hints(cls)
    values = {}
    for name in cls.__struct_fields__:
        kind = hints[name]
        values[name] = _result() if kind is ev.RunResult else SAMPLE[kind]
    return cls(**values)


def every_event() -> list[object]:
    """One of each event type, and the variants that word themselves differently."""
    events = [_sample(c) for c in typing.get_args(ev.Event) if c is not ev.InvalidIndex]
    events += [ev.InvalidIndex("i", "t", action, 1) for action in narrate._INVALID]
    events += [
        ev.Waiting(1, "pid 5 holds a lock", (), kind=ev.TRANSACTIONS_WAIT, waited_s=0.2),
        ev.MaxWaitReached(1, 60.0, None, "", False),
        ev.LockRetry(1, 1, 5, 2.0, "canceling statement due to lock timeout"),
        ev.RunFinished(_result(error="boom", invalid_indexes=["idx_a", "idx_b"])),
        ev.RunFinished(dataclasses.replace(_result(), status="succeeded")),
        ev.RemoteEnded("m", "pending", False, "detail"),
        ev.HelperSession("monitor", "lost", "why"),
        ev.HelperSession("other", "state"),
        ev.StatementStarted(2, 10, "CREATE INDEX CONCURRENTLY i ON t (a)", attempt=2),
        ev.IndexProgress(1, "i", "t", "building index: scanning table", 5, 10, 0, 0, 0, 0, 0),
        ev.IndexProgress(1, "i", "t", "waiting for old snapshots", 0, 0, 0, 0, 1, 3, 77),
    ]
    return events


def test_every_event_type_is_worded() -> None:
    events = every_event()
    assert {type(e) for e in events} == set(typing.get_args(ev.Event))
    for e in events:
        assert narrate.event_lines(e, 4), e  # type: ignore[arg-type]


def test_narrate_in_ascii_mode_is_ascii_only(table: glyphs.Glyphs) -> None:
    glyphs.choose(True)
    for e in every_event():
        for _tone, text in narrate.event_lines(e, 4):  # type: ignore[arg-type]
            assert text.isascii(), text


def test_narrate_in_unicode_mode_keeps_its_glyphs(table: glyphs.Glyphs) -> None:
    glyphs.choose(False)
    text = "\n".join(t for e in every_event() for _tone, t in narrate.event_lines(e, 4))  # type: ignore[arg-type]
    for mark in ("▶", "✓", "✗", "↻", "⏳", "‼", "■", "↺", "…", "—"):
        assert mark in text, mark
