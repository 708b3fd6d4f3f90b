/**
 * One Durable Object per approval binding (the exact request + the requesting principal).
 *
 * Contract: the source of truth for one approval. Owns the state machine (./state-machine.ts),
 * persisted synchronously in the object's SQLite-backed storage (so a check-and-set such as
 * `consume` is atomic under concurrent calls and survives eviction and restarts); releases every
 * caller waiting in `wait()` on each transition; and, from its alarm, expires the approval and
 * drains an outbox of webhook deliveries (retried with backoff, failures recorded) and D1 mirror
 * writes — so neither a slow webhook nor D1 is ever on the request path. The state holds the
 * approver's view of the whole request (masked: no secret, no token); webhook events and the D1
 * mirror carry only the summary and a link to it.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  type ApprovalDecisionRecord,
  type ApprovalPolicy,
  type ApprovalRequestSummary,
  type ApprovalState,
  type ApprovalTransition,
  type Approver,
  cancel,
  consume,
  type DecideResult,
  decide,
  expire,
  isLive,
  openRound,
} from './state-machine.ts';
import { approvalEvent, parseWebhookTargets, type WebhookTarget, webhookBody } from './webhook-event.ts';
import { backoffMs, MAX_DELIVERY_ATTEMPTS, signedHeaders } from './webhook-sign.ts';

export interface OutboxItem {
  key: string;
  kind: 'webhook' | 'mirror';
  target?: WebhookTarget;
  body: string;
  attempt: number;
  nextAt: number;
  lastError?: string;
}

export interface DeliveryFailure {
  key: string;
  url: string;
  attempts: number;
  error: string;
  at: string;
}

interface MirrorPayload {
  state: ApprovalState;
  transition: ApprovalTransition;
  seq: number;
}

const STATE = 'state';
const OUTBOX = 'outbox';
const FAILURES = 'failures';
const SEQ = 'seq';

export class ApprovalObject extends DurableObject<Env> {
  readonly #waiters = new Set<() => void>();

  async open(
    id: string,
    request: ApprovalRequestSummary,
    policy: ApprovalPolicy,
    link: string,
    nowMs: number,
  ): Promise<ApprovalState> {
    const current = this.#expireIfDue(nowMs);
    const { state, created } = openRound(current, { id, request, policy, link }, nowMs);
    if (created)
      this.#commit(
        state,
        {
          round: state.round,
          event: 'created',
          status: 'pending',
          at: state.createdAt,
          by: request.requesterOid,
          reason: '',
        },
        nowMs,
      );
    return state;
  }

  /**
   * `open`, and if the live round is already approved, consume it in the same call (one round
   * trip for the common retry). `consumed` is true for exactly one caller per round.
   */
  async claim(
    id: string,
    request: ApprovalRequestSummary,
    policy: ApprovalPolicy,
    link: string,
    nowMs: number,
  ): Promise<{ state: ApprovalState; consumed: boolean }> {
    const state = await this.open(id, request, policy, link, nowMs);
    if (state.status !== 'approved') return { state, consumed: false };
    const consumed = await this.consume(state.round, nowMs);
    return consumed
      ? { state: consumed, consumed: true }
      : { state: await this.open(id, request, policy, link, nowMs), consumed: false };
  }

  async status(): Promise<ApprovalState | null> {
    return this.#expireIfDue(Date.now()) ?? null;
  }

  /**
   * Resolve when this round is no longer pending, or after `timeoutMs` (capped at 60 s), whichever
   * comes first. Many callers may wait at once; every transition releases all of them. A caller
   * that goes away cancels nothing.
   */
  async wait(round: number, timeoutMs: number): Promise<ApprovalState | null> {
    const settled = () => {
      const state = this.#expireIfDue(Date.now());
      return !state || state.round !== round || state.status !== 'pending';
    };
    if (!settled() && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const release = () => {
          clearTimeout(timer);
          this.#waiters.delete(release);
          resolve();
        };
        const timer = setTimeout(release, Math.min(timeoutMs, 60_000));
        this.#waiters.add(release);
      });
    }
    return this.#expireIfDue(Date.now()) ?? null;
  }

  async decide(
    approver: Approver,
    verdict: 'approve' | 'deny',
    reason: string,
    via: ApprovalDecisionRecord['via'],
    nowMs: number,
  ): Promise<DecideResult> {
    const result = decide(this.#expireIfDue(nowMs), approver, verdict, reason, via, nowMs);
    if (result.ok) this.#commit(result.state, result.transition, nowMs);
    return result;
  }

  /** Consume the approved round `round`: true exactly once, for one caller. */
  async consume(round: number, nowMs: number): Promise<ApprovalState | null> {
    const current = this.#expireIfDue(nowMs);
    if (current?.round !== round) return null;
    const next = consume(current, nowMs);
    if (!next) return null;
    this.#commit(
      next,
      {
        round,
        event: 'consumed',
        status: 'consumed',
        at: next.consumedAt ?? '',
        by: next.request.requesterOid,
        reason: '',
      },
      nowMs,
    );
    return next;
  }

  /** The requester withdraws a pending approval. */
  async cancel(requesterOid: string | null, requesterAppId: string, nowMs: number): Promise<ApprovalState | null> {
    const current = this.#expireIfDue(nowMs);
    if (!current || current.request.requesterOid !== requesterOid) return null;
    if (requesterOid === null && current.request.requesterAppId !== requesterAppId) return null;
    const next = cancel(current, nowMs);
    if (!next) return null;
    this.#commit(
      next,
      {
        round: next.round,
        event: 'cancelled',
        status: 'cancelled',
        at: next.decidedAt ?? '',
        by: requesterOid ?? requesterAppId,
        reason: '',
      },
      nowMs,
    );
    return next;
  }

  /** Delivery failures recorded for this approval (most recent last). */
  async deliveryFailures(): Promise<DeliveryFailure[]> {
    return this.ctx.storage.kv.get<DeliveryFailure[]>(FAILURES) ?? [];
  }

  override async alarm(): Promise<void> {
    const nowMs = Date.now();
    this.#expireIfDue(nowMs);
    const outbox = this.ctx.storage.kv.get<OutboxItem[]>(OUTBOX) ?? [];
    const due = outbox.filter((item) => item.nextAt <= nowMs);
    const results = await Promise.all(due.map((item) => this.#deliver(item)));
    // Re-read: a transition may have queued more while we delivered.
    const latest = this.ctx.storage.kv.get<OutboxItem[]>(OUTBOX) ?? [];
    const failures = this.ctx.storage.kv.get<DeliveryFailure[]>(FAILURES) ?? [];
    const remaining: OutboxItem[] = [];
    for (const item of latest) {
      const index = due.findIndex((d) => d.key === item.key);
      if (index < 0) {
        remaining.push(item);
        continue;
      }
      const error = results[index];
      if (error === undefined) continue;
      const attempt = item.attempt + 1;
      if (attempt >= MAX_DELIVERY_ATTEMPTS) {
        // Given up: kept on the object (deliveryFailures()) and logged for Workers Logs.
        console.error(`approval webhook undeliverable after ${attempt} attempts: ${item.key} ${error}`);
        failures.push({
          key: item.key,
          url: item.target?.url ?? 'd1',
          attempts: attempt,
          error,
          at: new Date(nowMs).toISOString(),
        });
      } else {
        remaining.push({ ...item, attempt, lastError: error, nextAt: Date.now() + backoffMs(attempt) });
      }
    }
    this.ctx.storage.kv.put(OUTBOX, remaining);
    this.ctx.storage.kv.put(FAILURES, failures.slice(-50));
    this.#schedule();
  }

  /** Persist, queue the event (webhooks + mirror), release waiters, reschedule the alarm. */
  #commit(state: ApprovalState, transition: ApprovalTransition, nowMs: number): void {
    this.ctx.storage.kv.put(STATE, state);
    const seq = (this.ctx.storage.kv.get<number>(SEQ) ?? 0) + 1;
    this.ctx.storage.kv.put(SEQ, seq);
    const outbox = this.ctx.storage.kv.get<OutboxItem[]>(OUTBOX) ?? [];
    // The mirror needs the listing columns only: the request view stays in this object's state.
    const { view: _view, ...request } = state.request;
    const mirror: MirrorPayload = { state: { ...state, request }, transition, seq };
    outbox.push({ key: `mirror-${seq}`, kind: 'mirror', body: JSON.stringify(mirror), attempt: 0, nextAt: nowMs });
    if (this.env.APPROVAL_WEBHOOK_SECRET) {
      const event = approvalEvent(state, transition);
      for (const [n, target] of parseWebhookTargets(this.env.APPROVAL_WEBHOOK_URLS).entries()) {
        // A stable message id per (approval, event, target): receivers de-duplicate retries by it.
        const key = `msg_${state.id}_${seq}_${n}`;
        outbox.push({ key, kind: 'webhook', target, body: webhookBody(target.kind, event), attempt: 0, nextAt: nowMs });
      }
    }
    this.ctx.storage.kv.put(OUTBOX, outbox);
    this.#schedule();
    for (const release of [...this.#waiters]) release();
  }

  #expireIfDue(nowMs: number): ApprovalState | undefined {
    const state = this.ctx.storage.kv.get<ApprovalState>(STATE);
    // The alarm may not have fired yet (e.g. right after a restart): expiry is still exact.
    const expired = expire(state, nowMs);
    if (!expired) return state;
    this.#commit(
      expired,
      { round: expired.round, event: 'expired', status: 'expired', at: expired.expiresAt, by: null, reason: '' },
      nowMs,
    );
    return expired;
  }

  #schedule(): void {
    const state = this.ctx.storage.kv.get<ApprovalState>(STATE);
    const outbox = this.ctx.storage.kv.get<OutboxItem[]>(OUTBOX) ?? [];
    const times = outbox.map((item) => item.nextAt);
    if (isLive(state)) times.push(Date.parse(state.expiresAt));
    if (times.length === 0) void this.ctx.storage.deleteAlarm();
    else void this.ctx.storage.setAlarm(Math.min(...times));
  }

  /** One delivery attempt: undefined on success, else the reason. */
  async #deliver(item: OutboxItem): Promise<string | undefined> {
    try {
      if (item.kind === 'mirror') {
        await mirrorToD1(this.env.AUDIT_DB, JSON.parse(item.body) as MirrorPayload);
        return undefined;
      }
      const target = item.target;
      const secret = this.env.APPROVAL_WEBHOOK_SECRET;
      if (!target || !secret) return undefined;
      const response = await fetch(target.url, {
        method: 'POST',
        headers: signedHeaders(secret, item.key, Date.now(), item.body),
        body: item.body,
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      return response.ok ? undefined : `HTTP ${response.status}`;
    } catch (error) {
      return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 200) : 'delivery failed';
    }
  }
}

