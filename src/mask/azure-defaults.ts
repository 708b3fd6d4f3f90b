/**
 * Default mask obligations for Azure responses that carry secrets, as data for the starter policy
 * (policies/default.yaml is owned by policy; it copies or imports these).
 *
 * Contract: each entry names an operation family, the request methods and path patterns it applies
 * to (the policy's glob syntax: `*` is one path segment; paths are matched case-insensitively by
 * policy, as ARM does), and the MaskSpec that masks every secret in that response shape. Each has
 * a recorded-shape fixture in test/fixtures/azure/ and a test proving it is fully masked. Response
 * shapes follow the Azure REST API reference (azure-rest-api-specs) for the api-version noted.
 */
import { EMPTY_MASK, type MaskSpec } from './spec.ts';

export interface AzureMaskDefault {
  id: string;
  description: string;
  methods: readonly string[];
  paths: readonly string[];
  mask: MaskSpec;
  /** Files under test/fixtures/azure/ with realistic responses (`.ndjson`: a watch stream). */
  fixtures: readonly string[];
}

const RG = '/subscriptions/*/resourceGroups/*/providers';
const spec = (paths: string[], keys: string[] = []): MaskSpec => ({ ...EMPTY_MASK, paths, keys });

export const AZURE_MASK_DEFAULTS: readonly AzureMaskDefault[] = [
  {
    id: 'storage-account-keys',
    description: 'Storage account keys (listKeys, regenerateKey; 2023-05-01)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.Storage/storageAccounts/*/listKeys`,
      `${RG}/Microsoft.Storage/storageAccounts/*/regenerateKey`,
    ],
    mask: spec(['$.keys[*].value']),
    fixtures: ['storage-list-keys.json'],
  },
  {
    id: 'storage-sas',
    description: 'Storage account and service SAS tokens (ListAccountSas, ListServiceSas)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.Storage/storageAccounts/*/ListAccountSas`,
      `${RG}/Microsoft.Storage/storageAccounts/*/ListServiceSas`,
    ],
    mask: spec(['$.accountSasToken', '$.serviceSasToken']),
    fixtures: ['storage-list-account-sas.json'],
  },
  {
    id: 'storage-local-user-keys',
    description: 'Storage SFTP local user shared key (localUsers/{user}/listKeys)',
    methods: ['POST'],
    paths: [`${RG}/Microsoft.Storage/storageAccounts/*/localUsers/*/listKeys`],
    mask: spec(['$.sharedKey']),
    fixtures: ['storage-local-user-keys.json'],
  },
  {
    id: 'cosmosdb-keys',
    description: 'Cosmos DB account keys (listKeys, readonlykeys; 2024-11-15)',
    methods: ['POST', 'GET'],
    paths: [
      `${RG}/Microsoft.DocumentDB/databaseAccounts/*/listKeys`,
      `${RG}/Microsoft.DocumentDB/databaseAccounts/*/readonlykeys`,
    ],
    mask: spec([], ['*MasterKey']),
    fixtures: ['cosmosdb-list-keys.json'],
  },
  {
    id: 'cosmosdb-connection-strings',
    description: 'Cosmos DB connection strings (listConnectionStrings)',
    methods: ['POST'],
    paths: [`${RG}/Microsoft.DocumentDB/databaseAccounts/*/listConnectionStrings`],
    mask: spec(['$.connectionStrings[*].connectionString']),
    fixtures: ['cosmosdb-list-connection-strings.json'],
  },
  {
    id: 'messaging-authorization-rule-keys',
    description:
      'Service Bus, Event Hubs and Relay SAS keys and connection strings (authorizationRules/{rule}/listKeys, regenerateKeys)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.ServiceBus/namespaces/**/authorizationRules/*/listKeys`,
      `${RG}/Microsoft.ServiceBus/namespaces/**/authorizationRules/*/regenerateKeys`,
      `${RG}/Microsoft.EventHub/namespaces/**/authorizationRules/*/listKeys`,
      `${RG}/Microsoft.EventHub/namespaces/**/authorizationRules/*/regenerateKeys`,
      `${RG}/Microsoft.Relay/namespaces/**/authorizationRules/*/listKeys`,
      `${RG}/Microsoft.Relay/namespaces/**/authorizationRules/*/regenerateKeys`,
    ],
    mask: spec([], ['primaryKey', 'secondaryKey', '*ConnectionString']),
    fixtures: ['servicebus-list-keys.json'],
  },
  {
    id: 'redis-keys',
    description: 'Azure Cache for Redis access keys (listKeys, regenerateKey)',
    methods: ['POST'],
    paths: [`${RG}/Microsoft.Cache/redis/*/listKeys`, `${RG}/Microsoft.Cache/redis/*/regenerateKey`],
    mask: spec(['$.primaryKey', '$.secondaryKey']),
    fixtures: ['redis-list-keys.json'],
  },
  {
    id: 'cognitive-services-keys',
    description: 'Cognitive Services / Azure AI account keys (listKeys, regenerateKey)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.CognitiveServices/accounts/*/listKeys`,
      `${RG}/Microsoft.CognitiveServices/accounts/*/regenerateKey`,
    ],
    mask: spec(['$.key1', '$.key2']),
    fixtures: ['cognitive-services-list-keys.json'],
  },
  {
    id: 'search-admin-keys',
    description: 'Azure AI Search admin keys (listAdminKeys, regenerateAdminKey)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.Search/searchServices/*/listAdminKeys`,
      `${RG}/Microsoft.Search/searchServices/*/regenerateAdminKey/*`,
    ],
    mask: spec(['$.primaryKey', '$.secondaryKey']),
    fixtures: ['search-list-admin-keys.json'],
  },
  {
    id: 'search-query-keys',
    description: 'Azure AI Search query keys (listQueryKeys, createQueryKey)',
    methods: ['POST', 'GET'],
    paths: [
      `${RG}/Microsoft.Search/searchServices/*/listQueryKeys`,
      `${RG}/Microsoft.Search/searchServices/*/createQueryKey/*`,
    ],
    mask: spec(['$.value[*].key', '$.key']),
    fixtures: ['search-list-query-keys.json'],
  },
  {
    id: 'container-registry-credentials',
    description: 'Container Registry admin credentials (listCredentials, regenerateCredential)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.ContainerRegistry/registries/*/listCredentials`,
      `${RG}/Microsoft.ContainerRegistry/registries/*/regenerateCredential`,
    ],
    mask: spec(['$.passwords[*].value']),
    fixtures: ['acr-list-credentials.json'],
  },
  {
    id: 'app-configuration-keys',
    description: 'App Configuration access keys and connection strings (listKeys, regenerateKey)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.AppConfiguration/configurationStores/*/listKeys`,
      `${RG}/Microsoft.AppConfiguration/configurationStores/*/regenerateKey`,
    ],
    mask: spec(['$.value[*].value', '$.value[*].connectionString', '$.value', '$.connectionString']),
    fixtures: ['appconfig-list-keys.json'],
  },
  {
    id: 'batch-keys',
    description: 'Batch account keys (listKeys, regenerateKeys)',
    methods: ['POST'],
    paths: [`${RG}/Microsoft.Batch/batchAccounts/*/listKeys`, `${RG}/Microsoft.Batch/batchAccounts/*/regenerateKeys`],
    mask: spec(['$.primary', '$.secondary']),
    fixtures: ['batch-list-keys.json'],
  },
  {
    id: 'web-app-settings',
    description: 'App Service app settings (config/appsettings/list), also for slots',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.Web/sites/*/config/appsettings/list`,
      `${RG}/Microsoft.Web/sites/*/slots/*/config/appsettings/list`,
    ],
    mask: spec(['$.properties.*']),
    fixtures: ['webapp-appsettings-list.json'],
  },
  {
    id: 'web-app-connection-strings',
    description: 'App Service connection strings (config/connectionstrings/list), also for slots',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.Web/sites/*/config/connectionstrings/list`,
      `${RG}/Microsoft.Web/sites/*/slots/*/config/connectionstrings/list`,
    ],
    mask: spec(['$.properties.*.value']),
    fixtures: ['webapp-connectionstrings-list.json'],
  },
  {
    id: 'aks-credentials',
    description:
      'AKS kubeconfigs (listClusterAdminCredential, listClusterUserCredential, listClusterMonitoringUserCredential)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.ContainerService/managedClusters/*/listClusterAdminCredential`,
      `${RG}/Microsoft.ContainerService/managedClusters/*/listClusterUserCredential`,
      `${RG}/Microsoft.ContainerService/managedClusters/*/listClusterMonitoringUserCredential`,
    ],
    mask: spec(['$.kubeconfigs[*].value']),
    fixtures: ['aks-list-cluster-admin-credential.json'],
  },
  {
    id: 'key-vault-secret-value',
    description: 'Key Vault data plane: secret values (GET secrets/{name}[/{version}], backup, recover)',
    methods: ['GET', 'POST', 'PUT', 'PATCH'],
    paths: ['/secrets/*', '/secrets/*/*', '/deletedsecrets/*/recover'],
    mask: spec(['$.value']),
    fixtures: ['keyvault-get-secret.json'],
  },
  {
    id: 'logic-apps-callback-url',
    description: 'Logic Apps trigger and workflow callback URLs (listCallbackUrl): the URL carries a SAS sig',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.Logic/workflows/*/triggers/*/listCallbackUrl`,
      `${RG}/Microsoft.Logic/workflows/*/listCallbackUrl`,
    ],
    mask: spec(['$.value', '$.queries.sig']),
    fixtures: ['logicapps-list-callback-url.json'],
  },
  {
    id: 'application-insights-api-keys',
    description: 'Application Insights API keys (POST components/{name}/ApiKeys returns the key once)',
    methods: ['POST', 'GET'],
    paths: [`${RG}/microsoft.insights/components/*/ApiKeys`, `${RG}/microsoft.insights/components/*/ApiKeys/*`],
    mask: spec(['$..apiKey']),
    fixtures: ['appinsights-create-api-key.json'],
  },
  {
    id: 'iot-hub-keys',
    description: 'IoT Hub shared access policies (listkeys, getkeys)',
    methods: ['POST'],
    paths: [`${RG}/Microsoft.Devices/IotHubs/*/listkeys`, `${RG}/Microsoft.Devices/IotHubs/*/IotHubKeys/*/listkeys`],
    mask: spec(['$.value[*].primaryKey', '$.value[*].secondaryKey', '$.primaryKey', '$.secondaryKey']),
    fixtures: ['iothub-list-keys.json'],
  },
  {
    id: 'data-factory-ir-auth-keys',
    description: 'Data Factory self-hosted integration runtime auth keys (listAuthKeys, regenerateAuthKey)',
    methods: ['POST'],
    paths: [
      `${RG}/Microsoft.DataFactory/factories/*/integrationRuntimes/*/listAuthKeys`,
      `${RG}/Microsoft.DataFactory/factories/*/integrationRuntimes/*/regenerateAuthKey`,
    ],
    mask: spec(['$.authKey1', '$.authKey2']),
    fixtures: ['datafactory-list-auth-keys.json'],
  },
  {
    id: 'kubernetes-secrets',
    description:
      'Kubernetes Secrets (get, list and ?watch=1): data, stringData and the kubectl last-applied-configuration annotation',
    methods: ['GET'],
    paths: ['/api/v1/secrets', '/api/v1/namespaces/*/secrets', '/api/v1/namespaces/*/secrets/*'],
    mask: spec([
      '$.data.*',
      '$.stringData.*',
      '$.items[*].data.*',
      '$.items[*].stringData.*',
      '$.object.data.*',
      '$.object.stringData.*',
      "$..annotations['kubectl.kubernetes.io/last-applied-configuration']",
    ]),
    fixtures: ['kubernetes-secret.json', 'kubernetes-secret-list.json', 'kubernetes-secret-watch.ndjson'],
  },
];

/**
 * A connection-level default mask (policy `default_mask:` on a connection): merged into the mask
 * of every decision for that connection, whatever rule allowed the request. It has no style of its
 * own: the decision's style stays the strongest the matching rules name (`redact` when none does).
 */
export type DefaultMask = Readonly<Pick<MaskSpec, 'paths' | 'keys' | 'detectors'>>;

/**
 * The `azure_secrets` member-name families: the names Azure's listKeys / listCredentials /
 * regenerate* answers (and Graph's addPassword, template outputs, `PUT` echoes) put secrets under.
 * Patterns are the masker's: case-insensitive, `*` any run of characters (none included:
 * `*MasterKey` is also `masterKey`, `*Password` also `password`), matched at any depth, and a match
 * masks the member's whole value (an object or array included: `functionKeys: {…}`).
 *
 * Deliberately absent — they name non-secrets somewhere common: `value` (every ARM list),
 * `key` (Key Vault's public JWK, `tags`), `data` / `stringData` (every Kubernetes ConfigMap),
 * `secret` (a Pod's `volumes[].secret` reference), `*Token` (`continuationToken`, `skipToken`),
 * `*Key` (`publicKey`, `partitionKey`, `instrumentationKey`, `keyName`, `keySource`, `keyVaultUri`).
 */
export const AZURE_SECRET_KEY_FAMILIES: readonly { family: string; keys: readonly string[] }[] = [
  {
    family: 'account and access keys',
    keys: [
      'primaryKey',
      'secondaryKey',
      'key1',
      'key2',
      '*SharedKey',
      '*StorageKey',
      '*AccountKey',
      '*AccessKey',
      '*AccessKeys',
      '*ApiKey',
      'authKey1',
      'authKey2',
    ],
  },
  { family: 'master and function keys', keys: ['*MasterKey', 'functionKeys', 'systemKeys'] },
  { family: 'connection strings', keys: ['*ConnectionString', '*ConnectionStrings'] },
  {
    family: 'passwords and client secrets',
    keys: ['*Password', 'passwords', '*ClientSecret', 'client_secret', 'secretText', 'temporaryAccessPass'],
  },
  { family: 'tokens and SAS', keys: ['*SasToken', 'accessToken', 'refreshToken', 'access_token', 'refresh_token'] },
  { family: 'credential documents', keys: ['kubeconfigs', 'protectedSettings', 'scmUri'] },
];

/**
 * The built-in `azure_secrets` default mask: the key families above; the JSONPaths of secret
 * shapes whose member names are too common to mask everywhere (Storage / Automation `keys[].value`,
 * Search query keys `value[].key`, App Configuration / Container Apps `value[].value`, Batch and
 * API Management `primary` / `secondary` at the root, the Logic Apps callback `sig`); and the
 * detectors that recognise a secret by its value, whatever it is called.
 */
export const AZURE_SECRETS_DEFAULT_MASK: DefaultMask = Object.freeze({
  keys: Object.freeze(AZURE_SECRET_KEY_FAMILIES.flatMap((family) => family.keys)),
  paths: Object.freeze([
    '$.keys[*].value',
    '$.keys[*].Value',
    '$.value[*].key',
    '$.value[*].value',
    '$.primary',
    '$.secondary',
    '$.queries.sig',
  ]),
  detectors: Object.freeze(['azure_storage_key', 'connection_string', 'sas_token', 'jwt', 'pem_private_key'] as const),
});

/** Built-in default masks a connection names by the short form `default_mask: <name>`. */
export const BUILTIN_DEFAULT_MASK_NAMES = ['azure_secrets'] as const;
export type BuiltinDefaultMaskName = (typeof BUILTIN_DEFAULT_MASK_NAMES)[number];
export const BUILTIN_DEFAULT_MASKS: Readonly<Record<BuiltinDefaultMaskName, DefaultMask>> = Object.freeze({
  azure_secrets: AZURE_SECRETS_DEFAULT_MASK,
});
