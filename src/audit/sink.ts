/**
 * Adapter: the `AuditSink` over the Worker's bindings (D1 `AUDIT_DB`, the `AUDIT_BUFFER` Durable
 * Object). One buffer object instance (`"primary"`) holds every row D1 refused.
 */
import { observeRequest } from '../observe/request-log.ts';
import type { AuditBufferObject } from './buffer-object.ts';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './request-audit.ts';

export const AUDIT_BUFFER_NAME = 'primary';

export function auditBuffer(env: Env): DurableObjectStub<AuditBufferObject> {
  return env.AUDIT_BUFFER.get(env.AUDIT_BUFFER.idFromName(AUDIT_BUFFER_NAME)) as DurableObjectStub<AuditBufferObject>;
}

/** `REQUEST_LOG=off` drops the per-request log line (config.ts refuses any value but on/off). */
export function requestLogEnabled(env: Env): boolean {
  return (env as { REQUEST_LOG?: string }).REQUEST_LOG !== 'off';
}

export function auditSink(env: Env, waitUntil: (promise: Promise<unknown>) => void): AuditSink {
  return {
    db: env.AUDIT_DB,
    waitUntil,
    hold: (records: AuditRecord[]) => auditBuffer(env).hold(records),
    observe: (record: AuditRecord) => observeRequest(record, env.METRICS, requestLogEnabled(env)),
  };
}
