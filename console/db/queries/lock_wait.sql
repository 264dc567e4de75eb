-- The lock one backend ($1) is waiting for, if any, and since when (PostgreSQL 14+:
-- pg_locks.waitstart). "virtualxid"/"transactionid": it waits for another
-- transaction to end; anything else: for a lock on an object (a table).
SELECT l.locktype,
       l.mode,
       l.relation::oid::int8 AS relation_oid,
       l.relation::regclass::text AS relation,
       extract(epoch FROM clock_timestamp() - l.waitstart)::float8 AS waited_s
  FROM pg_locks l
 WHERE l.pid = $1 AND NOT l.granted
 LIMIT 1
