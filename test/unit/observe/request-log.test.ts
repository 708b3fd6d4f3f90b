import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditRecord } from '../../../src/audit/record.ts';
import { metricsDataPoint, observeRequest, requestLogLine } from '../../../src/observe/request-log.ts';

const record: AuditRecord = {
  requestId: 'r-1',
  phase: 'final',
  startedAt: '2026-11-27T00:00:00.000Z',
  method: 'POST',
  path: '/subscriptions/s/providers/Microsoft.Storage/storageAccounts/a/listKeys',
  query: 'api-version=1',
  decision: 'allow',
  ruleIds: ['list-keys-masked'],
  outcome: 'completed',
  status: 200,
  durationMs: 12,
  maskedCount: 2,
  maskedPaths: ['$.keys[0].value', '$.keys[1].value'],
  connection: 'arm',
  requestBody: '{"password":"hunter2"}',
  principal: {
    tenantId: 't',
    subject: { objectId: 'oid', userPrincipalName: 'alice@contoso.com' },
    actor: { appId: 'app', credentialType: 'public_client', appOnly: false },
    groups: [],
    roles: [],
    scopes: [],
    directoryRoles: [],
    tokenVersion: '2.0',
    tokenFingerprint: 'fp',
    expiresAt: 0,
  },
};

describe('request log line', () => {
  it('names the request, decision, status and timings', () => {
    expect(requestLogLine(record)).toMatchObject({
      requestId: 'r-1',
      decision: 'allow',
      status: 200,
      durationMs: 12,
      maskedCount: 2,
      subject: 'oid',
      actor: 'app',
    });
  });

  it('never carries bodies, masked paths, UPNs or token fingerprints', () => {
    const line = JSON.stringify(requestLogLine(record));
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('alice@contoso.com');
    expect(line).not.toContain('$.keys');
    expect(line).not.toContain('"fp"');
  });

  it('maps to an Analytics Engine data point', () => {
    expect(metricsDataPoint(record)).toEqual({
      indexes: ['arm'],
      blobs: ['arm', 'allow', 'completed', 'POST', 't', 'app'],
      doubles: [200, 12, 0, 2, 0],
    });
  });

  describe('observeRequest', () => {
    afterEach(() => vi.restoreAllMocks());

    it('logs one line and writes one data point by default', () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const points: unknown[] = [];
      observeRequest(record, { writeDataPoint: (p) => points.push(p) });
      expect(log).toHaveBeenCalledTimes(1);
      expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toMatchObject({ msg: 'request', requestId: 'r-1' });
      expect(points).toHaveLength(1);
    });

    it('writes the data point but no log line when the log is switched off (REQUEST_LOG=off)', () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const points: unknown[] = [];
      observeRequest(record, { writeDataPoint: (p) => points.push(p) }, false);
      expect(log).not.toHaveBeenCalled();
      expect(points).toHaveLength(1);
    });
  });
});
