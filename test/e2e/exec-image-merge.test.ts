import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixtures } from '../../src/fixtures/load.js';
import { kubeExecScanner, runScanNamespace } from '../../src/cli/scan-workloads.js';
import { runScanCluster } from '../../src/cli/scan-cluster.js';
import type { ProductFinding } from '../../src/model/finding.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { buildFixtureImage, docker, type BuiltImage } from '../support/fixture-images.js';
import { validateReport } from '../support/validate-report.js';

// App Connect 11.0.0.13 as ot4i/ace-docker builds it: the install directory says "11"
// (/opt/ibm/ace-11), only the image label says 11.0.0.13. Exec cannot see image labels, the image
// scan can; both commands must give the same version and say which method saw what.
const ns = 'kensus-merge';
let cluster: TestCluster;
let ace: BuiltImage;

beforeAll(async () => {
  const fixture = (await loadFixtures()).find((f) => f.signature === 'ibm-app-connect-enterprise' && f.name === 'ace-11-integration-server')!;
  ace = await buildFixtureImage(fixture, `kensus-e2e-merge-${process.pid}-ace:test`);
  cluster = await startTestCluster({
    fixture: { nodes: [{ name: 'worker-1', capacity: { cpu: '8', memory: '32Gi', pods: '110' } }], namespaces: [ns], objects: [] },
  });
  await cluster.createPod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'ace-0', namespace: ns, labels: { app: 'ace' } },
    spec: { nodeName: 'worker-1', containers: [{ name: 'ace', image: ace.tag, command: ['/bin/busybox', 'sleep', '1000000'], resources: { limits: { cpu: '2' } } }] },
  });
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  try {
    docker(['rmi', '-f', ace.tag]);
  } catch {
    /* in use or gone */
  }
  ace?.cleanup();
});

const aceOf = (products: ProductFinding[]) => products.find((p) => p.id === 'ibm-app-connect-enterprise')!;
const methods = (f: ProductFinding) => [...new Set(f.evidence.map((e) => `${e.kind}:${e.method}`))].sort();

describe('exec findings merged with the image findings of the same digest', () => {
  it('scan namespace (exec) gives the image label version and says the label came from the image', async () => {
    const { report } = await runScanNamespace(ns, { kubeconfig: cluster.kubeconfigPath, cache: false });
    expect(validateReport(report)).toEqual([]);
    const row = report!.containers.find((c) => c.pod === 'ace-0')!;
    expect(row.method).toBe('exec');
    const f = aceOf(row.products);
    expect(f.version).toBe('11.0.0.13');
    expect(methods(f)).toEqual(expect.arrayContaining(['file:exec', 'label:image']));
  });

  it('scan cluster (image) and scan cluster --exec give the same version', async () => {
    const o = { kubeconfig: cluster.kubeconfigPath, namespace: [ns], cache: false };
    const image = await runScanCluster(o);
    const exec = await runScanCluster(o, { scanContainer: await kubeExecScanner({ kubeconfig: cluster.kubeconfigPath, cache: false }) });
    for (const r of [image.report, exec.report]) expect(validateReport(r)).toEqual([]);
    const viaImage = aceOf(image.report.containers.find((c) => c.pod === 'ace-0')!.products);
    const viaExec = exec.report.containers.find((c) => c.pod === 'ace-0')!;
    expect(viaExec.method).toBe('exec');
    expect([viaImage.version, aceOf(viaExec.products).version]).toEqual(['11.0.0.13', '11.0.0.13']);
    expect(methods(aceOf(viaExec.products))).toEqual(expect.arrayContaining(['file:exec', 'file:image', 'label:image']));
  });
});
