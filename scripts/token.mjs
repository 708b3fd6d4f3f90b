// `npm run token -- --user alice@contoso.com --groups readers,writers`: mint a development access
// token at the local dev issuer started by `npm run dev`, and print it (only the token, so
// `TOKEN=$(npm run -s token -- ...)` works). Group and app names come from
// scripts/dev-stack/directory.json; GUIDs are passed through.
//
// Options: --user UPN  --groups a,b  --roles a,b  --app NAME|GUID  --app-only  --version 1|2
//          --audience AUD  --expires SECONDS
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    user: { type: 'string' },
    groups: { type: 'string', default: '' },
    roles: { type: 'string' },
    app: { type: 'string' },
    'app-only': { type: 'boolean', default: false },
    version: { type: 'string', default: '2' },
    audience: { type: 'string' },
    expires: { type: 'string' },
    issuer: { type: 'string', default: `http://127.0.0.1:${process.env.DEV_ENTRA_PORT ?? 8791}` },
  },
});
const list = (value) =>
  value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
const body = {
  user: values['app-only'] ? undefined : (values.user ?? 'alice@contoso.com'),
  groups: list(values.groups),
  roles: list(values.roles),
  app: values.app ?? (values['app-only'] ? 'agent' : undefined),
  appOnly: values['app-only'],
  version: values.version === '1' ? '1.0' : '2.0',
  audience: values.audience,
  expiresIn: values.expires ? Number(values.expires) : undefined,
};
let response;
try {
  response = await fetch(`${values.issuer}/_dev/token`, { method: 'POST', body: JSON.stringify(body) });
} catch {
  console.error(`No dev token issuer at ${values.issuer}: start the gateway with \`npm run dev\` first.`);
  process.exit(1);
}
if (!response.ok) {
  console.error(`The dev issuer refused: ${response.status} ${await response.text()}`);
  process.exit(1);
}
console.log((await response.json()).access_token);
