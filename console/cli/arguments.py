"""The command line's arguments: every command, its options and their help.

Values are checked as they are read: anything odd is one sentence and exit 2.
``main`` turns what is parsed into the commands' ``Context`` (``context.py``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from console import __version__

EPILOG = """exit codes: 0 success; 1 migration failed or interrupted, or verification mismatch;
2 bad input or configuration; 3 cannot connect or not permitted;
4 another run holds the migration's lock; 130 interrupted."""


# -- values checked as they are read: anything odd is one sentence and exit 2 -------------

MAX_NAME = 255  # a file name's length on every common file system
MAX_PATH = 1024
MAX_PID = 2**31 - 1
MAX_ROWS = 100_000_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(text: str, what: str) -> str:
    """Text that can be written to history.toml (``is_text``)."""
    from console.connection import is_text  # not for --help and --version

    if not is_text(text):
        raise argparse.ArgumentTypeError(
            f"{what} holds bytes that are not UTF-8 text (a stray character?)"
        )
    return text


def note(text: str) -> str:
    return _text(text, "a note")


def _checked_text(text: str, what: str, longest: int) -> str:
    _text(text, what)
    if _CONTROL.search(text):
        raise argparse.ArgumentTypeError(f"{what} must not contain control characters")
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{what} must not be empty")
    if len(text) > longest:
        raise argparse.ArgumentTypeError(
            f"{what} is {len(text)} characters long; at most {longest} are allowed"
        )
    return text


def migration_name(text: str) -> str:
    """A migration: a file stem, a file name or a path; every part a sensible length."""
    _checked_text(text, "a migration name", MAX_PATH)
    longest = max(len(part) for part in text.split("/"))
    if longest > MAX_NAME:
        raise argparse.ArgumentTypeError(
            f"a migration name's parts are at most {MAX_NAME} characters, not {longest}"
        )
    return text


def operator_name(text: str) -> str:
    return _checked_text(text, "--operator", 200)


def _bounded_int(text: str, what: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{what} must be between {low} and {high:,}")
    return value


def pid(text: str) -> int:
    return _bounded_int(text, "a pid", 1, MAX_PID)


def row_count(text: str) -> int:
    return _bounded_int(text, "--rows", 1, MAX_ROWS)


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    s = argparse.SUPPRESS
    p.add_argument(
        "--database-url",
        metavar="URL",
        default=s,
        help="database to use (default: DATABASE_URL, else libpq's PG* variables)",
    )
    p.add_argument(
        "--migrations",
        metavar="DIR",
        type=Path,
        default=s,
        help="folder of migration files (default: ./migrations)",
    )
    p.add_argument(
        "--history",
        metavar="PATH",
        type=Path,
        default=s,
        help="history file (default: ./history.toml)",
    )
    p.add_argument(
        "--operator",
        metavar="NAME",
        type=operator_name,
        default=s,
        help="who is running this, for history.toml (default: user@host)",
    )
    p.add_argument("--debug", action="store_true", default=s, help="show tracebacks")
    p.add_argument(
        "--read-only",
        action="store_true",
        default=s,
        help="monitor only: read-only connections, no run, rollback or signals",
    )
    return p


DURATION = "DURATION"  # PostgreSQL's syntax: 500ms, 5s, 2min, 1h; a bare number is seconds


def _timing_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lock-timeout",
        default="5s",
        metavar=DURATION,
        help="how long a statement may wait to take its table lock (default 5s); a concurrent "
        "statement waiting for other transactions is never cut short by it",
    )
    p.add_argument(
        "--lock-retries",
        type=int,
        default=5,
        metavar="N",
        help="extra attempts after a lock timeout or deadlock (default 5)",
    )
    p.add_argument(
        "--retry-backoff",
        default="2s",
        metavar=DURATION,
        help="first pause between attempts, doubled each time, at most 30 s; it ends as soon "
        "as the sessions that blocked the attempt let go (default 2s)",
    )
    p.add_argument(
        "--statement-timeout",
        default="0",
        metavar=DURATION,
        help="how long one statement may run; 0 = no limit (default 0)",
    )
    p.add_argument(
        "--max-wait",
        default="0",
        metavar=DURATION,
        help="how long a concurrent statement may wait for other transactions before the run "
        "gives up, naming the holder; 0 = no limit (default 0)",
    )
    p.add_argument("--notes", default="", type=note, help="a note for history.toml")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "migration",
        type=migration_name,
        help="file stem (add_composite_indexes_20251123) or path",
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    _timing_options(p)