/** The queryable mirror: one row per (approval, round), one row per transition. */
async function mirrorToD1(db: D1Database, { state, transition, seq }: MirrorPayload): Promise<void> {
  const approvals = state.decisions.filter((d) => d.verdict === 'approve');
  await db.batch([
    db
      .prepare(
        `INSERT INTO approvals (approval_id, round, status, connection, method, path, query, rule_id, requester_oid,
           requester_app_id, required_count, approvals, denials, approvers, eligible_groups, eligible_users,
           created_at, expires_at, updated_at, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
         ON CONFLICT (approval_id, round) DO UPDATE SET status = excluded.status, approvals = excluded.approvals,
           denials = excluded.denials, approvers = excluded.approvers, updated_at = excluded.updated_at, seq = excluded.seq
         WHERE excluded.seq > approvals.seq`,
      )
      .bind(
        state.id,
        state.round,
        state.status,
        state.request.connection,
        state.request.method,
        state.request.path,
        state.request.query,
        state.request.ruleId,
        state.request.requesterOid,
        state.request.requesterAppId,
        state.policy.count,
        approvals.length,
        state.decisions.length - approvals.length,
        JSON.stringify(state.decisions.map((d) => d.approverOid)),
        JSON.stringify(state.policy.groups),
        JSON.stringify(state.policy.users),
        state.createdAt,
        state.expiresAt,
        transition.at,
        seq,
      ),
    db
      .prepare(
        `INSERT OR IGNORE INTO approval_events (approval_id, seq, round, event, status, at, by_oid, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
      )
      .bind(
        state.id,
        seq,
        transition.round,
        transition.event,
        transition.status,
        transition.at,
        transition.by,
        transition.reason,
      ),
  ]);
}
