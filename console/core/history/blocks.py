"""history.toml as blocks of text, so that a change to one record reads and writes only it.

A run's record is written when the run starts, around each statement and at the
end: parsing the whole file with tomlkit each time costs about 0.6 ms per record
already in it (20 ms with 34 runs), on the way to the first statement. Here the
file is cut at its top-level headers into blocks, one per ``[[runs]]`` or
``[[migrations]]`` element (with the ``[[runs.statements]]`` and other sub-tables
under it) and one per other table; the change is made with tomlkit on the block
it concerns alone, by the same functions as on the whole document (``store``),
and the block is put back in place. Every other byte stays as it was.

The cutting is plain text work (a header inside a multi-line string would fool
it), so its result is never trusted: the store writes the new text only if it
reads back as exactly the old content with the intended records changed, and
otherwise makes the change on the whole document instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import tomli

if TYPE_CHECKING:
    from tomlkit.toml_document import TOMLDocument

# A table header at the start of a line: [key...] or [[key...]], its first key, and
# whether a dot follows it (a sub-table: [[runs.statements]], [runs.environment]).
_HEADER = re.compile(
    r"""^[ \t]*\[(?P<aot>\[)?[ \t]*
        (?P<key>[A-Za-z0-9_-]+|"[^"\\\n]*"|'[^'\n]*')
        [ \t]*(?P<dot>\.)?""",
    re.MULTILINE | re.VERBOSE,
)
_MULTILINE_QUOTES = re.compile(r'"""|\'\'\'')


@dataclass(frozen=True)
class Block:
    key: str | None  # the top-level key its header names; None: the text before any header
    element: bool  # an element of an array of tables ([[key]])
    start: int
    end: int


def split(text: str) -> list[Block]:
    """The text cut at each top-level header; a sub-table stays in its parent's block."""
    heads: list[tuple[int, str, bool]] = []
    current: str | None = None
    strings = _multiline_strings(text)
    for m in _HEADER.finditer(text):
        if any(start < m.start() < end for start, end in strings):
            continue
        key = m.group("key").strip("\"'")
        if m.group("dot") and key == current:
            continue  # [[runs.statements]] under [[runs]]
        heads.append((m.start(), key, bool(m.group("aot")) and not m.group("dot")))
        current = key
    blocks = [Block(None, False, 0, heads[0][0] if heads else len(text))]
    for i, (start, key, element) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        blocks.append(Block(key, element, start, _before_blank_lines(text, start, end)))
    return blocks


def _before_blank_lines(text: str, start: int, end: int) -> int:
    """``end`` moved back over the blank lines that end a block: they separate it from
    the next, and stay where they are whatever the block becomes (as tomlkit keeps
    them with the next table when it appends one after this)."""
    while end > start and text[end - 1] == "\n":
        line = text.rfind("\n", start, end - 1) + 1
        if line <= start or text[line : end - 1].strip(" \t\r"):
            break
        end = line
    return end


def _multiline_strings(text: str) -> list[tuple[int, int]]:
    """Where the triple-quoted strings are, (start, end), counting the quotes in order."""
    spans: list[tuple[int, int]] = []
    opened: tuple[str, int] | None = None
    for m in _MULTILINE_QUOTES.finditer(text):
        if opened is None:
            opened = (m.group(), m.start())
        elif m.group() == opened[0]:
            spans.append((opened[1], m.end()))
            opened = None
    if opened is not None:
        spans.append((opened[1], len(text)))
    return spans


Change = Callable[["TOMLDocument"], None]
Edit = tuple[str, int, Change]  # the array, the index of the element in it, the change


@dataclass
class Spliced:
    """The new text, what its content must read back as, and the array elements that
    changed (each array's new elements in the blocks edited)."""

    text: str
    expected: dict[str, Any]
    changed: dict[str, list[Any]]


def elements(blocks: list[Block], key: str) -> list[Block]:
    return [b for b in blocks if b.element and b.key == key]


def edit_element(text: str, block: Block, edit: Change) -> tuple[str, list[Any]]:
    """``edit`` applied to the document made of ``block`` alone: its new text, and the
    array elements that text holds read alone (as tomli reads them)."""
    import tomlkit  # loaded by the first write (a run's recorder thread), not before

    mini = tomlkit.parse(text[block.start : block.end])
    edit(mini)
    new = tomlkit.dumps(mini)
    assert block.key is not None
    alone = tomli.loads(new)
    if set(alone) != {block.key} or not isinstance(alone[block.key], list):
        raise ValueError("the block holds more than its array's elements")
    return new, alone[block.key]


def splice(text: str, raw: dict[str, Any], edits: list[Edit]) -> Spliced | None:
    """Apply each (key, index of the element in raw[key], edit) to its element's block;
    None when the blocks do not match the content (then the whole document is the way)."""
    blocks = split(text)
    expected = dict(raw)
    changed: dict[str, list[Any]] = {}
    replaced: list[tuple[Block, str]] = []
    if len({key for key, _, _ in edits}) != len(edits):
        return None  # one element per array: the indexes stay those of raw
    for key, index, edit in edits:
        found = elements(blocks, key)
        rows = raw.get(key)
        if not found or not isinstance(rows, list) or len(found) != len(rows):
            return None
        if not 0 <= index < len(found):
            return None
        block = found[index]
        try:
            new, plain = edit_element(text, block, edit)
        except Exception:  # noqa: BLE001 - the whole document's way makes the change then
            return None
        current = expected[key]
        expected[key] = [*current[:index], *plain, *current[index + 1 :]]
        changed[key] = plain
        replaced.append((block, new))
    out = text
    for block, new in sorted(replaced, key=lambda r: r[0].start, reverse=True):
        out = out[: block.start] + new + out[block.end :]
    return Spliced(out, expected, changed)
