import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { activityOf, OcsfApiActivity, toOcsfApiActivity } from '../../../src/audit/ocsf.ts';

const row = {
  request_id: 'r-1',
  phase: 'final',
  started_at: '2026-11-27T08:00:00.000Z',
  finished_at: '2026-11-27T08:00:00.250Z',
  duration_ms: 250,
  tenant_id: 't',
  subject_oid: null,
  actor_app_id: 'app-1',
  connection: 'arm',
  method: 'POST',
  path: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/listKeys',
  query: null,
  decision: 'deny',
  rule_ids: '["apps-without-a-human-may-not-write"]',
  status: 403,
  outcome: 'refused',
  masked_count: 0,
  masked_paths: '[]',
};

describe('OCSF API Activity export', () => {
  it('maps HTTP methods to OCSF activity ids', () => {
    expect(['GET', 'PUT', 'PATCH', 'DELETE', 'POST'].map((m) => activityOf(m).id)).toEqual([2, 1, 3, 4, 99]);
  });

  it('maps an app-only denial to a schema-valid failure event', () => {
    const event = toOcsfApiActivity(row);
    const parsed = v.safeParse(OcsfApiActivity, event);
    expect(parsed.issues).toBeUndefined();
    expect(event).toMatchObject({
      class_uid: 6003,
      type_uid: 600399,
      time: Date.parse(row.started_at),
      status_id: 2,
      severity_id: 3,
      actor: { user: { uid: 'app-1', type: 'Application' }, app_uid: 'app-1' },
      cloud: { provider: 'Azure', account: { uid: 's' } },
    });
  });

  it('the schema rejects events missing required OCSF attributes', () => {
    const { cloud: _cloud, ...withoutCloud } = toOcsfApiActivity(row);
    expect(v.safeParse(OcsfApiActivity, withoutCloud).success).toBe(false);
    expect(v.safeParse(OcsfApiActivity, { ...toOcsfApiActivity(row), class_uid: 3002 }).success).toBe(false);
  });
});
