-- vucelink's PostgreSQL schema, version 1. Times are Unix nanoseconds.
CREATE TABLE documents (
  seq            BIGSERIAL PRIMARY KEY,
  tracking_id    TEXT NOT NULL UNIQUE,
  direction      TEXT NOT NULL,
  partner        TEXT NOT NULL,
  doc_type       TEXT NOT NULL,
  doc_id         TEXT NOT NULL,
  digest         TEXT NOT NULL,
  state          TEXT NOT NULL,
  body           BYTEA,
  receipt        TEXT,
  receipt_signed BYTEA,
  attempts       INTEGER NOT NULL DEFAULT 0,
  next_try       BIGINT,
  lease_until    BIGINT,
  lease_token    BIGINT NOT NULL DEFAULT 0,
  last_error     TEXT NOT NULL DEFAULT '',
  contact        TEXT NOT NULL DEFAULT '',
  created        BIGINT NOT NULL,
  updated        BIGINT NOT NULL,
  UNIQUE (direction, partner, doc_type, doc_id)
);
CREATE INDEX documents_due ON documents (direction, partner, next_try) WHERE next_try IS NOT NULL;
CREATE INDEX documents_updated ON documents (updated);
CREATE INDEX documents_state ON documents (direction, state);

CREATE TABLE transitions (
  id         BIGSERIAL PRIMARY KEY,
  doc_seq    BIGINT NOT NULL REFERENCES documents(seq),
  at         BIGINT NOT NULL,
  from_state TEXT NOT NULL,
  to_state   TEXT NOT NULL,
  actor      TEXT NOT NULL,
  reason     TEXT NOT NULL
);
CREATE INDEX transitions_doc ON transitions (doc_seq, id);

CREATE TABLE partners (
  code   TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE partner_events (
  id     BIGSERIAL PRIMARY KEY,
  code   TEXT NOT NULL,
  at     BIGINT NOT NULL,
  action TEXT NOT NULL,
  actor  TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE TABLE cursors (
  name    TEXT PRIMARY KEY,
  last_id BIGINT NOT NULL
);
CREATE TABLE records (
  kind    TEXT NOT NULL,
  key     TEXT NOT NULL,
  value   BYTEA,
  expires BIGINT,
  PRIMARY KEY (kind, key)
);

CREATE FUNCTION vucelink_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only';
END $$;
CREATE TRIGGER transitions_append_only BEFORE UPDATE OR DELETE ON transitions
  FOR EACH ROW EXECUTE FUNCTION vucelink_append_only();
CREATE TRIGGER partner_events_append_only BEFORE UPDATE OR DELETE ON partner_events
  FOR EACH ROW EXECUTE FUNCTION vucelink_append_only();
