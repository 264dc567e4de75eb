-- CREATE INDEX progress of one backend (the migration's own session).
SELECT p.phase,
       p.index_relid::regclass::text AS index_name,
       p.relid::regclass::text AS table_name,
       p.lockers_total, p.lockers_done, p.current_locker_pid,
       p.blocks_total, p.blocks_done,
       p.tuples_total, p.tuples_done,
       p.partitions_total, p.partitions_done
  FROM pg_stat_progress_create_index p
 WHERE p.pid = $1
