-- insight_svc, schema "insight": stored insights (alerts, anomalies, subscriptions...). Run by
-- finmesh.db.migrate in one transaction with search_path set to the schema.

CREATE TABLE insights (
    id          uuid PRIMARY KEY,
    user_id     text NOT NULL,
    month       char(7) NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    type        text NOT NULL,
    -- e.g. 'budget:2025-03:dining:80': the same insight is stored (and streamed) once
    dedupe_key  text NOT NULL,
    -- the serialized finance.insight.v1 message
    payload     bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT insights_user_dedupe_key UNIQUE (user_id, dedupe_key)
);

CREATE INDEX insights_user_month_idx ON insights (user_id, month, create_time DESC);

-- Consumer-side deduplication on the Kafka `event-id` header.
CREATE TABLE processed_events (
    event_id       uuid PRIMARY KEY,
    consumer       text NOT NULL,
    processed_time timestamptz NOT NULL DEFAULT now()
);
