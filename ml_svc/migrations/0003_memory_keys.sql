-- Which normaliser and dictionary (the artifact fingerprint) computed the merchant keys of
-- user_memory and corrections: ml_svc re-keys them at start when its own differ, so that a
-- correction made before an upgrade still finds its merchant after it.
CREATE TABLE memory_keys (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint text NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now()
);
