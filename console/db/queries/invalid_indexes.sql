-- Every INVALID index in this database (a failed or cancelled CONCURRENTLY build),
-- and the session building it right now, if any (then it is not a leftover: an
-- index under construction is INVALID until its build ends).
SELECT c.oid::regclass::text AS name,
       x.indrelid::regclass::text AS table_name,
       pg_size_pretty(pg_relation_size(c.oid)) AS size,
       (SELECT p.pid FROM pg_stat_progress_create_index p
         WHERE p.index_relid = c.oid LIMIT 1) AS building_pid
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indexrelid
 WHERE NOT x.indisvalid
 ORDER BY 1
