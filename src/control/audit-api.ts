/**
 * The audit trail in the control plane:
 * - `GET /_gateway/audit/keys` (public): the JWKS of the Ed25519 key that signs audit digests;
 * - `GET /_gateway/audit/events` (auditors only): filtered, cursor-paginated rows, as JSON,
 *   NDJSON (`format=ndjson`) or OCSF API Activity NDJSON (`format=ocsf`);
 * - `GET /_gateway/audit/verify` (auditors only): recompute hashes, Merkle roots, chain and
 *   signatures over the whole trail and report every problem (HTTP 200 when intact, 409 if not);
 * - `POST /_gateway/audit/seal` (auditors only): run the sealing job now (as the cron does), e.g.
 *   before an export; returns the number of rows sealed;
 * - `GET /_gateway/audit` (auditors only): the latest rows (kept for the skeleton's clients).
 * Every call except `keys` runs through `audited()`, so each audit query is itself audited.
 */
import { Hono } from 'hono';
import {
  type AuditFilters,
  auditSigner,
  decodeCursor,
  FILTER_NAMES,
  listDigests,
  queryAuditEvents,
  type StoredRow,
  toOcsfApiActivity,
  verifyAuditTrail,
} from '../audit/index.ts';
import { runAuditMaintenance } from '../audit/maintenance.ts';
import type { Principal } from '../auth/index.ts';
import { badRequest, misconfigured } from '../errors.ts';
import type { Gateway } from '../gateway.ts';
import { principalMatches } from '../policy/index.ts';
import { problemResponse } from '../problem.ts';
import { audited, type ControlEnv, forbidden } from './audited.ts';

function requireAuditor(gateway: Gateway, principal: Principal): void {
  if (!gateway.policy.auditors || !principalMatches(gateway.policy.auditors, principal)) {
    throw forbidden('Only auditors may read the audit trail.', 'not an auditor');
  }
}

const TIME = /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/;

function parseFilters(query: (name: string) => string | undefined): AuditFilters {
  const filters: AuditFilters = {};
  for (const name of FILTER_NAMES) {
    const value = query(name);
    if (value === undefined) continue;
    if (name === 'from' || name === 'to') {
      if (!TIME.test(value))
        throw badRequest(`${name} must be an ISO 8601 UTC time (2026-11-27 or 2026-11-27T08:00:00Z).`);
      filters[name] = value;
    } else if (name === 'status') {
      if (!/^\d{3}$/.test(value)) throw badRequest('status must be a 3-digit HTTP status.');
      filters.status = Number(value);
    } else if (value !== '') {
      filters[name] = value.slice(0, 1024);
    }
  }
  return filters;
}

const ndjson = (lines: unknown[], nextCursor: string | null) =>
  new Response(lines.map((line) => `${JSON.stringify(line)}\n`).join(''), {
    headers: {
      'content-type': 'application/x-ndjson',
      ...(nextCursor ? { 'x-edgeward-next-cursor': nextCursor } : {}),
    },
  });

export const auditApi = new Hono<ControlEnv>()
  .get('/audit/keys', async (c) => {
    try {
      const signer = await auditSigner(c.env);
      return c.json({ keys: [signer.publicJwk] }, 200, { 'cache-control': 'public, max-age=300' });
    } catch (error) {
      // No key configured outside development: say so, typed, without detail to the caller.
      return problemResponse(misconfigured(`audit signing key: ${String(error)}`), crypto.randomUUID());
    }
  })
  .get('/audit/events', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'audit query', async (gateway, principal, audit) => {
      requireAuditor(gateway, principal);
      audit.record.ruleIds = ['auditors'];
      audit.record.operation = 'Edgeward/audit/events/read';
      const format = c.req.query('format') ?? 'json';
      if (!['json', 'ndjson', 'ocsf'].includes(format)) throw badRequest('format must be json, ndjson or ocsf.');
      const filters = parseFilters((name) => c.req.query(name));
      const maxLimit = format === 'json' ? 500 : 5000;
      const limit = Math.min(Math.max(Number(c.req.query('limit') ?? '100') || 100, 1), maxLimit);
      const cursorText = c.req.query('cursor');
      const cursor = cursorText ? decodeCursor(cursorText) : null;
      if (cursorText && !cursor) throw badRequest('cursor is not one this endpoint returned.');
      const page = await queryAuditEvents(c.env.AUDIT_DB, filters, { limit, cursor });
      if (format === 'ndjson') return ndjson(page.events, page.nextCursor);
      if (format === 'ocsf') return ndjson(page.events.map(toOcsfApiActivity), page.nextCursor);
      return Response.json({ events: page.events, nextCursor: page.nextCursor });
    }),
  )
  .get('/audit/verify', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'audit verify', async (gateway, principal, audit) => {
      requireAuditor(gateway, principal);
      audit.record.ruleIds = ['auditors'];
      audit.record.operation = 'Edgeward/audit/verify/action';
      const signer = await auditSigner(c.env);
      const [digests, rows] = await Promise.all([
        listDigests(c.env.AUDIT_DB),
        c.env.AUDIT_DB.prepare('SELECT * FROM audit_events').all<StoredRow>(),
      ]);
      const report = await verifyAuditTrail({ digests, rows: rows.results, keys: [signer.publicJwk] });
      return Response.json(report, { status: report.ok ? 200 : 409 });
    }),
  )
  .post('/audit/seal', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'audit seal', async (gateway, principal, audit) => {
      requireAuditor(gateway, principal);
      audit.record.ruleIds = ['auditors'];
      audit.record.operation = 'Edgeward/audit/seal/action';
      return Response.json(await runAuditMaintenance(c.env, Date.now()));
    }),
  )
  .get('/audit', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'audit query', async (gateway, principal, audit) => {
      requireAuditor(gateway, principal);
      audit.record.ruleIds = ['auditors'];
      const limit = Math.min(Math.max(Number(c.req.query('limit') ?? '50') || 50, 1), 500);
      const subject = c.req.query('subject');
      const page = await queryAuditEvents(c.env.AUDIT_DB, subject ? { subject } : {}, { limit });
      return Response.json({ events: page.events, nextCursor: page.nextCursor });
    }),
  );
