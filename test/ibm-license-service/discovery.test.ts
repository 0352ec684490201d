import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { licenseServiceClient } from '../../src/ibm-license-service/client.js';
import { discoverEndpoint, DiscoveryError } from '../../src/ibm-license-service/discovery.js';
import { mergeSettings } from '../../src/ibm-license-service/settings.js';
import { kubeConfigFor, startTestCluster, type TestCluster } from '../support/k8s.js';
import { registerLicenseService } from './register.js';
import { startTestLicenseService, type TestLicenseService } from './server.js';

let cluster: TestCluster;
let ls: TestLicenseService;
const kc = () => kubeConfigFor(cluster);
const enabled = (s: Record<string, unknown> = {}) => mergeSettings({ enable: true, ...s });

beforeAll(async () => {
  [cluster, ls] = await Promise.all([
    startTestCluster({ fixture: { nodes: [{ name: 'worker-1', capacity: { cpu: '4', memory: '8Gi', pods: '110' } }] } }),
    startTestLicenseService({ https: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), ls?.stop()]);
});

async function discoveryError(settings = enabled(), config: () => KubeConfig = kc): Promise<DiscoveryError> {
  const err = await discoverEndpoint(settings, config).then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(DiscoveryError);
  return err as DiscoveryError;
}

describe('License Service discovery against the test API server', () => {
  it('installation step by step: each missing piece is named, as "not installed" (retried every 5 minutes)', async () => {
    let err = await discoveryError();
    expect([err.kind, err.message]).toEqual(['not-installed', 'IBM License Service is not installed: there is no CustomResourceDefinition ibmlicensings.operator.ibm.com']);

    await registerLicenseService(cluster, ls, { steps: ['crd'] });
    err = await discoveryError();
    expect([err.kind, err.message]).toEqual(['not-installed', 'IBM License Service is not set up: no IBMLicensing resource exists (CRD ibmlicensings.operator.ibm.com is installed)']);

    await registerLicenseService(cluster, ls, { steps: ['instance'] });
    err = await discoveryError();
    expect(err.kind).toBe('not-installed');
    expect(err.message).toBe('no License Service Service found (labels app.kubernetes.io/component=ibm-licensing-service-svc,app.kubernetes.io/name=ibm-licensing-service-instance in namespace ibm-licensing)');

    await registerLicenseService(cluster, ls, { steps: ['service'] });
    err = await discoveryError();
    expect([err.kind, err.message]).toEqual(['not-installed', 'the License Service token Secret ibm-licensing/ibm-licensing-token does not exist']);
  });

  it('nothing given: namespace, Service, port, https and token all come from the cluster, and the API answers through the clusterIP', async () => {
    await registerLicenseService(cluster, ls, { steps: ['secret'] });
    const d = await discoverEndpoint(enabled(), kc);
    expect(d.instance).toBe('instance');
    expect(d.endpoint).toEqual({ url: `https://ibm-licensing-service-instance.ibm-licensing.svc:${ls.port}`, token: ls.token, tlsVerify: false, connectAddress: '127.0.0.1' });
    expect([...d.discovered].sort()).toEqual(['https', 'namespace', 'serviceName', 'servicePort', 'token']);
    // The Prometheus Service of the operator carries other labels and is not taken.
    expect(d.endpoint.url).not.toContain('8081');
    const api = licenseServiceClient(d.endpoint);
    expect(await api.version()).toEqual({ version: '4.2.14', buildDate: 'Mon Jul 12 16:45:52 UTC 2021' });
    expect((await api.products('2022-06-29')).map((p) => p.name)).toEqual(['IBM Cloud Pak for Data', 'IBM MQ Advanced']);
  });

  it('a partial set: only the missing values are discovered; what is given is never looked up', async () => {
    // A user who may read the operator's objects and Services, but no Secrets.
    cluster.addUser('ils-reader', [
      { verbs: ['get', 'list'], apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'] },
      { verbs: ['get', 'list'], apiGroups: ['operator.ibm.com'], resources: ['ibmlicensings'] },
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['services'] },
    ]);
    const reader = () => kubeConfigFor(cluster, 'ils-reader');
    const d = await discoverEndpoint(enabled({ namespace: 'ibm-licensing', token: ls.token }), reader);
    expect([...d.discovered].sort()).toEqual(['https', 'serviceName', 'servicePort']);
    expect(d.endpoint.url).toBe(`https://ibm-licensing-service-instance.ibm-licensing.svc:${ls.port}`);
    expect(await licenseServiceClient(d.endpoint).health()).toEqual({ incompleteAnnotationCount: 0, incompleteAnnotationPods: [] });

    // Given serviceName and port are used as they are.
    const named = await discoverEndpoint(enabled({ serviceName: 'ibm-licensing-service-instance', servicePort: 9443, https: false, token: 't' }), reader);
    expect(named.endpoint.url).toBe('http://ibm-licensing-service-instance.ibm-licensing.svc:9443');
    expect(named.discovered).toEqual(['namespace']);

    // Without the token the Secret must be read: the missing permission is named, with the way out.
    const err = await discoveryError(enabled({ namespace: 'ibm-licensing' }), reader);
    expect(err.kind).toBe('forbidden');
    expect(err.message).toBe('forbidden: may not get secret ibm-licensing/ibm-licensing-token');
    expect(err.hint).toMatch(/or give every value \(namespace, serviceName, servicePort, https, token\)/);
  });

  it('a full set needs no cluster access at all', async () => {
    const noCluster = () => {
      throw new Error('the cluster must not be asked');
    };
    const full = await discoverEndpoint(enabled({ namespace: 'ibm-common-services', serviceName: 'ibm-licensing-service-instance', servicePort: 8080, https: true, token: 'VoOMWJijBWuCxSxwgON11w7z' }), noCluster);
    expect(full).toEqual({ endpoint: { url: 'https://ibm-licensing-service-instance.ibm-common-services.svc:8080', token: 'VoOMWJijBWuCxSxwgON11w7z', tlsVerify: false }, discovered: [], instance: null });
    const byUrl = await discoverEndpoint(enabled({ url: 'https://ibm-licensing-service-instance.ibm-common-services.svc:8080', token: 'x', tlsVerify: true }), noCluster);
    expect(byUrl.endpoint).toEqual({ url: 'https://ibm-licensing-service-instance.ibm-common-services.svc:8080', token: 'x', tlsVerify: true });
    // A URL without a token: the token is the only thing discovered.
    const urlOnly = await discoverEndpoint(enabled({ url: ls.url }), kc);
    expect(urlOnly.discovered).toEqual(['namespace', 'token']);
    expect(urlOnly.endpoint).toEqual({ url: ls.url, token: ls.token, tlsVerify: false, connectAddress: undefined });
  });

  it('tlsVerify true refuses the self-signed certificate with a clear message', async () => {
    const d = await discoverEndpoint(enabled({ tlsVerify: true }), kc);
    const err = await licenseServiceClient(d.endpoint, { retries: 0 }).version().catch((e) => e);
    expect(err.kind).toBe('unreachable');
    expect(err.message).toMatch(/the TLS certificate was not accepted for \/version \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\); tlsVerify is on/);
  });

  it('no cluster to ask: the missing values are named', async () => {
    const err = await discoveryError(enabled({ token: 'x' }), () => {
      const k = new KubeConfig();
      k.loadFromFile('/nonexistent/kubeconfig');
      return k;
    });
    expect(err.kind).toBe('no-cluster');
    expect(err.message).toMatch(/^cannot load the kubeconfig to discover namespace, serviceName, servicePort, https:/);
  });
});
