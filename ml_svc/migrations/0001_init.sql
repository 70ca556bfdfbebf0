-- ml_svc, schema "ml": personal memory and corrections. Run by finmesh.db.migrate in one
-- transaction with search_path set to the schema.

-- merchant -> category learned from a user's corrections (one correction is enough).
CREATE TABLE user_memory (
    user_id      text NOT NULL,
    merchant_key text NOT NULL,
    category     text NOT NULL,
    count        integer NOT NULL DEFAULT 1 CHECK (count > 0),
    update_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, merchant_key)
);

-- Every correction, for nearest-neighbour lookups and weighted retraining.
CREATE TABLE corrections (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     text NOT NULL,
    description text NOT NULL DEFAULT '',
    merchant    text NOT NULL DEFAULT '',
    amount      numeric(20, 9),
    direction   text NOT NULL DEFAULT 'DEBIT' CHECK (direction IN ('DEBIT', 'CREDIT')),
    category    text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX corrections_user_idx ON corrections (user_id, create_time);

-- Consumer-side deduplication on the Kafka `event-id` header.
CREATE TABLE processed_events (
    event_id       uuid PRIMARY KEY,
    consumer       text NOT NULL,
    processed_time timestamptz NOT NULL DEFAULT now()
);
