-- Who holds a migration's run lock (the two-key advisory lock form has objsubid 2).
SELECT a.pid,
       a.application_name,
       a.usename::text AS role,
       COALESCE(host(a.client_addr), 'local socket') AS client,
       a.backend_start,
       a.state
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory'
   AND l.classid = $1::int::oid
   AND l.objid = $2::int::oid
   AND l.objsubid = 2
   AND l.granted
 LIMIT 1
