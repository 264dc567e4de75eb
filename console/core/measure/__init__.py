"""Before/after query performance, measured: the migration's ``compare`` queries under
``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``, their access paths, and the comparison.

Every compare query runs in a READ ONLY transaction that is always rolled back, with a
30 s ``statement_timeout``, and only when it is a plain query (SELECT, WITH ... SELECT,
VALUES, TABLE) without data-modifying CTEs, SELECT INTO or row locks: EXPLAIN ANALYZE
executes its statement. A query the server refuses (a timeout, a missing table, a write
the READ ONLY transaction blocks) is kept with its ``error`` instead of failing the rest.

``guard`` decides which queries may run, ``explain`` runs them and reads their plans,
``compare`` sets a measurement beside another. Measurements are stored in history.toml as
``[[measurements]]``.
"""

from console.core.history.tables import (
    Measurement,
    QueryMeasurement,
    latest_measurement,
    measurements,
    save_measurement,
)
from console.core.measure.compare import QueryComparison, compare, main_access_path
from console.core.measure.explain import AFTER, BASELINE, measure, measure_database
from console.core.measure.guard import check_compare_statement, compare_statements

__all__ = [
    "AFTER",
    "BASELINE",
    "Measurement",
    "QueryComparison",
    "QueryMeasurement",
    "check_compare_statement",
    "compare",
    "compare_statements",
    "latest_measurement",
    "main_access_path",
    "measure",
    "measure_database",
    "measurements",
    "save_measurement",
]
