-- Sessions in this database sitting idle inside an open transaction, oldest
-- transaction first. CREATE INDEX CONCURRENTLY waits for every one of them.
SELECT a.pid,
       a.state,
       a.application_name,
       a.usename::text AS role,
       COALESCE(host(a.client_addr), 'local') AS client,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_age_s,
       extract(epoch FROM now() - a.state_change)::float8 AS idle_s,
       a.query,
       count(*) OVER () AS total
  FROM pg_stat_activity a
 WHERE a.datname = current_database()
   AND a.pid <> pg_backend_pid()
   AND a.state LIKE 'idle in transaction%'
 ORDER BY a.xact_start NULLS LAST
 LIMIT 50
