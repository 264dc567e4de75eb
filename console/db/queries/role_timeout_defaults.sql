-- The values a new session of the login role gets for the given settings before the
-- client sets its own, from ALTER ROLE/DATABASE ... SET (pg_db_role_setting). Highest
-- precedence first: the role in this database, the role, this database, all roles.
-- One row per setting that has such a value.
WITH me AS (
    SELECT (SELECT oid FROM pg_roles WHERE rolname = session_user) AS role_oid,
           (SELECT oid FROM pg_database WHERE datname = current_database()) AS db_oid
), cfg AS (
    SELECT split_part(c, '=', 1) AS name,
           substr(c, strpos(c, '=') + 1) AS value,
           CASE
               WHEN s.setrole <> 0 AND s.setdatabase <> 0 THEN 1
               WHEN s.setrole <> 0 THEN 2
               WHEN s.setdatabase <> 0 THEN 3
               ELSE 4
           END AS rank
      FROM pg_db_role_setting s
     CROSS JOIN me
     CROSS JOIN LATERAL unnest(s.setconfig) AS c
     WHERE s.setrole IN (me.role_oid, 0)
       AND s.setdatabase IN (me.db_oid, 0)
)
SELECT DISTINCT ON (name)
       name,
       value,
       CASE rank
           WHEN 1 THEN format('ALTER ROLE %I IN DATABASE %I SET', session_user, current_database())
           WHEN 2 THEN format('ALTER ROLE %I SET', session_user)
           WHEN 3 THEN format('ALTER DATABASE %I SET', current_database())
           ELSE 'ALTER ROLE ALL SET'
       END AS source
  FROM cfg
 WHERE name = ANY ($1::text[])
 ORDER BY name, rank
