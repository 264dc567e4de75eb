-- The given settings as the server's configuration files set them (postgresql.conf,
-- ALTER SYSTEM). pg_file_settings is readable by superusers only: the caller treats
-- "permission denied" as "not known".
SELECT DISTINCT ON (f.name) f.name, f.setting AS value, f.sourcefile AS source
  FROM pg_file_settings f
 WHERE f.name = ANY ($1::text[])
   AND f.applied
   AND f.error IS NULL
 ORDER BY f.name, f.seqno DESC
