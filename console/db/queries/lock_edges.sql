-- For each waiting pid ($1): the lock it asks for and, for each holder ($2), the
-- mode the holder has on the same lockable object (relation, transaction id,
-- virtual transaction id: CREATE INDEX CONCURRENTLY waits on the latter).
WITH waiting AS (
    SELECT pid, locktype, mode, relation, database, transactionid, virtualxid,
           classid, objid, objsubid
      FROM pg_locks
     WHERE NOT granted AND pid = ANY($1::int[])
)
SELECT w.pid AS waiter,
       h.pid AS holder,
       w.locktype,
       w.mode AS wants,
       h.mode AS holds,
       w.relation::regclass::text AS relation
  FROM waiting w
  JOIN pg_locks h
    ON h.granted
   AND h.pid = ANY($2::int[])
   AND h.locktype = w.locktype
   AND h.database IS NOT DISTINCT FROM w.database
   AND h.relation IS NOT DISTINCT FROM w.relation
   AND h.transactionid IS NOT DISTINCT FROM w.transactionid
   AND h.virtualxid IS NOT DISTINCT FROM w.virtualxid
   AND h.classid IS NOT DISTINCT FROM w.classid
   AND h.objid IS NOT DISTINCT FROM w.objid
   AND h.objsubid IS NOT DISTINCT FROM w.objsubid
