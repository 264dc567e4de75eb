-- The seed's troubleshooting query (non-idle sessions, oldest first) plus who
-- blocks whom. Idle-in-transaction sessions are kept: they hold locks and
-- snapshots that make migrations wait.
SELECT a.pid,
       a.state,
       extract(epoch FROM now() - a.query_start)::float8 AS age_s,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_age_s,
       a.query,
       a.application_name,
       a.usename::text AS role,
       COALESCE(host(a.client_addr), 'local') AS client,
       a.wait_event_type,
       a.wait_event,
       a.backend_xmin IS NOT NULL AS holds_snapshot,
       pg_blocking_pids(a.pid) AS blocked_by
  FROM pg_stat_activity a
 WHERE a.backend_type = 'client backend'
   AND a.datname = current_database()
   AND a.pid <> pg_backend_pid()
   AND a.state IS DISTINCT FROM 'idle'
 ORDER BY a.query_start NULLS LAST
