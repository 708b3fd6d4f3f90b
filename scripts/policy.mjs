// `npm run policy -- <command>`: the policy tool chain on Node 24, importing the same src/policy
// modules the Worker runs (Node strips the types).
//
//   compile [file] [--out path]     validate + compile; write a bundle {format, digest, source}
//   test [files…]                   run policy test cases (policies/**/*.test.yaml by default)
//   explain --connection c --method M --path /p [--query q] [--groups a,b] [--subject oid|none]
//           [--app id] [--now iso] [--policy file]   the decision for one request, and why
//   schema [--check]                write (or check) policies/policy.schema.json from the valibot schema
//   sign --bundle path --key path   sign a bundle with an Ed25519 private key (PKCS#8 PEM)
//   keygen --out dir                make an Ed25519 key pair for bundle signing
//
// Exit code 1 on any invalid policy, failing test or stale schema.
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { toJsonSchema } from '@valibot/to-json-schema';
import { bundleFromPolicy, bundleSigningBytes } from '../src/policy/bundle.ts';
import { compilePolicy } from '../src/policy/compile.ts';
import { evaluatePolicy } from '../src/policy/evaluate.ts';
import { parsePolicyTests, principalFromTest, runPolicyTests } from '../src/policy/policy-tests.ts';
import { PolicySourceSchema } from '../src/policy/schema.ts';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const DEFAULT_POLICY = join(root, 'policies/default.yaml');
const SCHEMA_FILE = join(root, 'policies/policy.schema.json');
const [command, ...rest] = process.argv.slice(2);

async function load(file) {
  const result = await compilePolicy(readFileSync(file, 'utf8'), { file: relative(process.cwd(), file) });
  if (!result.ok) {
    for (const error of result.errors) console.error(error);
    console.error(`${relative(process.cwd(), file)}: ${result.errors.length} error(s)`);
    process.exit(1);
  }
  return result.policy;
}

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(path));
    else if (entry.name.endsWith('.test.yaml') || entry.name.endsWith('.test.yml')) out.push(path);
  }
  return out.sort();
}

function jsonSchema() {
  const schema = toJsonSchema(PolicySourceSchema, { errorMode: 'ignore' });
  return `${JSON.stringify({ title: 'Edgeward policy source', ...schema }, null, 2)}\n`;
}

