-- The demo database: the three tables the 2025-11-23 migration indexes, plus users.
-- Only primary keys: add_composite_indexes_20251123 adds the other indexes.

CREATE TABLE users (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversation_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    contact_id   bigint NOT NULL,
    message_type text NOT NULL
        CHECK (message_type IN ('sms', 'call', 'email', 'voicemail', 'note')),
    direction    text CHECK (direction IN ('inbound', 'outbound')),
    body         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz
);

CREATE TABLE call_costs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          bigint NOT NULL,
    call_id          bigint,  -- the conversation_messages row of the call
    billing_date     date NOT NULL,
    duration_seconds integer NOT NULL DEFAULT 0,
    amount_cents     integer NOT NULL,
    currency         text NOT NULL DEFAULT 'USD'
);

CREATE TABLE scheduled_tasks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL,
    task_type     text NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'scheduled', 'running', 'completed', 'failed', 'cancelled')),
    scheduled_for timestamptz NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
