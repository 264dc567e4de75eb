-- The migration's run lock: session level, so it never needs a transaction.
SELECT pg_try_advisory_lock($1::int, $2::int)
