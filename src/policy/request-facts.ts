/**
 * One request → the facts policy matches on, derived once per request.
 *
 * Contract: pure. The connection's kind decides what is derived: Resource Manager → the RBAC
 * operation and resource (arm-operation.ts), Kubernetes → RBAC request attributes
 * (kubernetes-request.ts), anything else → method and path only. `indexKey` is the bucket the match
 * index looks up: the ARM provider namespace, the Kubernetes resource, or the first path segment.
 */
import { type ArmFacts, deriveArmFacts } from './arm-operation.ts';
import { deriveKubernetesFacts, type KubernetesFacts } from './kubernetes-request.ts';
import type { ConnectionSource } from './schema.ts';

export interface PolicyRequest {
  connection: string;
  method: string;
  /** Normalised upstream path (no connection prefix, no query). */
  path: string;
  /** Raw query string, with or without the leading `?`. */
  query?: string;
  /** Evaluation time in ms since the epoch (CEL `now`); the core never reads a clock. */
  now?: number;
  /**
   * Facts read from a judged body: the resource types an ARM template deployment creates
   * (src/policy/template-facts.ts), CEL `request.template_resource_types`.
   */
  templateResourceTypes?: readonly string[];
}

export interface RequestFacts {
  request: PolicyRequest;
  kind: ConnectionSource['kind'];
  method: string;
  /** Parsed on first use (most requests never need more than `api-version`). */
  readonly query: URLSearchParams;
  arm?: ArmFacts | undefined;
  kubernetes?: KubernetesFacts | undefined;
  indexKey: string;
  /** Finer bucket: the lowercased ARM operation (`op:…`), or '' for other kinds. */
  operationKey: string;
  /** `operation` for audit: the ARM operation, `k8s:{verb} {resource}`, or `{METHOD} {path}`. */
  operation: string;
  resourceId: string;
}

/** A class, so the lazy `query` getter lives on the prototype (object literals with getters are slow). */
class Facts implements RequestFacts {
  #query: URLSearchParams | undefined;
  readonly request: PolicyRequest;
  readonly kind: ConnectionSource['kind'];
  readonly method: string;
  readonly indexKey: string;
  readonly operationKey: string;
  readonly operation: string;
  readonly resourceId: string;
  readonly arm: ArmFacts | undefined;
  readonly kubernetes: KubernetesFacts | undefined;
  constructor(
    request: PolicyRequest,
    kind: ConnectionSource['kind'],
    method: string,
    indexKey: string,
    operationKey: string,
    operation: string,
    resourceId: string,
    arm?: ArmFacts,
    kubernetes?: KubernetesFacts,
  ) {
    this.request = request;
    this.kind = kind;
    this.method = method;
    this.indexKey = indexKey;
    this.operationKey = operationKey;
    this.operation = operation;
    this.resourceId = resourceId;
    this.arm = arm;
    this.kubernetes = kubernetes;
  }
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(this.request.query ?? '');
    return this.#query;
  }
}

export function describeRequest(request: PolicyRequest, connection: ConnectionSource | undefined): RequestFacts {
  const method = request.method.toUpperCase();
  const kind = connection?.kind ?? 'http';
  if (kind === 'azure_resource_manager') {
    const arm = deriveArmFacts(method, request.path, apiVersionOf(request.query));
    return new Facts(
      request,
      kind,
      method,
      `arm:${arm.provider.toLowerCase()}`,
      `op:${arm.operation.toLowerCase()}`,
      arm.operation,
      arm.resourceId,
      arm,
    );
  }
  if (kind === 'kubernetes') {
    const k8s = deriveKubernetesFacts(method, request.path, new URLSearchParams(request.query ?? ''));
    const base = k8s.resource.split('/')[0] ?? '';
    const resourceId = k8s.isResourceRequest
      ? [k8s.namespace && `namespaces/${k8s.namespace}`, k8s.resource, k8s.name].filter(Boolean).join('/')
      : request.path;
    const operation = `k8s:${k8s.verb} ${k8s.isResourceRequest ? [k8s.apiGroup, k8s.resource].filter(Boolean).join('/') : request.path}`;
    return new Facts(request, kind, method, `k8s:${base.toLowerCase()}`, '', operation, resourceId, undefined, k8s);
  }
  const first = request.path.split('/')[1] ?? '';
  return new Facts(request, kind, method, `path:${first.toLowerCase()}`, '', `${method} ${request.path}`, request.path);
}

/** `api-version` without parsing the whole query (the common case on the hot path). */
function apiVersionOf(query: string | undefined): string {
  if (!query) return '';
  const at = query.search(/(?:^|[?&])api-version=/);
  if (at === -1) return '';
  const start = query.indexOf('=', at) + 1;
  const end = query.indexOf('&', start);
  const raw = end === -1 ? query.slice(start) : query.slice(start, end);
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}
