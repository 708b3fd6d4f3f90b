/**
 * Three test projects (see CONVENTIONS.md §13):
 * - unit: the pure core on Node, no bindings;
 * - integration: the Worker inside workerd (Workers Vitest integration) with real local D1 and
 *   Durable Objects; outbound HTTP goes to a local mock Entra authority and the demo ARM upstream,
 *   started here on loopback ports;
 * - e2e: a real `wrangler dev` process driven over HTTP (each test file starts its own stack).
 */
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { startDemoArm } from './scripts/dev-stack/demo-arm.mjs';
import directory from './scripts/dev-stack/directory.json' with { type: 'json' };
import { startWebhookReceiver } from './test/webhook-receiver.mjs';

// Test-only Standard Webhooks secrets (approvals): outbound events and inbound decision callbacks.
const APPROVAL_WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const APPROVAL_CALLBACK_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

import { randomUUIDFor, startMockEntra } from './scripts/dev-stack/mock-entra.mjs';
import { startMockGraph } from './scripts/dev-stack/mock-graph.mjs';
import { startMockKubernetes } from './scripts/dev-stack/mock-k8s.mjs';

export default defineConfig(async () => {
  const entra = await startMockEntra({ directory, unref: true });
  // Group overage (test/integration/auth.test.ts): this user's groups are only in "Graph".
  const graph = await startMockGraph({
    memberships: { [randomUUIDFor('overage@contoso.com')]: [directory.groups.readers] },
    unref: true,
  });
  const arm = await startDemoArm({ tenantId: directory.tenantId, unref: true });
  const receiver = await startWebhookReceiver({ unref: true });
  const k8s = await startMockKubernetes({ unref: true });
  const migrations = await readD1Migrations('./migrations');
  return {
    test: {
      projects: [
        {
          test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  ENVIRONMENT: 'test',
                  ENTRA_AUTHORITY: entra.url,
                  UPSTREAM_ARM: arm.url,
                  GRAPH_ENDPOINT: graph.url,
                  // Proxy (issue 8): more upstreams, the gateway app's dev secret, tight limits for tests.
                  UPSTREAM_AZURE: arm.url,
                  UPSTREAM_K8S: k8s.url,
                  UPSTREAM_GRAPH: graph.url,
                  ENTRA_CLIENT_SECRET: directory.gatewayClientSecret,
                  REQUEST_BODY_LIMIT_BYTES: '1048576',
                  PROXY_UPSTREAM_TIMEOUT_MS: '1000',
                  TEST_MIGRATIONS: migrations,
                  APPROVAL_WEBHOOK_URLS: `${receiver.url}/hook,slack:${receiver.url}/slack,teams:${receiver.url}/teams`,
                  APPROVAL_WEBHOOK_SECRET,
                  APPROVAL_CALLBACK_SECRET,
                  WEBHOOK_RECEIVER_URL: receiver.url,
                },
              },
            }),
          ],
          test: {
            name: 'integration',
            include: ['test/integration/**/*.test.ts'],
            setupFiles: ['test/integration/apply-migrations.ts'],
          },
        },
        {
          test: {
            name: 'e2e',
            include: ['test/e2e/**/*.test.ts'],
            environment: 'node',
            testTimeout: 120_000,
            hookTimeout: 120_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
