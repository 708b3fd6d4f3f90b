-- One row per request that reached the gateway, whatever happened to it.
-- Mutating requests are written before they go upstream (phase = 'intent') and completed after
-- the last response byte (phase = 'final'); reads are written once, after the fact.
CREATE TABLE audit_events (
  request_id TEXT PRIMARY KEY,
  phase TEXT NOT NULL CHECK (phase IN ('intent', 'final')),
  started_at TEXT NOT NULL,
  finished_at TEXT,
  duration_ms INTEGER,
  tenant_id TEXT,
  subject_oid TEXT,
  subject_upn TEXT,
  subject_name TEXT,
  actor_app_id TEXT,
  actor_app_only INTEGER,
  actor_credential TEXT,
  token_fingerprint TEXT,
  connection TEXT,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  query TEXT,
  decision TEXT NOT NULL,
  rule_ids TEXT NOT NULL DEFAULT '[]',
  approval_id TEXT,
  status INTEGER,
  outcome TEXT NOT NULL,
  detail TEXT,
  masked_count INTEGER NOT NULL DEFAULT 0,
  masked_paths TEXT NOT NULL DEFAULT '[]',
  bytes_out INTEGER,
  upstream_request_id TEXT,
  client_ip TEXT,
  user_agent TEXT
);

CREATE INDEX audit_events_started_at ON audit_events (started_at);
CREATE INDEX audit_events_subject ON audit_events (subject_oid, started_at);
