"""history.toml, owned here: the team's migration table, kept current, one record per run,
sign-offs, measurements and the operators' actions.

    records   the dataclasses (runs, statements, migration rows) and their TOML form
    schema    the shape the file must have, checked before reading and writing
    store     reading, and round-trip writes of the records (comments kept)
    atomic    the file on disk: the lock, atomic replacement, fsync
    document  the tomlkit document changed table by table
    blocks    the file as blocks of text, so a run's record is written alone
    queries   questions asked of the content (open runs, the run to follow)
    tables    the other tables: sign-offs and measurements, written and read back

The file holds ``[[migrations]]`` (the "Migration History" table of the team's
status report: date, migration, status, executed_by, a person's ``notes``, and the
console's ``result``), ``[[runs]]`` (one record per run or rollback, written as it
starts and updated as it goes), ``[[signoffs]]``, ``[[measurements]]`` and
``[[actions]]``. Unknown keys and tables are kept.
"""

from console.core.history.queries import OperatorAction, actions, latest, open_runs
from console.core.history.records import (
    ROLLBACK,
    RUN,
    SQL_CHARS,
    HistoryData,
    MigrationRow,
    RunRecord,
    StatementRecord,
    first_sentence,
    fold_sql,
)
from console.core.history.store import HistoryStore

__all__ = [
    "ROLLBACK",
    "RUN",
    "SQL_CHARS",
    "HistoryData",
    "OperatorAction",
    "actions",
    "HistoryStore",
    "MigrationRow",
    "RunRecord",
    "StatementRecord",
    "first_sentence",
    "fold_sql",
    "latest",
    "open_runs",
]
