-- How an expense entered finmesh (Expense.origin) and the locale its description is in
-- (carried on ExpenseRecorded / ExpenseChanged for ml_svc's parser).
ALTER TABLE expenses
    ADD COLUMN origin text NOT NULL DEFAULT 'MANUAL'
        CHECK (origin IN ('MANUAL', 'QUICK_ADD', 'IMPORT')),
    ADD COLUMN locale text NOT NULL DEFAULT 'en_GB';

-- Idempotency keys are per user and per method: the same key used for CreateExpense and
-- ImportStatement must not collide.
ALTER TABLE idempotency_keys ADD COLUMN method text NOT NULL DEFAULT '';
