-- The pooling probe, second half (a separate statement, so a separate transaction
-- in autocommit): a transaction-mode pooler may hand it another server session,
-- where the backend differs and the token is gone.
SELECT pg_backend_pid() AS pid,
       current_setting('migration_console.doctor_probe', true) AS token
