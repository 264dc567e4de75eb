-- For each table name (resolved through search_path like the migration would):
-- does it exist, its qualified name, and may the current role alter it (own it)
-- and create indexes beside it (CREATE on its schema).
SELECT t.name,
       c.oid IS NOT NULL AS exists,
       c.oid::regclass::text AS qualified,
       pg_get_userbyid(c.relowner) AS owner,
       COALESCE(pg_has_role(current_user, c.relowner, 'USAGE'), false) AS may_alter,
       n.nspname::text AS schema,
       COALESCE(has_schema_privilege(c.relnamespace, 'CREATE'), false) AS may_create,
       c.reltuples::bigint AS estimated_rows
  FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord)
  LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
 ORDER BY t.ord
