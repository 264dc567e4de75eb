-- Cancel a backend's statement only while it still waits for a lock on an object
-- (not for other transactions): the console's lock timeout for concurrent
-- statements, which must never cancel a build that has started.
SELECT pg_cancel_backend(l.pid)
  FROM pg_locks l
 WHERE l.pid = $1 AND NOT l.granted
   AND l.locktype NOT IN ('virtualxid', 'transactionid')
 LIMIT 1
