"""Shared helpers for tests that talk to a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
SHIPPED = MIGRATIONS / "add_composite_indexes_20251123.sql"

# A role with a password, for the tests that prove the password never leaks.
SECRET_ROLE = "mc_secret_user"
SECRET_PASSWORD = "Sup3r-S3cret-pw"
# A role that does not own the tables.
OTHER_ROLE = "mc_not_owner"


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc, "/" + quote(database), parts.query, parts.fragment)
    )


def with_user(url: str, user: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    userinfo = quote(user) + (":" + quote(password, safe="") if password is not None else "")
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str,
    url: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> CliResult:
    """Run ``python -m console ARGS`` as an operator would, in a separate process."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_", "RAILWAY_"))
    }
    full_env["PYTHONPATH"] = str(ROOT)
    full_env["NO_COLOR"] = "1"
    full_env["COLUMNS"] = "200"
    if url is not None:
        full_env["DATABASE_URL"] = url
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "console", *args],
        cwd=cwd or ROOT,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
