-- The queryable mirror of approvals. The approval's Durable Object is the source of truth; it
-- writes these rows from its alarm (an outbox), so a row may trail the object by a moment.
CREATE TABLE approvals (
  approval_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled', 'consumed')),
  connection TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  query TEXT,
  rule_id TEXT,
  requester_oid TEXT,
  requester_app_id TEXT NOT NULL,
  required_count INTEGER NOT NULL,
  approvals INTEGER NOT NULL DEFAULT 0,
  denials INTEGER NOT NULL DEFAULT 0,
  approvers TEXT NOT NULL DEFAULT '[]',
  eligible_groups TEXT NOT NULL DEFAULT '[]',
  eligible_users TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (approval_id, round)
);
CREATE INDEX approvals_by_status ON approvals (status, created_at);

-- Every transition of every approval: who, when, why (the audit trail of the approval itself).
CREATE TABLE approval_events (
  approval_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  round INTEGER NOT NULL,
  event TEXT NOT NULL,
  status TEXT NOT NULL,
  at TEXT NOT NULL,
  by_oid TEXT,
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (approval_id, seq)
);

-- Replay protection for signed decision callbacks: a webhook id is accepted once.
CREATE TABLE approval_callback_ids (
  webhook_id TEXT PRIMARY KEY,
  received_at TEXT NOT NULL
);

-- Groups of approvers as seen on their own verified Entra tokens, so a signed chat-ops callback
-- (which names only an object id) can be checked against a rule's groups.
CREATE TABLE approver_groups (
  object_id TEXT PRIMARY KEY,
  groups TEXT NOT NULL,
  seen_at TEXT NOT NULL
);
