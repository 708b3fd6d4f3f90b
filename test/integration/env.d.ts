declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    WEBHOOK_RECEIVER_URL: string;
    UPSTREAM_GRAPH: string;
  }
}
