"""The three ways to run the shipped migration's up section on a fresh clone: the console
in-process, the console's CLI as a subprocess, and psql."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _load import MIGRATION, MIGRATION_NAME, ROOT, Server, console_env, run_async

from console.core import events as ev
from console.core.migration_file import parse_migration
from console.core.run import RunOptions, RunRequest, execute_run
from console.settings import resolve_connection

TEMPLATE = "bench_template"
STEP_TIMEOUT_S = 900.0  # one build, one psql, one CLI run: never wait longer than this
_TIME = re.compile(r"^Time: ([0-9.]+) ms", re.MULTILINE)


class Bench:
    """The server, its template database and the three ways to run the up section."""

    def __init__(self, server: Server):
        self.server = server
        self.work = server.work
        self.admin_url = server.admin_url
        self.psql = server.psql
        self.psql_kwargs: dict[str, Any] = {}
        up = parse_migration(MIGRATION).up
        assert up is not None
        self.up_sql = [s.sql for s in up.statements]
        self.up_file = self._sql_file("up.sql", self.up_sql)
        plain = [re.sub(r"\bCONCURRENTLY\s+", "", s, count=1) for s in self.up_sql]
        self.plain_file = self._sql_file("up_plain.sql", plain)

    def _sql_file(self, name: str, statements: list[str]) -> Path:
        path = self.work / name
        # \timing makes psql print each statement's duration; it adds no statement.
        path.write_text("\\timing on\n" + ";\n".join(statements) + ";\n", encoding="utf-8")
        path.chmod(0o644)
        return path

    def find_psql_user(self) -> str:
        """psql must reach the server's unix socket: as this user, else as pgserver."""
        tries: list[dict[str, Any]] = [{}]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            tries.append({"user": "pgserver"})
        for kwargs in tries:
            proc = subprocess.run(
                [self.psql, "-X", "-At", "-d", self.admin_url, "-c", "SELECT current_user"],
                capture_output=True,
                text=True,
                timeout=30,
                **kwargs,
            )
            if proc.returncode == 0:
                self.psql_kwargs = kwargs
                return kwargs.get("user", "the current user")
        raise RuntimeError(f"psql cannot connect to {self.admin_url}: {proc.stderr.strip()}")

    async def run_console(self, url: str, **options: float) -> Measurement:
        """The console in-process, as the runner process does it: ``execute_run`` with the
        CLI's default options and a history.toml record (no event log)."""
        settings = resolve_connection(url, env={})
        history = Path(tempfile.mkdtemp(dir=self.work)) / "history.toml"
        request = RunRequest(
            MIGRATION,
            options=RunOptions(**options),
            operator="bench",
            history_path=history,
        )
        marks: dict[str, float] = {}

        def opened(_runner: object) -> None:
            marks["open"] = time.perf_counter()

        def sink(e: ev.Event) -> None:
            if isinstance(e, ev.RunFinished):
                marks["finished"] = time.perf_counter()

        t0 = time.perf_counter()
        result = await asyncio.wait_for(
            execute_run(settings, request, (sink,), on_open=opened), STEP_TIMEOUT_S
        )
        total = time.perf_counter() - t0
        if result is None:
            raise RuntimeError("the console refused to run (see its RunRefused event)")
        if result.status != "succeeded":
            raise RuntimeError(f"the console's run {result.status}: {result.error}")
        t_open = marks.get("open", t0)
        t_exec = marks.get("finished", t0 + total)
        return Measurement(
            total,
            [s.duration_s for s in result.statements],
            {"open": t_open - t0, "execute": t_exec - t_open, "close": t0 + total - t_exec},
        )

    async def run_cli(self, url: str) -> Measurement:
        """`python -m console run MIGRATION --yes` in a subprocess, as an operator would."""
        history = Path(tempfile.mkdtemp(dir=self.work)) / "history.toml"
        # The runner process's event log goes next to it, not to ~/.local/state.
        env = console_env(url, history.parent / "state", NO_COLOR="1", COLUMNS="200")
        argv = [sys.executable, "-m", "console", "run", MIGRATION_NAME, "--yes"]
        argv += ["--history", str(history)]
        t0 = time.perf_counter()
        code, out, err = await run_async(argv, STEP_TIMEOUT_S, cwd=ROOT, env=env)
        total = time.perf_counter() - t0
        if code != 0:
            raise RuntimeError(f"the CLI exited {code}: {(err or out).strip()[-2000:]}")
        per: list[float] = []
        try:
            data = tomllib.loads(history.read_text(encoding="utf-8"))
            per = [float(s["duration_s"]) for s in data["runs"][-1]["statements"]]
        except (OSError, KeyError, IndexError, ValueError, tomllib.TOMLDecodeError):
            pass
        return Measurement(total, per)

    async def run_psql(self, url: str, path: Path | None = None) -> Measurement:
        argv = [self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]
        argv += ["-f", str(path or self.up_file)]
        t0 = time.perf_counter()
        code, out, err = await run_async(argv, STEP_TIMEOUT_S, **self.psql_kwargs)
        total = time.perf_counter() - t0
        if code != 0:
            raise RuntimeError(f"psql exited {code}: {err.strip()[-2000:]}")
        return Measurement(total, [float(ms) / 1000 for ms in _TIME.findall(out)])

    async def startup(self) -> dict[str, float]:
        """Fixed costs of starting each client, one sample of each."""
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        py = sys.executable
        argvs = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import console.cli.commands'": [py, "-c", "import console.cli.commands"],
            "python -m console --help": [py, "-m", "console", "--help"],
        }
        out: dict[str, float] = {}
        for label, argv in argvs.items():
            t0 = time.perf_counter()
            await run_async(argv, STEP_TIMEOUT_S, cwd=ROOT, env=env)
            out[label] = time.perf_counter() - t0
        t0 = time.perf_counter()
        argv = [self.psql, "-X", "-q", "-d", self.admin_url, "-c", "SELECT 1"]
        await run_async(argv, STEP_TIMEOUT_S, **self.psql_kwargs)
        out["psql -c 'SELECT 1'"] = time.perf_counter() - t0
        return out


@dataclass
class Measurement:
    total_s: float
    statements_s: list[float] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
