-- Composite and partial indexes for conversation history, message-type
-- filtering, cost reports and active scheduled tasks.
-- Source: the migration status report of 2025-11-23 (add_composite_indexes_20251123).
--
-- Every index is built CONCURRENTLY so reads and writes continue during the
-- build; CONCURRENTLY cannot run inside a transaction block, hence
-- transaction:false. IF NOT EXISTS makes a re-run skip indexes that are already
-- there (the console drops an INVALID leftover first, so it is never skipped).

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_conversation_messages_user_contact_date
    ON conversation_messages (user_id, contact_id, created_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_conversation_messages_user_type_date
    ON conversation_messages (user_id, message_type, created_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_call_costs_user_billing_date
    ON call_costs (user_id, billing_date DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_scheduled_tasks_active
    ON scheduled_tasks (user_id, scheduled_for)
    WHERE status IN ('pending', 'scheduled', 'running');

ANALYZE conversation_messages;
ANALYZE call_costs;
ANALYZE scheduled_tasks;

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS idx_conversation_messages_user_contact_date;
DROP INDEX CONCURRENTLY IF EXISTS idx_conversation_messages_user_type_date;
DROP INDEX CONCURRENTLY IF EXISTS idx_call_costs_user_billing_date;
DROP INDEX CONCURRENTLY IF EXISTS idx_scheduled_tasks_active;

ANALYZE conversation_messages;
ANALYZE call_costs;
ANALYZE scheduled_tasks;

-- migrate:verify
-- Each query must return a true or non-empty result.
SELECT count(*) = 4
  FROM pg_indexes
 WHERE indexname IN (
       'idx_conversation_messages_user_contact_date',
       'idx_conversation_messages_user_type_date',
       'idx_call_costs_user_billing_date',
       'idx_scheduled_tasks_active');

-- migrate:compare
-- Target queries: their plans and timings are measured before and after.
-- Contact conversation history
SELECT * FROM conversation_messages
 WHERE user_id = 1 AND contact_id = 5
 ORDER BY created_at DESC
 LIMIT 50;

-- Message type filtering with pagination
SELECT * FROM conversation_messages
 WHERE user_id = 1 AND message_type = 'sms'
 ORDER BY created_at DESC
 LIMIT 50;

-- User cost report generation
SELECT billing_date, sum(amount_cents) AS total_cents
  FROM call_costs
 WHERE user_id = 1 AND billing_date >= current_date - 30
 GROUP BY billing_date
 ORDER BY billing_date DESC;

-- Active task queries
SELECT * FROM scheduled_tasks
 WHERE user_id = 1 AND status IN ('pending', 'scheduled', 'running')
 ORDER BY scheduled_for
 LIMIT 50;
