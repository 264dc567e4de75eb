-- The connection doctor's pooling probe, first half: remember a token in a
-- session-level setting (is_local = false) and say which backend answered.
SELECT pg_backend_pid() AS pid,
       set_config('migration_console.doctor_probe', $1::text, false) AS token
