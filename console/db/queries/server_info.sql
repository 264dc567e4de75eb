-- Who and where we are: version, role, database, and the role's signalling rights.
SELECT current_setting('server_version_num')::int AS version_num,
       current_setting('server_version') AS version,
       current_user AS role,
       current_database() AS database,
       pg_backend_pid() AS pid,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signal_backend,
       current_setting('lock_timeout') AS lock_timeout,
       current_setting('statement_timeout') AS statement_timeout,
       current_setting('transaction_read_only')::bool AS read_only
