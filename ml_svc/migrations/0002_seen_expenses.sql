-- ml_svc, schema "ml": a compact record of the expenses ml_svc has enriched, so that
-- `python -m ml_svc.replay` can re-label the ones whose category the user has not set.
-- Keyed by expense: the latest snapshot (by event time) wins.
CREATE TABLE seen_expenses (
    user_id          text NOT NULL,
    expense_id       text NOT NULL,
    source_event_id  text NOT NULL,
    occur_time       timestamptz NOT NULL,
    description      text NOT NULL,
    merchant         text NOT NULL DEFAULT '',
    amount_units     bigint NOT NULL DEFAULT 0,
    amount_nanos     integer NOT NULL DEFAULT 0,
    currency_code    text NOT NULL DEFAULT '',
    direction        text NOT NULL DEFAULT 'DEBIT' CHECK (direction IN ('DEBIT', 'CREDIT')),
    locale           text NOT NULL DEFAULT '',
    user_categorised boolean NOT NULL DEFAULT false,
    category         text NOT NULL DEFAULT '',
    model_version    text NOT NULL DEFAULT '',
    deleted          boolean NOT NULL DEFAULT false,
    update_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, expense_id)
);

-- The memory key of a correction (normalised or dictionary-canonical merchant), for the
-- nearest-corrected-expense step.
ALTER TABLE corrections ADD COLUMN merchant_key text NOT NULL DEFAULT '';
ALTER TABLE corrections ADD COLUMN event_id text;
CREATE UNIQUE INDEX corrections_event_idx ON corrections (event_id) WHERE event_id IS NOT NULL;
ALTER TABLE user_memory ADD COLUMN merchant text NOT NULL DEFAULT '';
