-- Sessions in this database whose state the current role may not see (other roles'
-- sessions, without pg_read_all_stats: state, query and backend_type read as NULL),
-- so what it reports about idle transactions is partial.
SELECT count(*) AS hidden
  FROM pg_stat_activity a
 WHERE a.datname = current_database()
   AND a.usesysid IS NOT NULL
   AND a.state IS NULL
   AND a.pid <> pg_backend_pid()
