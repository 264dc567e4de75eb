-- The locks the given sessions ($1) hold on one relation ($2, an oid).
SELECT pid, mode
  FROM pg_locks
 WHERE granted AND pid = ANY($1::int[]) AND relation = $2::int8::oid
