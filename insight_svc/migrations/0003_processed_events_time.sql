-- processed_events rows are purged after a retention period (see insight_svc/server.py).
CREATE INDEX processed_events_time_idx ON processed_events (processed_time);
