// Secrets (set with `wrangler secret put`, or `.dev.vars` locally): not in wrangler.toml, so
// `wrangler types` cannot see them.
interface ApprovalSecrets {
  /** `whsec_…`: signs outbound approval webhooks (Standard Webhooks). */
  APPROVAL_WEBHOOK_SECRET?: string;
  /** `whsec_…`: verifies signed decision callbacks from a chat-ops bridge. */
  APPROVAL_CALLBACK_SECRET?: string;
  /** Client secret of the approver page's Entra app registration (web platform), if any. */
  APPROVAL_PAGE_CLIENT_SECRET?: string;
}
interface Env extends ApprovalSecrets {}
declare namespace Cloudflare {
  interface Env extends ApprovalSecrets {}
}
