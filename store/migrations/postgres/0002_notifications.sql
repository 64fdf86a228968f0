-- The notification queue (package notify) keeps its messages beside the
-- documents, so every replica shares one queue and a restart loses none.
-- notify creates the same table itself on SQLite.
CREATE TABLE notifications (
  id         BIGSERIAL PRIMARY KEY,
  dedup_key  TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL,
  channel    TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
  recipients TEXT NOT NULL,
  subject    TEXT NOT NULL DEFAULT '',
  body_text  TEXT NOT NULL DEFAULT '',
  body_html  TEXT NOT NULL DEFAULT '',
  payload    TEXT NOT NULL DEFAULT '{}',
  created    BIGINT NOT NULL,
  next_try   BIGINT,
  attempts   INTEGER NOT NULL DEFAULT 0,
  sent_at    BIGINT,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_due ON notifications (next_try) WHERE sent_at IS NULL AND next_try IS NOT NULL;
CREATE INDEX notifications_sent ON notifications (sent_at) WHERE sent_at IS NOT NULL;
