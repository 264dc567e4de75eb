-- lock_wait.sql for PostgreSQL 12 and 13, which do not record when a wait started.
SELECT l.locktype,
       l.mode,
       l.relation::oid::int8 AS relation_oid,
       l.relation::regclass::text AS relation,
       NULL::float8 AS waited_s
  FROM pg_locks l
 WHERE l.pid = $1 AND NOT l.granted
 LIMIT 1
