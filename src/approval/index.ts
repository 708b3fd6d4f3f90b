export { ApprovalObject, type DeliveryFailure } from './approval-object.ts';
export { type CallbackVerification, verifyCallback } from './callback-signature.ts';
export { type ApprovalBinding, approvalIdFor, boundHeaders } from './gate.ts';
export { APPROVAL_ID_HEADER, approvalGate, type GateDeps, type GateInput, readApprovalBody } from './gate-step.ts';
export {
  APPROVAL_BODY_LIMIT,
  type BodyView,
  CHAT_BODY_LIMIT,
  type EmbeddedRequest,
  type RequestView,
  requestView,
  type TemplateResources,
} from './request-view.ts';
export {
  type ApprovalPolicy,
  type ApprovalRequestSummary,
  type ApprovalState,
  type ApprovalStatus,
  type Approver,
  type DecideResult,
  isEligible,
} from './state-machine.ts';
