/** Worker entry: the gateway's fetch handler and the Durable Object classes. Nothing else. */
import { app } from './app.ts';

export { ApprovalObject } from './approval/index.ts';

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