switch (command) {
  case 'compile': {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { out: { type: 'string' } },
    });
    const file = resolve(positionals[0] ?? DEFAULT_POLICY);
    const started = performance.now();
    const policy = await load(file);
    const ms = performance.now() - started;
    const bundle = bundleFromPolicy(policy);
    const out = resolve(values.out ?? join(root, '.edgeward/policy-bundle.json'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(bundle, null, 2)}\n`);
    console.log(
      `${relative(process.cwd(), file)}: ${policy.rules.length} rules, ${policy.index.keys.size} index keys, compiled in ${ms.toFixed(1)} ms`,
    );
    console.log(`digest sha256:${policy.digest}`);
    console.log(`bundle ${relative(process.cwd(), out)}`);
    break;
  }
  case 'test': {
    const files = rest.length ? rest.map((f) => resolve(f)) : findTests(join(root, 'policies'));
    let failed = 0;
    let passed = 0;
    for (const file of files) {
      const name = relative(process.cwd(), file);
      const parsed = parsePolicyTests(readFileSync(file, 'utf8'), name);
      if (!parsed.ok) {
        for (const error of parsed.errors) console.error(error);
        failed++;
        continue;
      }
      const policy = await load(resolve(dirname(file), parsed.tests.policy));
      for (const result of runPolicyTests(policy, parsed.tests)) {
        if (result.ok) {
          passed++;
          console.log(`  ✓ ${name}: ${result.name}`);
        } else {
          failed++;
          console.error(`  ✗ ${name}: ${result.name}`);
          for (const failure of result.failures) console.error(`      ${failure}`);
        }
      }
    }
    console.log(`policy tests: ${passed} passed, ${failed} failed (${files.length} file(s))`);
    if (failed || files.length === 0) process.exit(1);
    break;
  }
  case 'explain': {
    const { values } = parseArgs({
      args: rest,
      options: {
        policy: { type: 'string' },
        connection: { type: 'string', default: 'arm' },
        method: { type: 'string', default: 'GET' },
        path: { type: 'string' },
        query: { type: 'string' },
        groups: { type: 'string' },
        subject: { type: 'string' },
        app: { type: 'string' },
        tenant: { type: 'string' },
        roles: { type: 'string' },
        scopes: { type: 'string' },
        now: { type: 'string' },
      },
    });
    if (!values.path) {
      console.error('explain needs --path (and usually --connection, --method, --groups)');
      process.exit(2);
    }
    const policy = await load(resolve(values.policy ?? DEFAULT_POLICY));
    const list = (s) => (s ? s.split(',').filter(Boolean) : []);
    const principal = principalFromTest({
      subject: values.subject === 'none' ? null : (values.subject ?? 'bbbbbbbb-0000-4000-8000-00000000a11c'),
      app: values.app ?? 'explain',
      tenant: values.tenant ?? '11111111-1111-4111-8111-111111111111',
      groups: list(values.groups),
      groups_resolved: true,
      roles: list(values.roles),
      scopes: list(values.scopes),
    });
    const decision = evaluatePolicy(
      policy,
      {
        connection: values.connection,
        method: values.method.toUpperCase(),
        path: values.path,
        ...(values.query ? { query: values.query } : {}),
        now: values.now ? Date.parse(values.now) : Date.now(),
      },
      principal,
    );
    console.log(JSON.stringify({ digest: policy.digest, ...decision }, null, 2));
    break;
  }
  case 'schema': {
    const text = jsonSchema();
    if (rest.includes('--check')) {
      let current = '';
      try {
        current = readFileSync(SCHEMA_FILE, 'utf8');
      } catch {}
      // Compare as JSON, not text: the formatter may lay the committed file out differently.
      let same = false;
      try {
        same = JSON.stringify(JSON.parse(current)) === JSON.stringify(JSON.parse(text));
      } catch {}
      if (!same) {
        console.error('policies/policy.schema.json is stale: run `npm run policy -- schema`');
        process.exit(1);
      }
      console.log('policies/policy.schema.json is up to date');
    } else {
      writeFileSync(SCHEMA_FILE, text);
      console.log(`wrote ${relative(process.cwd(), SCHEMA_FILE)}`);
    }
    break;
  }
  case 'sign': {
    const { values } = parseArgs({ args: rest, options: { bundle: { type: 'string' }, key: { type: 'string' } } });
    if (!values.bundle || !values.key) {
      console.error('sign needs --bundle and --key');
      process.exit(2);
    }
    const bundle = JSON.parse(readFileSync(values.bundle, 'utf8'));
    const key = createPrivateKey(readFileSync(values.key, 'utf8'));
    const signature = sign(null, bundleSigningBytes(bundle.digest), key).toString('base64url');
    writeFileSync(values.bundle, `${JSON.stringify({ ...bundle, signature }, null, 2)}\n`);
    console.log(`signed ${values.bundle} (digest ${bundle.digest})`);
    break;
  }
  case 'keygen': {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string', default: '.edgeward' } } });
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, 'policy-signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const raw = publicKey.export({ format: 'jwk' }).x;
    console.log(`private key: ${join(values.out, 'policy-signing.pem')} (keep it secret)`);
    console.log(`POLICY_BUNDLE_PUBLIC_KEY = "${raw}"   # base64url raw Ed25519 public key`);
    break;
  }
  default:
    console.error('usage: npm run policy -- compile|test|explain|schema|sign|keygen (see scripts/policy.mjs)');
    process.exit(2);
}
