// `npm run dev`: the gateway locally on embedded defaults — no cloud account, no network.
// Starts the local development token issuer (a mock Entra authority), the demo Resource Manager
// upstream, applies D1 migrations locally and runs the real Worker under `wrangler dev`.
import { join } from 'node:path';
import { ROOT, startStack } from './dev-stack/stack.mjs';

const port = (name, fallback) => Number(process.env[name] ?? fallback);
const stack = await startStack({
  gatewayPort: port('EDGEWARD_PORT', 8787),
  armPort: port('DEMO_ARM_PORT', 8790),
  entraPort: port('DEV_ENTRA_PORT', 8791),
  keyFile: join(ROOT, '.edgeward', 'dev-issuer-key.json'),
  log: process.env.VERBOSE ? (line) => console.log(line) : undefined,
});

const g = stack.gatewayUrl;
console.log(`
Edgeward is running at ${g}  (development: dev token issuer ${stack.entra.url}, demo ARM ${stack.arm.url})

Try it (in another terminal):
  TOKEN=$(npm run -s token -- --user alice@contoso.com --groups readers,writers)
  curl -s ${g}/arm/subscriptions?api-version=2022-12-01 -H "Authorization: Bearer $TOKEN"
  curl -s -X POST "${g}/arm/subscriptions/00000000-0000-4000-8000-00000000a2b1/resourceGroups/demo-rg/providers/Microsoft.Storage/storageAccounts/demo/listKeys?api-version=2023-05-01" -H "Authorization: Bearer $TOKEN"

See your audit rows:
  AUDITOR=$(npm run -s token -- --user carol@contoso.com --groups auditors)
  curl -s ${g}/_gateway/audit?limit=5 -H "Authorization: Bearer $AUDITOR"

Health: ${g}/_gateway/health     Stop: Ctrl-C
`);

const shutdown = async () => {
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
