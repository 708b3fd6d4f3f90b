import { applyD1Migrations, env } from 'cloudflare:test';

await applyD1Migrations(env.AUDIT_DB, env.TEST_MIGRATIONS);
