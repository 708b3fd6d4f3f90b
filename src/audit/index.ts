export { listAuditEvents, writeAuditRecord } from './d1-store.ts';
export { type AuditDecision, type AuditOutcome, type AuditRecord, isMutation, redactQuery } from './record.ts';
export { type AuditSink, RequestAudit } from './request-audit.ts';
