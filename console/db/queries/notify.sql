-- A message to a running migration's runner, which listens on its run-lock session.
SELECT pg_notify($1, $2)
