-- When each given session's ($1) current transaction started (NULL: none open).
SELECT pid, xact_start
  FROM pg_stat_activity
 WHERE pid = ANY($1::int[])
