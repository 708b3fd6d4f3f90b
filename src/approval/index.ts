export { ApprovalObject, type DeliveryFailure } from './approval-object.ts';
export { type CallbackVerification, verifyCallback } from './callback-signature.ts';
export { type ApprovalBinding, approvalIdFor } from './gate.ts';
export { APPROVAL_BODY_LIMIT, APPROVAL_ID_HEADER, approvalGate } from './gate-step.ts';
export {
  type ApprovalPolicy,
  type ApprovalRequestSummary,
  type ApprovalState,
  type ApprovalStatus,
  type Approver,
  type DecideResult,
  isEligible,
} from './state-machine.ts';
