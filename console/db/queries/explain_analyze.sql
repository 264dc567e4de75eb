-- The prefix for one compare query from a migration file (trusted text, checked by
-- the core to be a plain SELECT, VALUES or TABLE): its actual plan, timings and
-- buffer counts as JSON. The caller runs it in a READ ONLY transaction it rolls back.
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
