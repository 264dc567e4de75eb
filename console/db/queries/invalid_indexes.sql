-- Every INVALID index in this database (a failed or cancelled CONCURRENTLY build).
SELECT c.oid::regclass::text AS name,
       x.indrelid::regclass::text AS table_name,
       pg_size_pretty(pg_relation_size(c.oid)) AS size
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indexrelid
 WHERE NOT x.indisvalid
 ORDER BY 1
