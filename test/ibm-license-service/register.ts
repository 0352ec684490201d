import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubectl, type TestCluster } from '../support/k8s.js';
import type { TestLicenseService } from './server.js';

const testdata = join(import.meta.dirname, '..', 'cluster', 'testdata');

export interface Registration {
  namespace: string;
  instance: string;
  serviceName: string;
  secretName: string;
}

/**
 * Makes the test License Service findable the way IBM's operator makes the real one findable:
 * the CRD ibmlicensings.operator.ibm.com, the IBMLicensing instance, the Service with the
 * operator's labels and port `api-port`, and the token Secret. Everything goes through
 * `kubectl apply`, as an operator's objects would reach a real API server. The Service's
 * clusterIP is 127.0.0.1 and its port the test service's port, so a connection to the
 * discovered clusterIP reaches it (a real cluster routes the clusterIP to the pod).
 * A Prometheus Service with other labels, like the operator's, must not be picked.
 */
export async function registerLicenseService(
  cluster: TestCluster,
  ls: TestLicenseService,
  opts: { namespace?: string; instance?: string; secretName?: string; steps?: ('crd' | 'instance' | 'service' | 'secret')[] } = {},
): Promise<Registration> {
  const namespace = opts.namespace ?? 'ibm-licensing';
  const instance = opts.instance ?? 'instance';
  const secretName = opts.secretName ?? 'ibm-licensing-token';
  const serviceName = `ibm-licensing-service-${instance}`;
  const steps = opts.steps ?? ['crd', 'instance', 'service', 'secret'];
  const apply = async (docs: unknown[] | string) => {
    const r = typeof docs === 'string'
      ? await kubectl(cluster, ['apply', '-f', docs])
      : await kubectl(cluster, ['apply', '-f', '-'], { input: docs.map((d) => stringify(d)).join('---\n') });
    if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
  };
  if (steps.includes('crd')) await apply(join(testdata, 'ibmlicensing-crd.yaml'));
  const labels = {
    'app.kubernetes.io/name': serviceName,
    'app.kubernetes.io/component': 'ibm-licensing-service-svc',
    'app.kubernetes.io/managed-by': 'operator',
    'app.kubernetes.io/instance': 'ibm-licensing-service',
    release: 'ibm-licensing-service',
  };
  const docs: unknown[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }];
  if (steps.includes('instance')) {
    docs.push({
      apiVersion: 'operator.ibm.com/v1alpha1',
      kind: 'IBMLicensing',
      metadata: { name: instance },
      spec: { apiSecretToken: secretName, datasource: 'datacollector', httpsEnable: ls.https, instanceNamespace: namespace },
    });
  }
  if (steps.includes('service')) {
    docs.push(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: serviceName, namespace, labels },
        spec: { type: 'ClusterIP', clusterIP: '127.0.0.1', ports: [{ name: 'api-port', port: ls.port, targetPort: 8080, protocol: 'TCP' }], selector: { app: serviceName, component: 'ibm-licensing-service-svc', licensing_cr: instance } },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ibm-licensing-service-prometheus', namespace, labels: { release: 'ibm-licensing-service-prometheus' } },
        spec: { type: 'ClusterIP', ports: [{ name: 'metrics', port: 8081, targetPort: 8081, protocol: 'TCP' }], selector: { app: serviceName } },
      },
    );
  }
  if (steps.includes('secret')) {
    docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace }, type: 'Opaque', data: { token: Buffer.from(ls.token).toString('base64') } });
  }
  await apply(docs);
  return { namespace, instance, serviceName, secretName };
}
