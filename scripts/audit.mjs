// `npm run audit -- <command>`: the auditor's command line. Runs on Node 24, importing the same
// src/audit modules the Worker runs (canonical form, Merkle tree, digest format, verifier).
//
//   verify  [--local | --remote] [--persist-to DIR] [--env NAME] [--from-file EXPORT.json]
//           [--jwks FILE|URL] [--json]
//       Read every row and digest entry (wrangler d1 execute --json, or an export file), recompute
//       row hashes, Merkle roots, the chain and Ed25519 signatures, and report every problem.
//       Exit 0: intact (rows not sealed yet are listed, not failed); 1: problems; 2: could not run.
//   export  [--local | --remote] [--persist-to DIR] [--env NAME] --out FILE
//       Write {digests, rows} as JSON for offline verification (`verify --from-file`).
//   events  --gateway URL --token TOKEN [filter=value ...] [format=ndjson|ocsf]
//       Query /_gateway/audit/events (auditors only) and print NDJSON, following every cursor.
//
// Keys: --jwks names a JWKS file or URL (e.g. https://gateway/_gateway/audit/keys). Without it the
// published development key is used — fine for `npm run dev`, meaningless for production.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_AUDIT_SIGNING_JWK, okpThumbprint } from '../src/audit/signing-key.ts';
import { verifyAuditTrail } from '../src/audit/verify.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');
const PAGE = 2000;

function parseArgs(argv) {
  const flags = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) flags[name] = true;
      else {
        flags[name] = next;
        i++;
      }
    } else rest.push(arg);
  }
  return { flags, rest };
}

function d1(flags, sql) {
  const args = ['d1', 'execute', 'AUDIT_DB', flags.remote ? '--remote' : '--local', '--json', '--command', sql];
  if (flags['persist-to']) args.push('--persist-to', flags['persist-to']);
  if (flags.env) args.push('--env', flags.env);
  const result = spawnSync(WRANGLER, args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
  });
  if (result.status !== 0) throw new Error(`wrangler d1 execute failed:\n${result.stderr || result.stdout}`);
  return JSON.parse(result.stdout).map((statement) => statement.results);
}

/** Read a whole table in keyset pages (SQL literals only from our own integers and hex/uuid ids). */
function readTable(flags, table, key, firstPage) {
  const all = [...firstPage];
  if (firstPage.length < PAGE) return all;
  let after = firstPage[firstPage.length - 1][key];
  for (;;) {
    const where =
      after === null
        ? ''
        : `WHERE ${key} > ${typeof after === 'number' ? after : `'${String(after).replace(/'/g, "''")}'`}`;
    const [page] = d1(flags, `SELECT * FROM ${table} ${where} ORDER BY ${key} LIMIT ${PAGE}`);
    all.push(...page);
    if (page.length < PAGE) return all;
    after = page[page.length - 1][key];
  }
}

function load(flags) {
  if (flags['from-file']) return JSON.parse(readFileSync(flags['from-file'], 'utf8'));
  // One wrangler process for both first pages (each spawn costs seconds); more pages only if needed.
  const [digests, rows] = d1(
    flags,
    `SELECT * FROM audit_digests ORDER BY seq LIMIT ${PAGE}; SELECT * FROM audit_events ORDER BY request_id LIMIT ${PAGE}`,
  );
  return {
    digests: readTable(flags, 'audit_digests', 'seq', digests),
    rows: readTable(flags, 'audit_events', 'request_id', rows),
  };
}

async function loadKeys(flags) {
  if (!flags.jwks) {
    console.error('note: no --jwks given; verifying against the published development key');
    const x = DEV_AUDIT_SIGNING_JWK.x;
    return [{ kid: await okpThumbprint(x), x }];
  }
  const text = /^https?:\/\//.test(flags.jwks)
    ? await (await fetch(flags.jwks)).text()
    : readFileSync(flags.jwks, 'utf8');
  const jwks = JSON.parse(text);
  return (jwks.keys ?? [jwks]).filter((k) => k.kty === 'OKP' && k.crv === 'Ed25519' && k.x && k.kid);
}

