/**
 * Persistence of runtime-activated policy bundles in D1 (migrations/0003_policy_bundles.sql).
 *
 * Contract: prepared statements with bound parameters only, over a `D1Database` passed in (never
 * `env`). The store holds history; it does not decide trust: every bundle read back is verified
 * again (`openSignedBundle`) before it is used, so a row written behind the gateway's back with a
 * bad signature is never served.
 */

export interface ActivationRow {
  id: number;
  digest: string;
  action: 'activate' | 'rollback';
  previous_digest: string | null;
  activated_at: string;
  activated_by: string;
  request_id: string;
}

export async function latestActivation(db: D1Database): Promise<ActivationRow | null> {
  return db.prepare('SELECT * FROM policy_activations ORDER BY id DESC LIMIT 1').first<ActivationRow>();
}

export async function activationHistory(db: D1Database, limit: number): Promise<ActivationRow[]> {
  const result = await db
    .prepare('SELECT * FROM policy_activations ORDER BY id DESC LIMIT ?')
    .bind(limit)
    .all<ActivationRow>();
  return result.results;
}

export async function storedBundle(db: D1Database, digest: string): Promise<string | null> {
  const row = await db
    .prepare('SELECT bundle FROM policy_bundles WHERE digest = ?')
    .bind(digest)
    .first<{ bundle: string }>();
  return row?.bundle ?? null;
}

export interface Activation {
  digest: string;
  action: 'activate' | 'rollback';
  previousDigest: string | null;
  activatedAt: string;
  activatedBy: string;
  requestId: string;
  /** The bundle JSON to store (activations of a new bundle); omitted for rollbacks. */
  bundle?: string;
}

/** Store the bundle (once per digest) and append the activation, atomically. */
export async function recordActivation(db: D1Database, activation: Activation): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  if (activation.bundle !== undefined) {
    statements.push(
      db
        .prepare('INSERT OR IGNORE INTO policy_bundles (digest, bundle, uploaded_at, uploaded_by) VALUES (?, ?, ?, ?)')
        .bind(activation.digest, activation.bundle, activation.activatedAt, activation.activatedBy),
    );
  }
  statements.push(
    db
      .prepare(
        'INSERT INTO policy_activations (digest, action, previous_digest, activated_at, activated_by, request_id) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .bind(
        activation.digest,
        activation.action,
        activation.previousDigest,
        activation.activatedAt,
        activation.activatedBy,
        activation.requestId,
      ),
  );
  await db.batch(statements);
}
