/**
 * What an ARM template deployment will create: `Microsoft.Resources/deployments/write` (and
 * `validate`, `whatIf`) at any scope creates whatever its template holds, so approvers, audit and
 * policy conditions see the template's resources, not only the envelope.
 *
 * Contract: pure, bounded. Input is a deployment body already parsed by `parseStrictJson` (no
 * member repeats, exactly or case-insensitively); members are looked up as Azure binds them (ASCII
 * case-insensitively). Lists each resource's `type` and `name` as written (names may be template
 * expressions such as `[parameters('name')]`), in template order, descending into nested inline
 * deployments (`Microsoft.Resources/deployments` resources with their own `properties.template`)
 * up to a few levels; languageVersion 2.0 templates (resources as an object of symbolic names)
 * too. At most `TEMPLATE_RESOURCES_MAX` entries (`truncated` says when more exist). A template
 * linked by URI or template spec id (`templateLink`) is not fetched: `linked` names it, and the
 * caller must treat its contents as unknown.
 */
import { memberNamed } from '../util/strict-json.ts';

export const TEMPLATE_RESOURCES_MAX = 100;
const MAX_NESTING = 4;

export interface TemplateResources {
  resources: { type: string; name: string }[];
  truncated: boolean;
  /** The `templateLink` uri or id when the template (or a nested one) is not inline. */
  linked?: string;
}

const DEPLOYMENT_OPERATION = /^Microsoft\.Resources\/deployments\/(write|validate\/action|whatIf\/action)$/i;

export const isTemplateDeployment = (operation: string): boolean => DEPLOYMENT_OPERATION.test(operation);

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A member looked up as Azure binds names (the body has no fold-duplicates). */
function member(object: unknown, name: string): unknown {
  if (!isObject(object)) return undefined;
  const key = memberNamed(object, name);
  return key === undefined ? undefined : object[key];
}

export function templateResources(body: unknown): TemplateResources {
  const out: TemplateResources = { resources: [], truncated: false };
  collect(member(body, 'properties'), out, 0);
  return out;
}

function collect(properties: unknown, out: TemplateResources, depth: number): void {
  const link = member(properties, 'templateLink');
  if (link !== undefined && out.linked === undefined) {
    const target = member(link, 'uri') ?? member(link, 'id') ?? member(link, 'relativePath');
    out.linked = typeof target === 'string' ? target.slice(0, 512) : '(a templateLink without a uri)';
  }
  const resources = member(member(properties, 'template'), 'resources');
  const list = Array.isArray(resources) ? resources : isObject(resources) ? Object.values(resources) : [];
  for (const resource of list) {
    if (out.resources.length >= TEMPLATE_RESOURCES_MAX) {
      out.truncated = true;
      return;
    }
    const type = member(resource, 'type');
    const name = member(resource, 'name');
    out.resources.push({
      type: typeof type === 'string' ? type.slice(0, 256) : '(no type)',
      name: typeof name === 'string' ? name.slice(0, 256) : '(no name)',
    });
    if (typeof type === 'string' && /^Microsoft\.Resources\/deployments$/i.test(type)) {
      if (depth + 1 >= MAX_NESTING) out.truncated = true;
      else collect(member(resource, 'properties'), out, depth + 1);
    }
    // Child resources declared inside a resource are deployed too.
    const children = member(resource, 'resources');
    if (Array.isArray(children) && children.length) {
      if (depth + 1 >= MAX_NESTING) out.truncated = true;
      else collect({ template: { resources: children } }, out, depth + 1);
    }
  }
}
