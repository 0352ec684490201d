import { ApiException, ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import { log } from '../log.js';
import type { LicenseServiceEndpoint } from './client.js';
import { endpointFromSettings, missingValues, serviceUrl, type DiscoverableKey, type IbmLicenseServiceSettings } from './settings.js';

/**
 * Finding the License Service API and its token in the cluster, as the Flexera agent does
 * (flexera-krm-agent-attributes.de.txt): the CustomResourceDefinition ibmlicensings.operator.ibm.com
 * first, then the IBMLicensing resource, the Service by label selector, and the Secret with the
 * token. Only missing values are looked up; a full set needs no cluster access at all.
 *
 * Names and labels follow IBM's operator (github.com/IBM/ibm-licensing-operator,
 * controllers/resources/service/helper.go and services.go): the Service is
 * `ibm-licensing-service-<instance>` in `spec.instanceNamespace`, labelled
 * app.kubernetes.io/name=ibm-licensing-service-<instance> and
 * app.kubernetes.io/component=ibm-licensing-service-svc, port `api-port` (8080); HTTPS when
 * `spec.httpsEnable`; the token is key `token` of the Secret `spec.apiSecretToken`
 * (default ibm-licensing-token).
 */
export const LICENSING_CRD = 'ibmlicensings.operator.ibm.com';
const GROUP = 'operator.ibm.com';
const PLURAL = 'ibmlicensings';
const COMPONENT_LABEL = 'app.kubernetes.io/component=ibm-licensing-service-svc';
const DEFAULT_TOKEN_SECRET = 'ibm-licensing-token';

export type DiscoveryErrorKind = 'not-installed' | 'forbidden' | 'unreachable' | 'no-cluster' | 'bad-resource';

export class DiscoveryError extends Error {
  constructor(
    message: string,
    readonly kind: DiscoveryErrorKind,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

export interface Discovered {
  endpoint: LicenseServiceEndpoint;
  /** The values that came from the cluster. */
  discovered: DiscoverableKey[];
  /** The IBMLicensing resource used, when one was read. */
  instance: string | null;
}

/** The settings' endpoint, completed from the cluster when values are missing. */
export async function discoverEndpoint(settings: IbmLicenseServiceSettings, kubeConfig: (() => KubeConfig) | undefined): Promise<Discovered> {
  const given = endpointFromSettings(settings);
  if (given) return { endpoint: given, discovered: [], instance: null };
  const missing = missingValues(settings);
  if (!kubeConfig) {
    throw new DiscoveryError(`the License Service settings lack ${missing.join(', ')} and there is no cluster to discover them from`, 'no-cluster', 'give --url and --token-file, or a kubeconfig (--kubeconfig) that reaches the cluster');
  }
  let kc: KubeConfig;
  try {
    kc = kubeConfig();
  } catch (err) {
    throw new DiscoveryError(`cannot load the kubeconfig to discover ${missing.join(', ')}: ${(err as Error).message}`, 'no-cluster', 'give --url and --token-file, or a working --kubeconfig');
  }
  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  const call = async <T>(verb: string, resource: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw apiError(err, verb, resource, server);
    }
  };

  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);

  // 1. Is the License Service installed at all?
  const crd = await call('get', `customresourcedefinition ${LICENSING_CRD}`, () => ext.readCustomResourceDefinition({ name: LICENSING_CRD })).catch((err) => {
    if (err instanceof DiscoveryError && err.message.includes('HTTP 404')) {
      throw new DiscoveryError(`IBM License Service is not installed: there is no CustomResourceDefinition ${LICENSING_CRD}`, 'not-installed', 'install the IBM License Service operator; Kensus retries every 5 minutes');
    }
    throw err;
  });
  const versions = crd.spec?.versions ?? [];
  const version = (versions.find((v) => v.storage) ?? versions.find((v) => v.served))?.name;
  if (!version) throw new DiscoveryError(`CustomResourceDefinition ${LICENSING_CRD} serves no version`, 'bad-resource');

  // 2. The IBMLicensing resource (cluster-scoped in current operators; namespaced in old ones).
  const list = (await call('list', `${PLURAL}.${GROUP}`, () =>
    crd.spec.scope === 'Namespaced'
      ? custom.listCustomObjectForAllNamespaces({ group: GROUP, version, plural: PLURAL })
      : custom.listClusterCustomObject({ group: GROUP, version, plural: PLURAL }),
  )) as { items?: { metadata?: { name?: string }; spec?: Record<string, unknown> }[] };
  const items = (list.items ?? []).filter((i) => typeof i.metadata?.name === 'string').sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  const instance = items.find((i) => i.metadata!.name === 'instance') ?? items[0];
  if (!instance) throw new DiscoveryError(`IBM License Service is not set up: no IBMLicensing resource exists (CRD ${LICENSING_CRD} is installed)`, 'not-installed', 'create the IBMLicensing instance; Kensus retries every 5 minutes');
  const instanceName = instance.metadata!.name!;
  const spec = (instance.spec ?? {}) as Record<string, unknown>;
  const discovered: DiscoverableKey[] = [];

  const https = settings.https ?? (settings.url ? settings.url.startsWith('https:') : spec.httpsEnable === true);
  if (settings.https === undefined && !settings.url) discovered.push('https');
  let namespace = settings.namespace ?? (typeof spec.instanceNamespace === 'string' && spec.instanceNamespace ? spec.instanceNamespace : undefined);

  // 3. The Service, by name when given, else by the operator's labels.
  let service: V1Service | undefined;
  if (!settings.url || !namespace) {
    if (settings.serviceName && namespace) {
      service = await call('get', `service ${namespace}/${settings.serviceName}`, () => core.readNamespacedService({ name: settings.serviceName!, namespace: namespace! })).catch((err) => {
        if (err instanceof DiscoveryError && err.message.includes('HTTP 404')) {
          throw new DiscoveryError(`the License Service Service ${namespace}/${settings.serviceName} does not exist`, 'not-installed', 'check serviceName and namespace, or leave them out to discover them');
        }
        throw err;
      });
    } else {
      const labelSelector = `${COMPONENT_LABEL},app.kubernetes.io/name=ibm-licensing-service-${instanceName}`;
      const fieldSelector = settings.serviceName ? `metadata.name=${settings.serviceName}` : undefined;
      const found = await call('list', `services${namespace ? ` in namespace ${namespace}` : ''}`, () =>
        namespace ? core.listNamespacedService({ namespace: namespace!, labelSelector, fieldSelector }) : core.listServiceForAllNamespaces({ labelSelector, fieldSelector }),
      );
      service = [...found.items].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))[0];
      if (!service) {
        throw new DiscoveryError(
          `no License Service Service found (labels ${labelSelector}${namespace ? ` in namespace ${namespace}` : ''})`,
          'not-installed',
          'the operator may still be starting it; Kensus retries every 5 minutes (or give serviceName and namespace)',
        );
      }
    }
    namespace ??= service.metadata?.namespace;
  }
  if (!namespace) throw new DiscoveryError('the License Service namespace could not be found', 'bad-resource');
  if (!settings.namespace) discovered.push('namespace');

  let url = settings.url;
  let connectAddress: string | undefined;
  if (!url) {
    const serviceName = settings.serviceName ?? service!.metadata!.name!;
    if (!settings.serviceName) discovered.push('serviceName');
    const ports = service!.spec?.ports ?? [];
    const port = settings.servicePort ?? (ports.find((p) => p.name === 'api-port') ?? ports.find((p) => (p.protocol ?? 'TCP') === 'TCP'))?.port;
    if (port === undefined) throw new DiscoveryError(`the Service ${namespace}/${serviceName} has no TCP port`, 'bad-resource', 'give servicePort');
    if (settings.servicePort === undefined) discovered.push('servicePort');
    url = serviceUrl(https, serviceName, namespace, port);
    const ip = service!.spec?.clusterIP;
    if (ip && ip !== 'None') connectAddress = ip;
  }

  // 4. The token, from the Secret the IBMLicensing resource names.
  let token = settings.token;
  if (!token) {
    const secretName = typeof spec.apiSecretToken === 'string' && spec.apiSecretToken ? spec.apiSecretToken : DEFAULT_TOKEN_SECRET;
    const secret = await call('get', `secret ${namespace}/${secretName}`, () => core.readNamespacedSecret({ name: secretName, namespace: namespace! })).catch((err) => {
      if (err instanceof DiscoveryError && err.message.includes('HTTP 404')) {
        throw new DiscoveryError(`the License Service token Secret ${namespace}/${secretName} does not exist`, 'not-installed', 'the operator creates it at start-up; Kensus retries every 5 minutes (or give the token)');
      }
      throw err;
    });
    const b64 = secret.data?.token;
    const decoded = b64 ? Buffer.from(b64, 'base64').toString('utf8').trim() : '';
    if (!decoded) throw new DiscoveryError(`the Secret ${namespace}/${secretName} has no key 'token'`, 'bad-resource', 'the IBM operator stores the API token under key token');
    token = decoded;
    discovered.push('token');
  }

  log.info({ url, instance: instanceName, discovered, connectAddress }, 'IBM License Service discovered');
  return { endpoint: { url, token, tlsVerify: settings.tlsVerify, connectAddress }, discovered, instance: instanceName };
}

function apiError(err: unknown, verb: string, resource: string, server: string): DiscoveryError {
  if (err instanceof DiscoveryError) return err;
  if (err instanceof ApiException) {
    if (err.code === 403) {
      return new DiscoveryError(
        `forbidden: may not ${verb} ${resource}`,
        'forbidden',
        'grant the read permissions of deploy/kubernetes (customresourcedefinitions, ibmlicensings, services, secrets), or give every value (namespace, serviceName, servicePort, https, token) so nothing needs discovering',
      );
    }
    if (err.code === 401) return new DiscoveryError(`unauthorized at ${server}: the kubeconfig's credentials were refused`, 'unreachable', 'refresh the kubeconfig token');
    return new DiscoveryError(`${verb} ${resource} failed at ${server}: HTTP ${err.code}`, 'unreachable');
  }
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return new DiscoveryError(`cannot reach the Kubernetes API at ${server}: ${e.code ?? e.cause?.code ?? e.message ?? String(err)}`, 'unreachable');
}