function describe(problem) {
  switch (problem.kind) {
    case 'digest_missing':
      return `digest #${problem.seq} is missing from the chain`;
    case 'digest_chain_broken':
      return `digest #${problem.seq} does not chain to its predecessor (expected prev ${problem.expectedPrev.slice(0, 16)}…, found ${problem.foundPrev.slice(0, 16)}…)`;
    case 'digest_hash_mismatch':
      return `digest #${problem.seq}: its body does not hash to its recorded digest_hash (entry altered)`;
    case 'digest_unknown_key':
      return `digest #${problem.seq} is signed with an unknown key ${problem.keyId}`;
    case 'digest_signature_invalid':
      return `digest #${problem.seq}: signature does not verify (forged or altered)`;
    case 'digest_leaves_mismatch':
      return `digest #${problem.seq}: ${problem.detail}`;
    case 'row_modified':
      return `row ${problem.requestId} (sealed in #${problem.seq}) was modified: ${problem.detail}`;
    case 'row_deleted':
      return `row ${problem.requestId} (sealed in #${problem.seq}) was deleted`;
    case 'row_inserted':
      return `row ${problem.requestId} was inserted into sealed range #${problem.seq}`;
    case 'row_moved':
      return `row ${problem.requestId} was sealed in #${problem.sealedIn} but now claims #${problem.claims}`;
    default:
      return JSON.stringify(problem);
  }
}

async function verify(flags) {
  const data = load(flags);
  const report = await verifyAuditTrail({ digests: data.digests, rows: data.rows, keys: await loadKeys(flags) });
  if (flags.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`digests: ${report.digests}  rows: ${report.rowsChecked}  sealed rows verified: ${report.sealedRows}`);
    if (report.head)
      console.log(`chain head: #${report.head.seq} ${report.head.digestHash} (compare with a copy kept elsewhere)`);
    for (const p of report.pruned)
      console.log(
        `retention: rows of digests #${p.fromSeq}–#${p.toSeq} (${p.rows} rows) removed at ${p.at} (signed in #${p.seq})`,
      );
    if (report.unsealed.count > 0) {
      console.log(
        `not sealed yet: ${report.unsealed.count} rows (${report.unsealed.intents} in flight), oldest started ${report.unsealed.oldestStartedAt}`,
      );
    }
    for (const problem of report.problems) console.log(`PROBLEM: ${describe(problem)}`);
    console.log(report.ok ? 'OK: the audit trail verifies' : `FAILED: ${report.problems.length} problem(s)`);
  }
  return report.ok ? 0 : 1;
}

async function events(flags, rest) {
  if (!flags.gateway || !flags.token) throw new Error('events needs --gateway URL and --token TOKEN');
  const params = new URLSearchParams(rest.map((pair) => pair.split(/=(.*)/s).slice(0, 2)));
  if (!params.has('format')) params.set('format', 'ndjson');
  params.set('limit', params.get('limit') ?? '1000');
  for (;;) {
    const response = await fetch(`${flags.gateway}/_gateway/audit/events?${params}`, {
      headers: { authorization: `Bearer ${flags.token}` },
    });
    if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
    process.stdout.write(await response.text());
    const next = response.headers.get('x-edgeward-next-cursor');
    if (!next) return 0;
    params.set('cursor', next);
  }
}

const { flags, rest } = parseArgs(process.argv.slice(2));
const command = rest.shift();
try {
  if (command === 'verify') process.exitCode = await verify(flags);
  else if (command === 'export') {
    if (!flags.out) throw new Error('export needs --out FILE');
    writeFileSync(flags.out, JSON.stringify(load(flags)));
    console.log(`wrote ${flags.out}`);
  } else if (command === 'events') process.exitCode = await events(flags, rest);
  else {
    console.error('usage: npm run audit -- verify|export|events [options] (see scripts/audit.mjs)');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(String(error instanceof Error ? error.message : error));
  process.exitCode = 2;
}
