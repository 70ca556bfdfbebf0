-- insight_svc's projection of each user's expenses, built from `expenses.raw` (ExpenseRecorded,
-- ExpenseChanged, ExpenseDeleted) and `expenses.parsed` (ExpenseEnriched). insight_svc never
-- reads expense_svc's schema: this copy is all it knows about expenses.

CREATE TABLE expenses (
    user_id          text NOT NULL,
    expense_id       text NOT NULL,
    amount           numeric(30, 9) NOT NULL CHECK (amount >= 0),
    currency_code    text NOT NULL,
    -- finance.expense.v1.Direction: 1 debit, 2 credit
    direction        smallint NOT NULL,
    description      text NOT NULL DEFAULT '',
    -- as expense_svc has them (empty while enrichment is pending)
    merchant         text NOT NULL DEFAULT '',
    category         text NOT NULL DEFAULT '',
    category_source  smallint NOT NULL DEFAULT 0,
    expense_date     date NOT NULL,
    -- the snapshot's update_time (the deletion's time for a tombstone): older snapshots
    -- arriving late are ignored
    version_time     timestamptz NOT NULL,
    deleted          boolean NOT NULL DEFAULT false,
    -- what insight_svc uses: expense_svc's values, else ml_svc's enrichment
    eff_merchant     text NOT NULL DEFAULT '',
    eff_category     text NOT NULL DEFAULT '',
    -- the payee grouping key (normalised merchant, else description words)
    merchant_key     text NOT NULL DEFAULT '',
    -- the finance.expense.v1.Expense last applied
    snapshot         bytea NOT NULL,
    PRIMARY KEY (user_id, expense_id)
);

CREATE INDEX expenses_user_date_idx ON expenses (user_id, expense_date) WHERE NOT deleted;
CREATE INDEX expenses_user_key_idx ON expenses (user_id, merchant_key, expense_date)
    WHERE NOT deleted;
CREATE INDEX expenses_user_category_idx
    ON expenses (user_id, eff_category, currency_code, expense_date) WHERE NOT deleted;

-- ml_svc's latest enrichment of an expense; it may arrive before the expense itself.
CREATE TABLE enrichments (
    user_id          text NOT NULL,
    expense_id       text NOT NULL,
    merchant         text NOT NULL DEFAULT '',
    category         text NOT NULL DEFAULT '',
    -- finance.expense.v1.EnrichmentState
    state            smallint NOT NULL,
    occur_time       timestamptz NOT NULL,
    event_id         text NOT NULL,
    PRIMARY KEY (user_id, expense_id)
);

-- The event an insight was stored from (a duplicate event with another id is not streamed).
ALTER TABLE insights ADD COLUMN event_id text NOT NULL DEFAULT '';
CREATE INDEX insights_user_time_idx ON insights (user_id, create_time DESC, id DESC);
