-- Issue 6: every AuditRecord field persisted, a per-row content hash, and sealed digests.
-- Append-only: new nullable columns (a NULL column is left out of the row's canonical form, so
-- rows written before a column existed keep their hash).
ALTER TABLE audit_events ADD COLUMN actor_mode TEXT;
ALTER TABLE audit_events ADD COLUMN session_id TEXT;
ALTER TABLE audit_events ADD COLUMN operation TEXT;
ALTER TABLE audit_events ADD COLUMN resource_id TEXT;
ALTER TABLE audit_events ADD COLUMN approvers TEXT;
ALTER TABLE audit_events ADD COLUMN bytes_in INTEGER;
ALTER TABLE audit_events ADD COLUMN upstream_correlation_id TEXT;
ALTER TABLE audit_events ADD COLUMN client_request_id TEXT;
ALTER TABLE audit_events ADD COLUMN upstream_ms INTEGER;
ALTER TABLE audit_events ADD COLUMN colo TEXT;
ALTER TABLE audit_events ADD COLUMN request_body TEXT;
ALTER TABLE audit_events ADD COLUMN request_body_truncated INTEGER;
ALTER TABLE audit_events ADD COLUMN request_body_cap INTEGER;
ALTER TABLE audit_events ADD COLUMN policy_digest TEXT;
-- SHA-256 (hex) of the row's canonical content (src/audit/canonical.ts).
ALTER TABLE audit_events ADD COLUMN row_hash TEXT;
-- Sequence number of the digest that sealed this row (NULL: not sealed yet).
ALTER TABLE audit_events ADD COLUMN sealed_seq INTEGER;

CREATE INDEX audit_events_unsealed ON audit_events (sealed_seq, finished_at);
CREATE INDEX audit_events_operation ON audit_events (operation, started_at);
CREATE INDEX audit_events_actor ON audit_events (actor_app_id, started_at);
CREATE INDEX audit_events_approval ON audit_events (approval_id);

-- The signed, hash-chained digest log (src/audit/digest.ts). A `seal` entry covers a set of rows
-- (their ids and hashes in `leaves`, bound by the RFC 9162 Merkle root `root`); a `prune` entry
-- records that the rows of sealed entries [pruned_from, pruned_to] were deleted by retention.
-- Entries are never updated or deleted.
CREATE TABLE audit_digests (
  seq INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('seal', 'prune')),
  created_at TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  root TEXT NOT NULL,
  leaves TEXT NOT NULL DEFAULT '[]',
  first_finished_at TEXT,
  last_finished_at TEXT,
  pruned_from INTEGER,
  pruned_to INTEGER,
  key_id TEXT NOT NULL,
  digest_hash TEXT NOT NULL,
  signature TEXT NOT NULL
);
