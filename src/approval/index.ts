export {
  ApprovalObject,
  type ApprovalPolicy,
  type ApprovalRequestSummary,
  type ApprovalState,
  type ApprovalStatus,
  type Approver,
  type DecideResult,
} from './approval-object.ts';
export { type ApprovalBinding, approvalIdFor } from './gate.ts';
