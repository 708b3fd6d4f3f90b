/**
 * The verified identity behind a request.
 *
 * Contract: built only from claims of a token whose signature, issuer, tenant, audience and
 * lifetime were verified. `subject` is the human (null when the token is app-only); `actor` is the
 * app/agent that presented the call. Display fields (UPN, name) are for audit display only:
 * authorization uses object ids, groups, roles and scopes.
 *
 * Groups can be *unknown*: a token in group overage (`_claim_names.groups` or `hasgroups`) carries
 * no usable `groups`; until they are resolved from Microsoft Graph `groupsResolved` is false, and
 * policy must treat any group condition as unmet (fail closed).
 */
import type { JWTPayload } from 'jose';

export type CredentialType = 'public_client' | 'client_secret' | 'certificate' | 'unknown';

export interface Subject {
  /** Entra object id (`oid`): immutable within the tenant. */
  objectId: string;
  displayName?: string;
  /** `upn` / `preferred_username`: display only. */
  userPrincipalName?: string;
}

export interface Actor {
  /** Calling application (`azp` in v2, `appid` in v1). */
  appId: string;
  credentialType: CredentialType;
  /** True for app-only tokens (`idtyp=app`, or no `scp` and no user). */
  appOnly: boolean;
  /** Object id of the app's service principal, for app-only tokens. */
  objectId?: string;
}

/** How the caller authenticated (recorded on the audit row). */
export type ActorMode = 'delegated' | 'app_only' | 'app_with_subject_token';

export interface Principal {
  tenantId: string;
  subject: Subject | null;
  actor: Actor;
  groups: readonly string[];
  roles: readonly string[];
  scopes: readonly string[];
  directoryRoles: readonly string[];
  // The three fields below are always set by src/auth; they are optional in the type only so that
  // principals built by hand (policy test fixtures) still type-check. Policy reads
  // `groupsResolved === false` as "groups unknown".
  /** False when the token was in group overage and Graph could not (yet) tell the groups. */
  groupsResolved?: boolean;
  /** True when the groups came from (or had to come from) Microsoft Graph, not the token. */
  groupsOverage?: boolean;
  actorMode?: ActorMode;
  tokenVersion: '1.0' | '2.0';
  /** sha-256 of the token's signature, base64url, first 16 chars: safe to log. */
  tokenFingerprint: string;
  /** Fingerprint of the subject token, when a human's token came in the subject-token header. */
  subjectTokenFingerprint?: string;
  /** Token expiry (the earlier of both tokens in agent+subject mode), seconds since epoch. */
  expiresAt: number;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

function credentialType(value: unknown): CredentialType {
  switch (String(value)) {
    case '0':
      return 'public_client';
    case '1':
      return 'client_secret';
    case '2':
      return 'certificate';
    default:
      return 'unknown';
  }
}

export function principalFromClaims(claims: JWTPayload, tokenFingerprint: string): Principal {
  const version = claims.ver === '2.0' ? '2.0' : '1.0';
  const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
  const appId = optionalString(version === '2.0' ? claims.azp : claims.appid) ?? '';
  const oid = optionalString(claims.oid);
  // idtyp=app is the explicit marker (optional claim); a token with no delegated scopes is
  // app-only too, because a delegated token always carries `scp`.
  const appOnly = claims.idtyp === 'app' || (scopes.length === 0 && claims.idtyp !== 'user');
  const subject: Subject | null =
    appOnly || !oid
      ? null
      : {
          objectId: oid,
          displayName: optionalString(claims.name),
          userPrincipalName: optionalString(claims.upn) ?? optionalString(claims.preferred_username),
        };
  // Group overage (more groups than fit in a token): the claim points elsewhere instead.
  const claimNames = claims._claim_names as Record<string, unknown> | undefined;
  const overage =
    (typeof claimNames === 'object' && claimNames !== null && 'groups' in claimNames) ||
    claims.hasgroups === true ||
    claims.hasgroups === 'true';
  return {
    tenantId: String(claims.tid),
    subject,
    actor: {
      appId,
      credentialType: credentialType(version === '2.0' ? claims.azpacr : claims.appidacr),
      appOnly,
      ...(appOnly && oid ? { objectId: oid } : {}),
    },
    groups: overage ? [] : strings(claims.groups),
    roles: strings(claims.roles),
    scopes,
    directoryRoles: strings(claims.wids),
    groupsResolved: !overage,
    groupsOverage: overage,
    actorMode: appOnly ? 'app_only' : 'delegated',
    tokenVersion: version,
    tokenFingerprint,
    expiresAt: Number(claims.exp),
  };
}

/**
 * Agent on behalf of a human (RFC 8693's actor/subject split): the human's verified delegated
 * token supplies the subject and what describes the human (groups, delegated scopes, directory
 * roles); the agent's verified app-only token supplies the actor and its app roles.
 */
export function principalWithSubject(actor: Principal, human: Principal): Principal {
  return {
    tenantId: actor.tenantId,
    subject: human.subject,
    actor: actor.actor,
    groups: human.groups,
    groupsResolved: human.groupsResolved !== false,
    groupsOverage: human.groupsOverage === true,
    roles: actor.roles,
    scopes: human.scopes,
    directoryRoles: human.directoryRoles,
    actorMode: 'app_with_subject_token',
    tokenVersion: actor.tokenVersion,
    tokenFingerprint: actor.tokenFingerprint,
    subjectTokenFingerprint: human.tokenFingerprint,
    expiresAt: Math.min(actor.expiresAt, human.expiresAt),
  };
}
