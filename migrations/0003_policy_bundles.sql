-- Runtime-activated policy bundles (issue 4). Append-only history: the active bundle is the one
-- named by the latest activation row; rollback is a new activation row naming an older digest.
CREATE TABLE IF NOT EXISTS policy_bundles (
  digest TEXT PRIMARY KEY,           -- sha-256 of the bundle source's canonical JSON
  bundle TEXT NOT NULL,              -- the signed bundle, JSON, exactly as verified
  uploaded_at TEXT NOT NULL,
  uploaded_by TEXT NOT NULL          -- subject object id (or app id) of the admin
);

CREATE TABLE IF NOT EXISTS policy_activations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  digest TEXT NOT NULL,              -- a policy_bundles digest, or the embedded bundle's digest
  action TEXT NOT NULL CHECK (action IN ('activate', 'rollback')),
  previous_digest TEXT,
  activated_at TEXT NOT NULL,
  activated_by TEXT NOT NULL,
  request_id TEXT NOT NULL           -- the audit row of the control-plane call
);
CREATE INDEX IF NOT EXISTS policy_activations_digest ON policy_activations (digest);
