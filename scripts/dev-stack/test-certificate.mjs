// A throwaway TLS certificate for local tests, made with the `openssl` command-line tool.
//
// Contract: `createTestCertificate(dir, names)` writes into `dir` a fresh certificate authority
// (ca.pem) and a server certificate signed by it (key.pem, cert.pem) whose subjectAltName lists
// every entry of `names` (IP addresses as IP:, others as DNS:), valid for one day. The CA's private
// key is deleted once it has signed, so the CA can vouch for nothing else. Returns the PEM texts
// and their paths; a client trusts `caFile` (e.g. REQUESTS_CA_BUNDLE). Development and tests only.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

function openssl(args) {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr || result.error}`);
}

/** @returns {{ caFile: string, keyFile: string, certFile: string, ca: string, key: string, cert: string }} */
export function createTestCertificate(dir, names) {
  const file = (name) => join(dir, name);
  const subjectAltName = names.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=Edgeward test CA',
    '-keyout',
    file('ca-key.pem'),
    '-out',
    file('ca.pem'),
  ]);
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${names[0]}`,
    '-keyout',
    file('key.pem'),
    '-out',
    file('server.csr'),
  ]);
  writeFileSync(
    file('server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${subjectAltName}`,
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
    ].join('\n'),
  );
  openssl([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca-key.pem'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('server.ext'),
    '-out',
    file('cert.pem'),
  ]);
  for (const name of ['ca-key.pem', 'server.csr', 'server.ext', 'ca.srl']) rmSync(file(name), { force: true });
  return {
    caFile: file('ca.pem'),
    keyFile: file('key.pem'),
    certFile: file('cert.pem'),
    ca: readFileSync(file('ca.pem'), 'utf8'),
    key: readFileSync(file('key.pem'), 'utf8'),
    cert: readFileSync(file('cert.pem'), 'utf8'),
  };
}
