-- Demo data, generated in SQL: run after schema.sql, in the same session as
--   SELECT set_config('demo.rows', '1000000', false);
-- demo.rows is the number of conversation_messages; call_costs gets a fifth of
-- that and scheduled_tasks a tenth. ~2,000 users with ~50 contacts each; user 1
-- is a heavy user (3% of everything) who writes to contact 5 a lot, which is what
-- the migration's compare queries look at. Timestamps spread over the last year.
-- setseed makes every seeding of the same size produce the same data.

SELECT setseed(0.2025);

INSERT INTO users (name, email, created_at)
SELECT 'User ' || g, 'user' || g || '@example.com', now() - interval '2 years' + g * interval '5 hours'
  FROM generate_series(1, 2000) AS g;

INSERT INTO conversation_messages
       (user_id, contact_id, message_type, direction, body, created_at, read_at)
SELECT m.user_id,
       (m.user_id - 1) * 50
         + CASE WHEN m.user_id = 1 AND random() < 0.25 THEN 5 ELSE 1 + floor(random() * 50)::int END,
       m.message_type,
       m.direction,
       (ARRAY['Are we still on for tomorrow?', 'Thanks, got it.', 'Can you call me back?',
              'Invoice attached.', 'Running 10 minutes late.', 'See you at 3.',
              'Left you a voicemail about the quote.', 'Please confirm the new address.']
       )[1 + floor(random() * 8)::int],
       m.created_at,
       CASE WHEN m.direction = 'inbound' AND random() < 0.8
            THEN m.created_at + random() * interval '2 hours' END
  FROM (SELECT t.user_id, t.message_type,
               CASE WHEN t.message_type = 'note' THEN NULL
                    WHEN random() < 0.5 THEN 'inbound' ELSE 'outbound' END AS direction,
               now() - random() * interval '365 days' AS created_at
          FROM (SELECT CASE WHEN random() < 0.03 THEN 1
                            ELSE 2 + floor(power(random(), 1.6) * 1999)::bigint END AS user_id,
                       CASE WHEN r < 0.50 THEN 'sms' WHEN r < 0.75 THEN 'call'
                            WHEN r < 0.87 THEN 'email' WHEN r < 0.95 THEN 'voicemail'
                            ELSE 'note' END AS message_type
                  FROM (SELECT random() AS r
                          FROM generate_series(1, current_setting('demo.rows')::bigint) AS g
                        OFFSET 0) AS x
                OFFSET 0) AS t
        OFFSET 0) AS m;

INSERT INTO call_costs (user_id, call_id, billing_date, duration_seconds, amount_cents, currency)
SELECT c.user_id,
       1 + floor(random() * current_setting('demo.rows')::bigint)::bigint,
       current_date - floor(random() * 365)::int,
       c.seconds,
       1 + c.seconds * 3 / 60,
       CASE WHEN random() < 0.95 THEN 'USD' ELSE 'EUR' END
  FROM (SELECT CASE WHEN random() < 0.03 THEN 1
                    ELSE 2 + floor(power(random(), 1.6) * 1999)::bigint END AS user_id,
               5 + floor(power(random(), 2) * 1800)::int AS seconds
          FROM generate_series(1, current_setting('demo.rows')::bigint / 5) AS g
        OFFSET 0) AS c;

INSERT INTO scheduled_tasks (user_id, task_type, status, scheduled_for, payload, created_at)
SELECT s.user_id,
       (ARRAY['follow_up', 'reminder', 'send_sms', 'callback', 'report'])[1 + floor(random() * 5)::int],
       s.status,
       s.scheduled_for,
       jsonb_build_object('contact_id', (s.user_id - 1) * 50 + 1 + floor(random() * 50)::int,
                          'attempt', 1 + floor(random() * 3)::int),
       least(s.scheduled_for, now()) - random() * interval '7 days'
  FROM (SELECT u.user_id, u.status,
               CASE WHEN u.status IN ('pending', 'scheduled')
                    THEN now() + random() * interval '30 days'
                    WHEN u.status = 'running' THEN now() - random() * interval '10 minutes'
                    ELSE now() - random() * interval '365 days' END AS scheduled_for
          FROM (SELECT CASE WHEN random() < 0.03 THEN 1
                            ELSE 2 + floor(power(random(), 1.6) * 1999)::bigint END AS user_id,
                       CASE WHEN r < 0.80 THEN 'completed' WHEN r < 0.84 THEN 'failed'
                            WHEN r < 0.90 THEN 'cancelled' WHEN r < 0.95 THEN 'pending'
                            WHEN r < 0.99 THEN 'scheduled' ELSE 'running' END AS status
                  FROM (SELECT random() AS r
                          FROM generate_series(1, current_setting('demo.rows')::bigint / 10) AS g
                        OFFSET 0) AS x
                OFFSET 0) AS u
        OFFSET 0) AS s;
