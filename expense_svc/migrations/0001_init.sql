-- expense_svc, schema "expense": base tables. The runner (finmesh.db.migrate) runs this file
-- in one transaction with search_path set to the schema: names stay unqualified.
-- Money is numeric(20, 9): google.type.Money's units + nanos, exact. Never float.
-- Enum columns hold the proto enum value names without their prefix
-- (DIRECTION_DEBIT -> 'DEBIT', CATEGORY_SOURCE_USER -> 'USER', ENRICHMENT_STATE_PENDING -> 'PENDING').

CREATE TABLE expenses (
    id                   uuid PRIMARY KEY,
    user_id              text NOT NULL,
    amount               numeric(20, 9) NOT NULL CHECK (amount >= 0),
    currency             char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    direction            text NOT NULL DEFAULT 'DEBIT' CHECK (direction IN ('DEBIT', 'CREDIT')),
    description          text NOT NULL DEFAULT '',
    merchant             text NOT NULL DEFAULT '',
    -- NULL until enrichment (or the user) sets it; a category id from the taxonomy or one of
    -- the user's own categories.
    category             text,
    category_source      text CHECK (category_source IN ('MODEL', 'USER', 'RULE', 'SUGGESTED')),
    category_confidence  numeric(5, 4) CHECK (category_confidence BETWEEN 0 AND 1),
    category_explanation text NOT NULL DEFAULT '',
    model_version        text NOT NULL DEFAULT '',
    enrichment_state     text NOT NULL DEFAULT 'PENDING'
                         CHECK (enrichment_state IN ('PENDING', 'ENRICHED', 'FAILED')),
    date                 date NOT NULL,
    -- optimistic concurrency: the etag (AIP-154) is derived from it; +1 on every change
    version              bigint NOT NULL DEFAULT 1,
    create_time          timestamptz NOT NULL DEFAULT now(),
    update_time          timestamptz NOT NULL DEFAULT now(),
    -- statement imports: 'csv' / 'ofx' / 'qif', and the OFX FITID or a content hash per line
    import_source        text,
    import_hash          text,
    CONSTRAINT expenses_user_import_hash_key UNIQUE (user_id, import_hash)
);

-- ListExpenses: newest first, per user, optionally per month (date range)
CREATE INDEX expenses_user_date_idx ON expenses (user_id, date DESC, create_time DESC, id);
-- budget aggregation: one user's debits in one category and month
CREATE INDEX expenses_user_category_date_idx ON expenses (user_id, category, date);

-- Idempotent creation (AIP-155 request_id / Idempotency-Key), written in the same transaction
-- as the expense. Same key + same request_hash -> replay `response` byte for byte.
CREATE TABLE idempotency_keys (
    user_id      text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    response     bytea,
    expense_id   uuid,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_create_time_idx ON idempotency_keys (create_time);

-- Monthly budgets. `spent` is maintained under pg_advisory_xact_lock(user+month); user edits
-- use compare-and-swap on `version` (etag).
CREATE TABLE budgets (
    user_id      text NOT NULL,
    month        char(7) NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    category     text NOT NULL,
    limit_amount numeric(20, 9) NOT NULL CHECK (limit_amount >= 0),
    currency     char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    spent        numeric(20, 9) NOT NULL DEFAULT 0,
    rollover     boolean NOT NULL DEFAULT false,
    version      bigint NOT NULL DEFAULT 1,
    create_time  timestamptz NOT NULL DEFAULT now(),
    update_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, month, category)
);

-- One row per threshold crossed: the primary key makes each alert exactly-once
-- (INSERT ... ON CONFLICT DO NOTHING, emit only when a row was inserted).
CREATE TABLE budget_alerts (
    user_id     text NOT NULL,
    month       char(7) NOT NULL,
    category    text NOT NULL,
    threshold   smallint NOT NULL CHECK (threshold IN (50, 80, 100)),
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, month, category, threshold)
);

-- Transactional outbox: rows committed with the change they announce; the relay publishes
-- them in id order and sets published_time.
CREATE TABLE outbox (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       uuid NOT NULL UNIQUE,
    topic          text NOT NULL,
    key            text NOT NULL,
    event_type     text NOT NULL,
    payload        bytea NOT NULL,
    create_time    timestamptz NOT NULL DEFAULT now(),
    published_time timestamptz
);

CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_time IS NULL;

-- Consumer-side deduplication on the Kafka `event-id` header.
CREATE TABLE processed_events (
    event_id       uuid PRIMARY KEY,
    consumer       text NOT NULL,
    processed_time timestamptz NOT NULL DEFAULT now()
);

-- A user's own categories, in addition to the global taxonomy.
CREATE TABLE user_categories (
    user_id      text NOT NULL,
    id           text NOT NULL,
    display_name text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, id)
);
