/**
 * Kubernetes API request → the attributes Kubernetes RBAC authorizes on (the apiserver's
 * `RequestInfo`): verb, API group, resource (with subresource), namespace and name.
 *
 * Contract: pure and total. `/api/v1/…` is the core group `""`; `/apis/{group}/{version}/…` a named
 * group; anything else is a non-resource URL whose verb is the lowercase method. Verbs follow
 * Kubernetes: GET with a name → get, without → list (`watch=true` → watch), POST → create, PUT →
 * update, PATCH → patch, DELETE with a name → delete, without → deletecollection. The streaming
 * subresources `pods/exec`, `pods/attach` and `pods/portforward` are always `create`, whatever the
 * method: a WebSocket session (kubectl ≥ 1.30) opens with a GET, yet it runs commands, and
 * Kubernetes itself authorizes those upgrades as `create` — a rule allowing `get` must not allow them.
 * The legacy prefixes `/api/v1/watch/…` and `/api/v1/proxy/…` give the verbs `watch` and `proxy`.
 */

/** Subresources that open an interactive session: always the `create` verb. */
const SESSION_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

export interface KubernetesFacts {
  verb: string;
  apiGroup: string;
  apiVersion: string;
  /** `pods`, or `pods/exec` with a subresource. */
  resource: string;
  namespace: string;
  name: string;
  /** False for non-resource URLs (`/healthz`, `/version`). */
  isResourceRequest: boolean;
}

export function deriveKubernetesFacts(method: string, path: string, query: URLSearchParams): KubernetesFacts {
  const parts = path.split('/').filter(Boolean);
  let rest: string[];
  let apiGroup = '';
  let apiVersion = '';
  if (parts[0] === 'api' && parts.length >= 2) {
    apiVersion = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    apiGroup = parts[1] as string;
    apiVersion = parts[2] as string;
    rest = parts.slice(3);
  } else {
    return {
      verb: method.toLowerCase(),
      apiGroup: '',
      apiVersion: '',
      resource: '',
      namespace: '',
      name: '',
      isResourceRequest: false,
    };
  }
  // The API server's legacy special verbs: `/api/v1/watch/…` and `/api/v1/proxy/…` name the verb
  // first and the resource after it (deprecated, still served) — derive them as it does.
  let specialVerb: string | undefined;
  if ((rest[0] === 'watch' || rest[0] === 'proxy') && rest.length >= 2) {
    specialVerb = rest[0];
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    namespace = rest[1] as string;
    // `/api/v1/namespaces/{ns}` is the namespace object itself; `…/{ns}/status` and `…/finalize`
    // are its subresources; anything else after the name is a namespaced resource.
    const own = rest.length === 2 || (rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'));
    if (!own) rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1] ?? '';
  const subresource = rest[2] ?? '';
  let verb: string;
  switch (specialVerb ? 'SPECIAL' : resource === 'pods' && SESSION_SUBRESOURCES.has(subresource) ? 'POST' : method) {
    case 'SPECIAL':
      verb = specialVerb as string;
      break;
    case 'GET':
    case 'HEAD':
      verb = name ? 'get' : query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name ? 'delete' : 'deletecollection';
      break;
    default:
      verb = method.toLowerCase();
  }
  return {
    verb,
    apiGroup,
    apiVersion,
    resource: subresource ? `${resource}/${subresource}` : resource,
    namespace: resource === 'namespaces' && !namespace ? name : namespace,
    name,
    isResourceRequest: true,
  };
}
