/**
 * `GET /{connection}/metadata/endpoints?api-version=…` for Resource Manager connections: the
 * document `az cloud register --endpoint-resource-manager https://<gateway>/<connection>/` reads
 * to fill in the endpoints it was not given (msrestazure `_populate_from_metadata_endpoint`):
 * `authentication.loginEndpoint` → the Entra authority, `authentication.audiences[0]` → the
 * resource the CLI asks tokens for (the gateway's App ID URI, so tokens are for the gateway and it
 * can exchange them on-behalf-of), `graphEndpoint`, `galleryEndpoint`.
 *
 * Contract: public, unauthenticated (the CLI fetches it before login), built only from
 * configuration and the request's own origin; carries no secret. The path may arrive with a
 * doubled slash (`…/arm//metadata/endpoints`) because the CLI appends to a URL that ends in `/`.
 */

export interface MetadataOptions {
  /** The gateway's URL for this connection, e.g. https://gw.example/arm (no trailing slash). */
  resourceManager: string;
  /** Entra authority, e.g. https://login.microsoftonline.com. */
  authority: string;
  /** Audiences tokens are requested for; the first is what the CLI uses. */
  audiences: readonly string[];
  graphEndpoint?: string;
}

const METADATA_PATH = /^\/([^/]+)\/+metadata\/endpoints\/?$/;

/** The connection name if this is a metadata-endpoints request, else undefined. */
export function metadataRequestConnection(method: string, url: URL): string | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  return METADATA_PATH.exec(url.pathname)?.[1];
}

export function metadataEndpointsDocument(options: MetadataOptions): Record<string, unknown> {
  const slash = (u: string) => (u.endsWith('/') ? u : `${u}/`);
  return {
    galleryEndpoint: 'https://gallery.azure.com/',
    graphEndpoint: options.graphEndpoint ?? 'https://graph.windows.net/',
    graphAudience: options.graphEndpoint ?? 'https://graph.windows.net/',
    portalEndpoint: 'https://portal.azure.com/',
    resourceManager: slash(options.resourceManager),
    name: 'Edgeward',
    authentication: {
      loginEndpoint: slash(options.authority),
      audiences: [...options.audiences],
      tenant: 'common',
      identityProvider: 'AAD',
    },
  };
}

/** The metadata response for an ARM connection, or undefined when this request is not one. */
export function metadataResponse(
  method: string,
  url: URL,
  connections: ReadonlyMap<string, { name: string; kind: string; audiences?: string[] | undefined }>,
  config: { authority: string; defaultAudiences: readonly string[] },
  requestId: string,
): { connection: string; response: Response } | undefined {
  const name = metadataRequestConnection(method, url);
  const connection = name === undefined ? undefined : connections.get(name);
  if (connection?.kind !== 'azure_resource_manager') return undefined;
  const document = metadataEndpointsDocument({
    resourceManager: `${url.origin}/${connection.name}`,
    authority: config.authority,
    audiences: connection.audiences?.length ? connection.audiences : config.defaultAudiences,
  });
  const response = new Response(method === 'HEAD' ? null : JSON.stringify(document), {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'x-edgeward-request-id': requestId,
    },
  });
  return { connection: connection.name, response };
}
