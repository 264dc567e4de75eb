"""squawk's findings about a migration file, located in the file.

squawk (the squawk-cli package) is a separate program; it reads the file on its standard
input and reports JSON. Its positions are 0-based lines and 0-based UTF-8 byte columns;
findings here carry 1-based lines and 1-based character columns like the rest of the
console. When squawk is missing, fails or times out, the result is a single
``squawk-unavailable`` warning instead of an exception.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from console.core.model import LintFinding

UNAVAILABLE = "squawk-unavailable"
TIMEOUT_S = 30.0


def squawk_executable() -> str | None:
    """squawk next to this Python (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / ("squawk.exe" if os.name == "nt" else "squawk")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("squawk")


def lint_file(
    path: Path,
    ignore: Iterable[str] = (),
    *,
    pg_version: str | None = None,
    assume_in_transaction: bool = False,
    timeout: float = TIMEOUT_S,
) -> tuple[LintFinding, ...]:
    """Run squawk on a file; findings whose rule is in ``ignore`` are left out."""
    exe = squawk_executable()
    if exe is None:
        return _unavailable("squawk is not installed (pip install squawk-cli)")
    try:
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    except OSError as exc:
        return _unavailable(f"cannot read {path}: {exc.strerror or exc}")
    command = [exe, "--reporter", "json", "--stdin-filepath", str(path)]
    command.append(
        "--assume-in-transaction" if assume_in_transaction else "--no-assume-in-transaction"
    )
    if pg_version:
        command.append(f"--pg-version={pg_version}")
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return _unavailable(f"squawk did not finish within {timeout:g}s")
    except OSError as exc:
        return _unavailable(f"cannot run squawk: {exc.strerror or exc}")
    try:
        reported = json.loads(done.stdout.decode("utf-8", "replace") or "null")
    except ValueError:
        reported = None
    if done.returncode not in (0, 1) or not isinstance(reported, list):
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = detail[0] if detail else f"exit status {done.returncode}"
        return _unavailable(f"squawk failed: {why}")
    skip = set(ignore)
    lines = data.split(b"\n")
    findings = (_finding(item, lines) for item in reported if isinstance(item, dict))
    return tuple(f for f in findings if f.rule not in skip)


def _finding(item: dict[str, Any], lines: list[bytes]) -> LintFinding:
    line0 = _int(item.get("line"))
    byte_col = _int(item.get("column"))
    prefix = lines[line0][:byte_col] if 0 <= line0 < len(lines) else b""
    column = len(prefix.decode("utf-8", "ignore")) if prefix else byte_col
    level = str(item.get("level") or "warning").lower()
    return LintFinding(
        rule=str(item.get("rule_name") or "squawk"),
        level="error" if level == "error" else "warning",
        message=str(item.get("message") or ""),
        line=line0 + 1,
        column=column + 1,
        help=str(item.get("help") or ""),
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _unavailable(why: str) -> tuple[LintFinding, ...]:
    return (
        LintFinding(
            rule=UNAVAILABLE,
            level="warning",
            message=f"{why}; the file was not linted.",
            line=1,
            column=1,
        ),
    )
