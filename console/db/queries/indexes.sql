-- For each index name: whether it exists, is valid, on which table, its
-- definition, size and usage, and whether a session is building it right now.
SELECT i.name,
       c.oid IS NOT NULL AS exists,
       c.oid::regclass::text AS qualified,
       x.indisvalid AS valid,
       x.indrelid::regclass::text AS table_name,
       pg_get_indexdef(c.oid) AS definition,
       pg_relation_size(c.oid) AS size_bytes,
       pg_size_pretty(pg_relation_size(c.oid)) AS size,
       s.idx_scan,
       (SELECT p.pid FROM pg_stat_progress_create_index p
         WHERE p.index_relid = c.oid LIMIT 1) AS building_pid
  FROM unnest($1::text[]) WITH ORDINALITY AS i(name, ord)
  LEFT JOIN pg_class c ON c.oid = to_regclass(i.name) AND c.relkind IN ('i', 'I')
  LEFT JOIN pg_index x ON x.indexrelid = c.oid
  LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = c.oid
 ORDER BY i.ord
