// Audit costs:
// 1. CPU the audit adds to one request on the hot path (in Node, same code the Worker runs):
//    building the stored row + its canonical SHA-256 hash, masking a captured request body, and
//    handing the row to the micro-batcher.
// 2. Rows/s one local D1 database sustains (wrangler's getPlatformProxy: the same miniflare D1,
//    SQLite on disk in a temp dir, that `wrangler dev` uses, driven from Node over its proxy) for one-row writes versus `batch()`es of 10 and 50
//    upserts (the batcher's cap), and the time to seal 1000 rows into a signed digest.
// Figures are printed, never asserted.

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPlatformProxy } from 'wrangler';
import { AuditBatcher } from '../src/audit/batcher.ts';
import { capturedFromBytes, maskedBody } from '../src/audit/body-capture.ts';
import { canonicalRow } from '../src/audit/canonical.ts';
import { toStoredRow, writeAuditRecord, writeAuditRecords } from '../src/audit/d1-store.ts';
import { sealPending } from '../src/audit/digest.ts';
import type { AuditRecord } from '../src/audit/record.ts';
import { DEV_AUDIT_SIGNING_JWK, loadSigningKey } from '../src/audit/signing-key.ts';
import { measure, report } from './harness.ts';

let counter = 0;
function record(): AuditRecord {
  counter++;
  return {
    requestId: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    phase: 'final',
    startedAt: new Date(1_790_000_000_000 + counter).toISOString(),
    finishedAt: new Date(1_790_000_000_050 + counter).toISOString(),
    durationMs: 50,
    principal: {
      tenantId: '11111111-1111-4111-8111-111111111111',
      subject: {
        objectId: 'bbbbbbbb-0000-4000-8000-00000000a11c',
        userPrincipalName: 'alice@contoso.com',
        displayName: 'Alice',
      },
      actor: { appId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', credentialType: 'public_client', appOnly: false },
      groups: [],
      roles: [],
      scopes: ['user_impersonation'],
      directoryRoles: [],
      tokenVersion: '2.0',
      tokenFingerprint: 'abcdef0123456789',
      expiresAt: 0,
    },
    connection: 'arm',
    method: 'GET',
    path: '/subscriptions/00000000-0000-4000-8000-00000000a2b1/resourceGroups/demo-rg',
    query: 'api-version=2021-04-01',
    operation: 'Microsoft.Resources/subscriptions/resourceGroups/read',
    resourceId: '/subscriptions/00000000-0000-4000-8000-00000000a2b1/resourceGroups/demo-rg',
    decision: 'allow',
    ruleIds: ['readers-may-read'],
    status: 200,
    outcome: 'completed',
    maskedCount: 0,
    maskedPaths: [],
    bytesIn: 0,
    bytesOut: 312,
    upstreamRequestId: '6f1c2d3e-0000-4000-8000-000000000001',
    upstreamCorrelationId: '6f1c2d3e-0000-4000-8000-000000000002',
    clientRequestId: '6f1c2d3e-0000-4000-8000-000000000003',
    upstreamMs: 40,
    clientIp: '203.0.113.7',
    userAgent: 'AZURECLI/2.60.0 (DEB) azsdk-python-core/1.28.0 Python/3.11',
    colo: 'AMS',
    policyDigest: 'a'.repeat(64),
  };
}

console.log(`Node ${process.version}`);
console.log('\n-- hot path CPU per request --');
report(await measure('stored row + canonical SHA-256 row hash', () => toStoredRow(record())));
const sampleRow = await toStoredRow(record());
const sample = canonicalRow(sampleRow);
report(await measure('  of which: canonical JSON of the row', () => canonicalRow(sampleRow)));
report(
  await measure('  of which: SHA-256 of it (node:crypto, sync)', () =>
    createHash('sha256').update(sample).digest('hex'),
  ),
);
const body = new TextEncoder().encode(
  JSON.stringify({
    location: 'westeurope',
    tags: { owner: 'alice', cost: 'cc-1' },
    properties: { adminPassword: 'x'.repeat(24) },
  }),
);
report(await measure('mask captured request body (~120 B JSON)', () => maskedBody(capturedFromBytes(body, 8192))));
const batcher = new AuditBatcher({ windowMs: 1_000_000, maxRows: 50 });
const nullSink = { waitUntil() {}, write: async () => {}, fallback: async () => {} };
report(await measure('batcher enqueue', () => batcher.enqueue(record(), nullSink)));

console.log('\n-- local D1 (wrangler getPlatformProxy → miniflare D1, SQLite file) --');
const persistDir = mkdtempSync(join(tmpdir(), 'edgeward-audit-bench-'));
const proxy = await getPlatformProxy<Env>({
  configPath: new URL('../wrangler.toml', import.meta.url).pathname,
  persist: { path: persistDir },
});
const db = proxy.env.AUDIT_DB;
const migrations = new URL('../migrations/', import.meta.url).pathname;
for (const file of readdirSync(migrations).sort()) {
  const sql = readFileSync(join(migrations, file), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n');
  for (const statement of sql
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean))
    await db.prepare(statement).run();
}

async function rowsPerSecond(label: string, batchSize: number, total: number): Promise<void> {
  const start = performance.now();
  for (let written = 0; written < total; written += batchSize) {
    const records = Array.from({ length: batchSize }, record);
    if (batchSize === 1) await writeAuditRecord(db, records[0] as AuditRecord);
    else await writeAuditRecords(db, records);
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `${label.padEnd(48)} ${(total / seconds).toFixed(0).padStart(7)} rows/s  (${total} rows, ${(seconds * 1000).toFixed(0)} ms)`,
  );
}

await rowsPerSecond('one upsert per round trip', 1, 200);
await rowsPerSecond('batch() of 10 upserts per round trip', 10, 1000);
await rowsPerSecond('batch() of 50 upserts per round trip (batcher cap)', 50, 2500);

const signer = await loadSigningKey(JSON.stringify(DEV_AUDIT_SIGNING_JWK));
const sealStart = performance.now();
const sealed = await sealPending(db, signer, Date.now(), { maxRows: 1000, maxEntries: 4 });
const sealMs = performance.now() - sealStart;
const sealedRows = sealed.reduce((n, d) => n + d.row_count, 0);
console.log(
  `${'seal (Merkle root + Ed25519 + stamp rows)'.padEnd(48)} ${(sealedRows / (sealMs / 1000)).toFixed(0).padStart(7)} rows/s  (${sealedRows} rows in ${sealed.length} digests, ${sealMs.toFixed(0)} ms)`,
);
// dispose() has been seen to hang on this machine: do not let it hold the benchmark run.
await Promise.race([proxy.dispose(), new Promise((resolve) => setTimeout(resolve, 5000))]);
rmSync(persistDir, { recursive: true, force: true });
process.exit(0);
