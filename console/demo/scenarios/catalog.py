"""The rehearsal scenarios: the hangs of the seed's troubleshooting section, made on purpose.

Each scenario is a few sessions on the demo database, each named by its
``application_name`` (``demo scenario: …``) so the console shows what it is, and
a few lines saying what to look for in the console and what to press. Both faces
show the same words: the CLI prints them, the TUI shows them in the palette.

The sessions' statements are fixed text: nothing is ever put into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

APP_PREFIX = "demo scenario: "

# holds:  runs its statements and stays in the transaction they opened (idle in transaction)
# runs:   sends a query that runs for minutes (active)
# queues: sends a query that waits on a lock another session of the scenario holds
Kind = Literal["holds", "runs", "queues"]


@dataclass(frozen=True)
class Session:
    role: str  # its application_name after APP_PREFIX
    sql: str
    kind: Kind = "holds"
    main: bool = False  # the hang: when this session ends (terminated, cancelled), it is over

    @property
    def application_name(self) -> str:
        return APP_PREFIX + self.role


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str  # one sentence: what it creates
    look_for: tuple[str, ...]  # what to look for in the console, and what to press
    sessions: tuple[Session, ...]

    @property
    def text(self) -> str:
        """The description and what to look for, one line each."""
        return "\n".join((self.description, *self.look_for))


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "idle-writer",
            "writer idle in transaction",
            "A session inserted a row into conversation_messages and never committed: it is "
            "idle in transaction, holding its write lock.",
            (
                "Run the migration (r): its first CREATE INDEX CONCURRENTLY, on "
                "conversation_messages, stops at 'waiting for writers before build'.",
                "Blockers (4): the writer is shown in red above the migration, idle in "
                "transaction, its last query the INSERT; the sentence under the table says every "
                "transaction that wrote to the table must finish first, and names its pid.",
                "Cancel (c) does nothing to it, it runs no query: terminate it (t) and the "
                "build goes on.",
            ),
            (
                Session(
                    "writer idle in transaction",
                    "BEGIN; INSERT INTO conversation_messages "
                    "(user_id, contact_id, message_type, direction, body) "
                    "VALUES (1, 5, 'sms', 'outbound', 'typed, never committed')",
                    "holds",
                    main=True,
                ),
            ),
        ),
        Scenario(
            "old-snapshot",
            "old snapshot on another table",
            "A report opened a REPEATABLE READ transaction, read users and went idle: its "
            "snapshot stays, though it never touches the migration's tables.",
            (
                "Run the migration (r): each CREATE INDEX CONCURRENTLY builds, then stops at "
                "'waiting for old snapshots'.",
                "Blockers (4): the sentence says every transaction older than the build must "
                "finish first, even one that never touched the table, and names this session "
                "(idle in transaction, last query on users).",
                "Terminate it (t); cancel (c) does nothing to an idle session. The build finishes.",
            ),
            (
                Session(
                    "old snapshot (repeatable read)",
                    "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM users",
                    "holds",
                    main=True,
                ),
            ),
        ),
        Scenario(
            "lock-queue",
            "ACCESS EXCLUSIVE holder with a queue behind it",
            "A session took ACCESS EXCLUSIVE on call_costs, as an ALTER TABLE would, and went "
            "idle in transaction; three readers queue behind it, and so does every new query "
            "on call_costs.",
            (
                "Blockers (4): the three readers wait on Lock, each blocked by the holder's "
                "pid; `migration-console blockers` says the same.",
                "Run the migration (r): its first CREATE INDEX CONCURRENTLY, on "
                "conversation_messages, already stops at 'waiting for old snapshots': each "
                "queued reader took its snapshot before it began to wait.",
                "Terminate the holder (t): the queue drains at once and the run goes on. Cancel "
                "only the readers (c) and the build on call_costs waits for the holder's lock "
                "instead, given up after --lock-timeout (5 s) and retried.",
            ),
            (
                Session(
                    "ACCESS EXCLUSIVE holder",
                    "BEGIN; LOCK TABLE call_costs IN ACCESS EXCLUSIVE MODE",
                    "holds",
                    main=True,
                ),
                *(
                    Session(
                        "reader queued behind the lock", "SELECT count(*) FROM call_costs", "queues"
                    )
                    for _ in range(3)
                ),
            ),
        ),
        Scenario(
            "long-query",
            "long-running query",
            "A report on conversation_messages has been running for minutes (it ends by itself "
            "after 10): its snapshot is as old as the query.",
            (
                "It is what the seed's troubleshooting query finds: `migration-console blockers` "
                "lists it, active, with its age.",
                "Run the migration (r): the first CREATE INDEX CONCURRENTLY builds, then stops at "
                "'waiting for old snapshots' and names this session.",
                "It is running, so cancelling its query (c) is enough; terminate (t) would end "
                "the session too.",
            ),
            (
                Session(
                    "long-running report",
                    "SELECT count(*) AS messages, pg_sleep(600) FROM conversation_messages",
                    "runs",
                    main=True,
                ),
            ),
        ),
    )
}


def scenario(name: str) -> Scenario | None:
    return SCENARIOS.get(name)
