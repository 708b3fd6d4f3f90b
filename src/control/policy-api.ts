/**
 * `/_gateway/policy`: the active policy bundle, its activation history, activation of a signed
 * bundle and rollback. Every call is authenticated and audited (`audited()`); every activation and
 * rollback is an audit row of its own carrying the new digest.
 *
 * Contract: only principals matching the active policy's `policy_admins` may activate or roll back
 * (admins and auditors may read). A bundle is activated only if `openSignedBundle` accepts it
 * (well formed, Ed25519 signature by POLICY_BUNDLE_PUBLIC_KEY, compiles, digest matches) and it
 * names `policy_admins` (so an activation can never lock every admin out); otherwise the answer is
 * EDGEWARD_BUNDLE_REJECTED and nothing changes. Rollback targets the embedded bundle or any stored
 * one that still verifies. This isolate switches at once; the others within POLICY_REFRESH_MS.
 */
import { Hono } from 'hono';
import type { Principal } from '../auth/index.ts';
import { bundleRejected } from '../errors.ts';
import { type Gateway, refreshActivePolicy, resolvePolicy } from '../gateway.ts';
import { activationHistory, latestActivation, recordActivation } from '../policy/bundle-store.ts';
import { openSignedBundle, principalMatches } from '../policy/index.ts';
import { audited, type ControlEnv, forbidden } from './audited.ts';

/** Activation requests are bounded: a bundle is policy text, not data. */
export const BUNDLE_BODY_LIMIT = 2 * 1024 * 1024;

const actorOf = (principal: Principal) => principal.subject?.objectId ?? `app:${principal.actor.appId}`;

function requireAdmin(gateway: Gateway, principal: Principal): void {
  const admins = gateway.policy.policyAdmins;
  if (!admins || !principalMatches(admins, principal)) {
    throw forbidden('Only policy admins may change the active policy.', 'not a policy admin');
  }
}

export const policyApi = new Hono<ControlEnv>()
  .get('/policy', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'policy status', async (gateway, principal, audit) => {
      const admins = gateway.policy.policyAdmins;
      const auditors = gateway.policy.auditors;
      const allowed =
        (admins && principalMatches(admins, principal)) || (auditors && principalMatches(auditors, principal));
      if (!allowed) throw forbidden('Only policy admins and auditors may read policy history.', 'not admin/auditor');
      audit.record.ruleIds = ['policy_admins'];
      const history = await activationHistory(c.env.AUDIT_DB, 50).catch(() => []);
      return Response.json({
        active: { digest: gateway.policy.digest, rules: gateway.policy.rules.length },
        embedded: { digest: gateway.embeddedPolicy.digest },
        history,
      });
    }),
  )
  .post('/policy/bundles', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'policy activate', async (gateway, principal, audit) => {
      requireAdmin(gateway, principal);
      audit.record.ruleIds = ['policy_admins'];
      audit.record.operation = 'edgeward/policy/activate';
      const publicKey = String(c.env.POLICY_BUNDLE_PUBLIC_KEY ?? '');
      if (!publicKey) throw bundleRejected('runtime activation is not configured', 'no POLICY_BUNDLE_PUBLIC_KEY', 409);
      const declared = Number(c.req.header('content-length') ?? '0');
      if (declared > BUNDLE_BODY_LIMIT) throw bundleRejected('too large', `body ${declared} bytes`, 413);
      const text = await c.req.text();
      if (text.length > BUNDLE_BODY_LIMIT) throw bundleRejected('too large', `body ${text.length} chars`, 413);
      let input: unknown;
      try {
        input = JSON.parse(text);
      } catch {
        throw bundleRejected('malformed', 'body is not JSON');
      }
      const opened = await openSignedBundle(input, publicKey);
      if (!opened.ok) throw bundleRejected(opened.reason, `${opened.reason}: ${opened.detail}`.slice(0, 2000));
      if (!opened.policy.policyAdmins) {
        throw bundleRejected('invalid_policy', 'bundle defines no policy_admins (would lock admins out)');
      }
      const previous = gateway.policy.digest;
      audit.record.resourceId = `sha256:${opened.policy.digest}`;
      audit.record.policyDigest = opened.policy.digest;
      await recordActivation(c.env.AUDIT_DB, {
        digest: opened.policy.digest,
        action: 'activate',
        previousDigest: previous,
        activatedAt: new Date().toISOString(),
        activatedBy: actorOf(principal),
        requestId: audit.record.requestId,
        bundle: JSON.stringify(opened.bundle),
      });
      gateway.policy = opened.policy;
      gateway.policyCheck.at = Date.now();
      return Response.json({ active: opened.policy.digest, previous }, { status: 201 });
    }),
  )
  .post('/policy/rollback', (c) =>
    audited(c.req.raw, c.env, c.executionCtx, 'policy rollback', async (gateway, principal, audit) => {
      requireAdmin(gateway, principal);
      audit.record.ruleIds = ['policy_admins'];
      audit.record.operation = 'edgeward/policy/rollback';
      const body = (await c.req.json().catch(() => ({}))) as { digest?: unknown };
      const digest = typeof body.digest === 'string' ? body.digest.replace(/^sha256:/, '') : '';
      if (!/^[0-9a-f]{64}$/.test(digest))
        throw bundleRejected('malformed', 'rollback needs {"digest": "<sha-256>"}', 400);
      // Make sure this isolate is current before deciding what "previous" is.
      await refreshActivePolicy(gateway, c.env, Date.now(), true);
      const policy = await resolvePolicy(gateway, c.env, digest);
      if (!policy) throw bundleRejected('unknown_digest', `no stored, verifiable bundle ${digest}`, 404);
      const previous = gateway.policy.digest;
      audit.record.resourceId = `sha256:${digest}`;
      audit.record.policyDigest = digest;
      await recordActivation(c.env.AUDIT_DB, {
        digest,
        action: 'rollback',
        previousDigest: previous,
        activatedAt: new Date().toISOString(),
        activatedBy: actorOf(principal),
        requestId: audit.record.requestId,
      });
      gateway.policy = policy;
      gateway.policyCheck.at = Date.now();
      const latest = await latestActivation(c.env.AUDIT_DB);
      return Response.json({ active: digest, previous, activation: latest?.id ?? null });
    }),
  );
