/** Worker entry: the gateway's fetch handler, the audit sealing cron, and the Durable Object classes. */
import { app } from './app.ts';
import { runAuditMaintenance } from './audit/maintenance.ts';

export { ApprovalObject } from './approval/index.ts';
export { AuditBufferObject } from './audit/buffer-object.ts';

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runAuditMaintenance(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
