/**
 * Value detectors: a small registry of recognisers for secrets that appear in string values
 * whatever their member name.
 *
 * Contract: each detector is a pure predicate over one decoded JSON string value. `minLength` is a
 * cheap lower bound (in UTF-16 code units) below which the detector can never match, so the masker
 * can skip short strings without decoding them. Patterns are anchored on token boundaries to keep
 * false positives rare; a detector errs towards masking (fail closed) only where the shape is
 * unambiguous. Adding one: add its name to DETECTOR_NAMES in spec.ts, an entry here, and tests.
 */
import type { DetectorName } from './spec.ts';

export interface Detector {
  readonly name: DetectorName;
  readonly minLength: number;
  /** RAW_* bits that the UTF-8 bytes of any matching value contain (see `couldMatchRaw`). */
  readonly rawBits: number;
  /** A cheap necessary condition: a value for which it is false cannot match. */
  quick(value: string): boolean;
  test(value: string): boolean;
}

/** Luhn checksum (ISO/IEC 7812-1 annex B) over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

// Issuer prefixes and lengths of the major card networks; random Luhn-valid digit runs (ids,
// timestamps) are common in API responses, so a run must also look like a card to be masked.
const CARD_SHAPE =
  /^(?:4\d{12}(?:\d{3}){0,2}|5[1-5]\d{14}|2[2-7]\d{14}|3[47]\d{13}|3(?:0[0-5]|[68]\d)\d{11}|6(?:011|5\d\d|4[4-9]\d)\d{12,15}|35\d{14,17})$/;
const CARD_RUN = /(?:^|[^0-9])((?:\d[ -]?){12,18}\d)(?![0-9])/g;

function hasPaymentCard(value: string): boolean {
  CARD_RUN.lastIndex = 0;
  for (let match = CARD_RUN.exec(value); match; match = CARD_RUN.exec(value)) {
    const digits = (match[1] as string).replace(/[ -]/g, '');
    if (CARD_SHAPE.test(digits) && luhnValid(digits)) return true;
    CARD_RUN.lastIndex = match.index + 1;
  }
  return false;
}

// Byte classes for the raw pre-check: one pass over a value's bytes, no decoding.
const RAW_EQUALS = 1;
const RAW_DOT = 2;
const RAW_DASH = 4;
const RAW_UNDERSCORE = 8;
const RAW_UPPER_A = 16;
const RAW_DIGITS = 32; // set when the value has at least 13 ASCII digits
const RAW_ESCAPE = 64; // a backslash: the raw bytes are not the value, examine the decoded value
const RAW_CLASS = new Uint8Array(256);
RAW_CLASS[0x3d] = RAW_EQUALS;
RAW_CLASS[0x2e] = RAW_DOT;
RAW_CLASS[0x2d] = RAW_DASH;
RAW_CLASS[0x5f] = RAW_UNDERSCORE;
RAW_CLASS[0x41] = RAW_UPPER_A;
RAW_CLASS[0x5c] = RAW_ESCAPE;

const regexDetector = (
  name: DetectorName,
  minLength: number,
  rawBits: number,
  quick: (value: string) => boolean,
  pattern: RegExp,
): Detector => ({
  name,
  minLength,
  rawBits,
  quick,
  test: (value) => pattern.test(value),
});

const SIG = /sig=/i;
const AWS_PREFIX = /A[KSBI][IDC]A|AROA/;

function hasManyDigits(value: string): boolean {
  let digits = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++digits >= 13) return true;
  }
  return false;
}

export const DETECTORS: Readonly<Record<DetectorName, Detector>> = {
  // Compact JWS/JWT: base64url header and payload that both start with `{"` (`eyJ`).
  jwt: regexDetector(
    'jwt',
    20,
    RAW_DOT,
    (v) => v.includes('eyJ'),
    /(?:^|[^A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/,
  ),
  // Storage (and Cosmos DB) account keys: 64 random bytes, base64 → 86 chars + `==`.
  azure_storage_key: regexDetector(
    'azure_storage_key',
    88,
    RAW_EQUALS,
    (v) => v.includes('=='),
    /(?:^|[^A-Za-z0-9+/=])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/,
  ),
  // Shared access signatures: the `sig` query parameter, in a URL or a bare query string.
  sas_token: regexDetector(
    'sas_token',
    8,
    RAW_EQUALS,
    (v) => v.includes('=') && SIG.test(v),
    /(?:^|[?&;\s])sig=[A-Za-z0-9%+/=_-]{8,}/i,
  ),
  // Connection strings that carry a credential (storage, Service Bus/Event Hubs, SQL, Redis…).
  connection_string: regexDetector(
    'connection_string',
    10,
    RAW_EQUALS,
    (v) => v.includes('='),
    /(?:^|[;,\s])(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|Secret)\s*=\s*[^;\s]/i,
  ),
  pem_private_key: regexDetector(
    'pem_private_key',
    30,
    RAW_DASH,
    (v) => v.includes('PRIVATE KEY'),
    /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/,
  ),
  github_token: regexDetector(
    'github_token',
    40,
    RAW_UNDERSCORE,
    (v) => v.includes('_') && (v.includes('gh') || v.includes('github_pat_')),
    /(?:^|[^A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/,
  ),
  slack_token: regexDetector(
    'slack_token',
    15,
    RAW_DASH,
    (v) => v.includes('xox') || v.includes('xapp-'),
    /(?:^|[^A-Za-z0-9])(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,}/,
  ),
  aws_access_key_id: regexDetector(
    'aws_access_key_id',
    20,
    RAW_UPPER_A,
    (v) => AWS_PREFIX.test(v),
    /(?:^|[^A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[A-Z0-9]{16}(?![A-Z0-9])/,
  ),
  payment_card: {
    name: 'payment_card',
    minLength: 13,
    rawBits: RAW_DIGITS,
    quick: hasManyDigits,
    test: hasPaymentCard,
  },
};

export interface DetectorSet {
  detectors: readonly Detector[];
  /** The smallest `minLength`: shorter values are never examined. */
  minLength: number;
}

/** The detectors for a list of names, prepared for `detect`. */
export function selectDetectors(names: readonly DetectorName[]): DetectorSet {
  const detectors = [...new Set(names)].map((name) => DETECTORS[name]);
  const minLength = detectors.reduce((min, d) => Math.min(min, d.minLength), Number.POSITIVE_INFINITY);
  return { detectors, minLength };
}

/**
 * Could any detector match the value whose raw JSON bytes (between the quotes) are `raw`? A false
 * answer is exact (no detector can match), so the caller may skip decoding the value at all.
 */
export function couldMatchRaw(set: DetectorSet, raw: Uint8Array, from = 0, to = raw.length): boolean {
  let bits = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const b = raw[i] as number;
    bits |= RAW_CLASS[b] as number;
    if (b >= 0x30 && b <= 0x39) digits++;
  }
  if (bits & RAW_ESCAPE) return true;
  if (digits >= 13) bits |= RAW_DIGITS;
  for (const detector of set.detectors) if ((bits & detector.rawBits) === detector.rawBits) return true;
  return false;
}

/** The first detector that matches, or undefined. */
export function detect(set: DetectorSet, value: string): DetectorName | undefined {
  if (value.length < set.minLength) return undefined;
  for (const detector of set.detectors) {
    if (value.length >= detector.minLength && detector.quick(value) && detector.test(value)) return detector.name;
  }
  return undefined;
}
