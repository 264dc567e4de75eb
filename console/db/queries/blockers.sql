-- Every non-idle client session in this database (the seed's troubleshooting
-- query, oldest first) with what the console needs to explain a wait.
-- pg_blocking_pids briefly takes the lock manager's locks, so it is called only
-- for sessions that actually wait on a lock. Idle-in-transaction sessions are
-- kept: they hold locks and snapshots that make migrations wait. Without
-- pg_read_all_stats, other roles' sessions show with their details hidden.
SELECT a.pid,
       a.state,
       extract(epoch FROM now() - a.query_start)::float8 AS age_s,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_age_s,
       extract(epoch FROM now() - a.state_change)::float8 AS state_age_s,
       a.query,
       a.application_name,
       a.usename::text AS role,
       COALESCE(host(a.client_addr), 'local') AS client,
       a.wait_event_type,
       a.wait_event,
       a.backend_xmin IS NOT NULL AS holds_snapshot,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) ELSE '{}'::int[] END
           AS blocked_by,
       COALESCE(r.rolsuper, false) AS role_is_superuser,
       COALESCE(pg_has_role(a.usesysid, 'MEMBER'), false) AS same_role
  FROM pg_stat_activity a
  LEFT JOIN pg_roles r ON r.oid = a.usesysid
 WHERE (a.backend_type = 'client backend' OR a.backend_type IS NULL)  -- NULL: another role's
   AND a.datname = current_database()                                  -- session, details hidden
   AND a.pid <> pg_backend_pid()
   AND a.state IS DISTINCT FROM 'idle'
 ORDER BY a.query_start NULLS LAST
