-- Requests that carry requests (ARM /batch, Graph $batch) leave one child row per embedded request,
-- naming the batch's row as its parent, so "who deleted resource group X?" finds a delete done
-- through a batch. `request_facts` holds bounded facts policy read from a body (a template
-- deployment's resources, a batch's size, the origin of a bound follow-up call).
-- Nullable columns: old rows' hashes do not change (src/audit/canonical.ts).
ALTER TABLE audit_events ADD COLUMN parent_request_id TEXT;
ALTER TABLE audit_events ADD COLUMN request_facts TEXT;
CREATE INDEX audit_events_parent ON audit_events (parent_request_id) WHERE parent_request_id IS NOT NULL;