def _optional_migration(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("migration", nargs="?", type=migration_name, help=help)


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="migration-console",
        description="Run PostgreSQL schema migrations safely and see exactly what they do.",
        epilog=EPILOG,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _timing_options(parser)  # for runs started from the console
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common], epilog=EPILOG)

    p = add("status", "list migration files and their state on the database")
    p.add_argument("--json", action="store_true")
    p = add("plan", "show each statement, the lock it takes, what it blocks, and lint findings")
    p.add_argument("migration", type=migration_name)
    p.add_argument("--rollback", action="store_true", help="plan the down section")
    p.add_argument("--json", action="store_true")
    _run_options(
        add("run", "run a migration's up section (in a runner that outlives the terminal)")
    )
    _run_options(add("rollback", "run a migration's down section (the same way)"))
    p = add("attach", "follow a run from any terminal: its log so far, then live until it ends")
    _optional_migration(p, "the migration (default: the latest run)")
    p = add("cancel", "cancel a running migration's statement on the server and record the run")
    p.add_argument("migration", type=migration_name)
    p = add("recover", "an interrupted run (its runner went away): adopt, resume or mark it")
    p.add_argument("migration", type=migration_name)
    choice = p.add_mutually_exclusive_group()
    choice.add_argument(
        "--adopt", action="store_true", help="wait for its orphaned statement; record the outcome"
    )
    choice.add_argument(
        "--resume", action="store_true", help="run again, skipping what took effect"
    )
    choice.add_argument(
        "--mark", metavar="NOTE", type=note, help="record the run as interrupted, with a note"
    )
    p.add_argument("-y", "--yes", action="store_true", help="resume without asking")
    _timing_options(p)
    p = add("verify", "check the migration's indexes and verification queries")
    p.add_argument("migration", type=migration_name)
    p.add_argument("--json", action="store_true")
    p = add("blockers", "what a migration waits for: its lock tree, or every waiting session")
    _optional_migration(p, "show the lock tree around this migration's running session")
    p.add_argument("--pid", type=pid, help="show the lock tree around this session instead")
    p.add_argument("--json", action="store_true")
    p = add("history", "show history.toml")
    p.add_argument("--json", action="store_true")
    p = add("doctor", "check the connection, the role and the database before running anything")
    _optional_migration(p, "check privileges for this one (default: all)")
    p.add_argument("--json", action="store_true")
    p = add("demo", "start the embedded demo database (PostgreSQL 18) and open the console on it")
    p.add_argument(
        "--rows",
        type=row_count,
        default=1_000_000,
        help="conversation_messages rows to seed (default 1,000,000)",
    )
    p.add_argument(
        "--reset", action="store_true", help="throw the demo database away and start over"
    )
    _timing_options(p)
    p.add_argument(
        "--no-tui",
        action="store_true",
        help="print the status and how to connect instead of opening the console",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--scenario",
        metavar="NAME",
        help="start a rehearsal hang on the demo database and say what to look for: "
        "idle-writer (a writer idle in transaction), old-snapshot (an old snapshot on "
        "another table), lock-queue (an ACCESS EXCLUSIVE holder with a queue behind it), "
        "long-query (a query running for minutes); it goes on after the command returns",
    )
    what.add_argument(
        "--stop-scenarios", action="store_true", help="end every rehearsal that is running"
    )
    what.add_argument(
        "--stop",
        action="store_true",
        help="end the rehearsals and stop the demo server (its data stays)",
    )
    return parser
