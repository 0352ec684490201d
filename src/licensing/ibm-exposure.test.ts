import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel, type ClusterModel } from '../cluster/model.js';
import { rawNode, rawPod, testClusterList, testClusterObjects } from '../../test/support/cluster-objects.js';
import { buildInventory, type Inventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import type { ProductFinding } from '../model/finding.js';
import type { UsageRow } from '../model/report.js';
import { buildClusterReport } from '../report/cluster.js';
import { renderIbmLicensingNdi } from '../report/ndi.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { reconcile } from './entitlements.js';
import { ibmUsage } from './ibm.js';
import { computeUsage } from './usage.js';

const BARE_DB2 = 'registry.example.com/ibm/db2-bare:11.5';
const db2: ProductFinding = { id: 'ibm-db2', vendor: 'IBM', product: 'IBM Db2', edition: null, version: '11.5.9.0', licenseMetric: 'VIRTUAL_PROCESSOR_CORE', licensable: true, confidence: 'high', evidence: [{ kind: 'file', path: '/opt/ibm/db2/V11.5/bin/db2sysc', rule: 'ibm-db2/db2sysc' }] };
let inv: Inventory;
let usage: UsageRow[];

beforeAll(async () => {
  // The test cluster plus a Db2 pod deployed without IBM License Service annotations.
  const { nodes, pods } = testClusterObjects();
  pods.push(rawPod({ namespace: 'db2', name: 'db2-bare', node: 'plain-1', containers: [{ name: 'db2', image: BARE_DB2, limits: { cpu: '2' } }] }));
  const set = await loadSignatureSet();
  inv = await buildInventory(buildClusterModel(nodes, pods, 'snapshot'), {
    matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher),
    scanImage: async (img) => (img.image === BARE_DB2 ? [db2] : []),
  });
  usage = computeUsage(inv).usage;
});

describe('IBM products found without License Service annotations', () => {
  it('report the whole-cluster exposure beside the container figure, and say why', () => {
    const rows = usage.filter((u) => u.productId === 'ibm-db2');
    expect(rows.map((u) => [u.scope, u.quantity, u.pvu])).toEqual([
      ['cluster', 2, 140],
      // Every core of the cluster: 4 + 64 + 32 + 8 + 16 = 124 vCPU.
      ['full-capacity', 124, 8680],
    ]);
    const full = rows[1];
    expect(full.rule).toMatch(/without IBM License Service annotations \(db2\/db2-bare\)/);
    expect(full.rule).toMatch(/charged for all cores in the entire cluster/);
    expect(rows[0].rule).toMatch(/full-capacity/);
    // Annotated programs are tracked by License Service: no exposure row.
    expect(usage.filter((u) => u.scope === 'full-capacity').map((u) => u.productId)).toEqual(['ibm-db2']);
  });

  it('the exposure is shown, not added to entitlements or to the License Service file', () => {
    const [ent] = reconcile([{ product: 'IBM Db2', metric: 'VPC', quantity: 20 }], usage, inv);
    // The annotated Db2 (10) and the unannotated container figure (2), not the 124 exposure.
    expect([ent.used, ent.status]).toEqual([12, 'ok']);
    const report = buildClusterReport(inv, computeUsage(inv), null, { version: '0.1.0', clusterId: 'x' });
    const sp = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'Product' }).parse(renderIbmLicensingNdi(report)).Inventory.ServiceProvider;
    expect(sp.Product.filter((p: { id: string }) => p.id === 'ibm-db2').map((p: { metricQuantity: string }) => p.metricQuantity)).toEqual(['2']);
  });
});

describe('Cloud Pak for Data', () => {
  // The reference's example (ibm-license-service-inventory.txt): CP4D Control Plane in CP4D 3.2.1,
  // 2 cores, metricConversion 1:1 → Cloud Pak 2. CP4D takes no ratio ("Cloud Paks (other than
  // Cloud Pak for Data) take into account Cloud Pak ratios"), whatever the annotation says.
  const cp4d = { cloudpakId: 'eb9998dcc5d24e3eb5b6fb488f750fe2', cloudpakName: 'IBM Cloud Pak for Data', cloudpakVersion: '3.2.1', cloudpakMetric: 'VIRTUAL_PROCESSOR_CORE' };
  const model = (ratio: string): ClusterModel =>
    buildClusterModel(
      [rawNode({ name: 'w1', cpu: '16' })],
      [
        rawPod({
          namespace: 'cpd',
          name: 'zen-0',
          node: 'w1',
          annotations: { ...cp4d, productID: 'fb1b19783983ec76198729a9b945723', productName: 'IBM Cloud Pak for Data Control Plane', productMetric: 'VIRTUAL_PROCESSOR_CORE', productCloudpakRatio: ratio },
          containers: [{ name: 'zen', image: 'cp.icr.io/cp/cpd/zen:3.2.1', limits: { cpu: '2' } }],
        }),
      ],
      'snapshot',
    );

  it('converts 1:1 even when the pods carry a ratio', () => {
    for (const ratio of ['1:1', '3:1']) {
      const rows = ibmUsage(model(ratio));
      const bundled = rows.find((r) => r.scope === 'bundled-product')!;
      expect([bundled.metricConversion, bundled.metricMeasuredQuantity, bundled.metricConvertedQuantity], ratio).toEqual(['1:1', 2, 2]);
      expect(rows.find((r) => r.scope === 'cloudpak')!.quantity, ratio).toBe(2);
    }
    expect(ibmUsage(model('3:1')).find((r) => r.scope === 'bundled-product')!.rule).toMatch(/Cloud Pak for Data takes no ratio/);
  });

  it("gives the reference's example elements in the .ndi, attribute for attribute", async () => {
    const m = model('1:1');
    const set = await loadSignatureSet();
    const cpd = await buildInventory(m, { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) }, { metadataOnly: true });
    const report = buildClusterReport(cpd, computeUsage(cpd), null, { version: '0.1.0', clusterId: 'd8259158-fdfe-4ba3-ae28-be62a51df7f9', now: new Date('2021-07-24T01:00:00Z') });
    const xml = renderIbmLicensingNdi(report);
    // The reference's order: Product, then BundledProduct.
    expect(xml.indexOf('<Product ')).toBeLessThan(xml.indexOf('<BundledProduct '));
    const sp = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml).Inventory.ServiceProvider;
    expect(sp.Product).toEqual({ date: '2021-07-24T00:00:00Z', id: 'eb9998dcc5d24e3eb5b6fb488f750fe2', name: 'IBM Cloud Pak for Data', metricName: 'VIRTUAL_PROCESSOR_CORE', metricQuantity: '2', clusterid: 'd8259158-fdfe-4ba3-ae28-be62a51df7f9' });
    expect(sp.BundledProduct).toEqual({
      date: '2021-07-24T00:00:00Z',
      cloudpakId: 'eb9998dcc5d24e3eb5b6fb488f750fe2',
      cloudpakName: 'IBM Cloud Pak for Data',
      cloudpakVersion: '3.2.1',
      productId: 'fb1b19783983ec76198729a9b945723',
      productName: 'IBM Cloud Pak for Data Control Plane',
      metricName: 'VIRTUAL_PROCESSOR_CORE',
      cloudpakMetricName: 'VIRTUAL_PROCESSOR_CORE',
      metricConversion: '1:1',
      metricConvertedQuantity: '2',
      metricMeasuredQuantity: '2',
      clusterid: 'd8259158-fdfe-4ba3-ae28-be62a51df7f9',
    });
  });
});

describe('containers without a CPU limit', () => {
  it('by default only charged containers give the pod the node capacity, as License Service counts', () => {
    const { nodes, pods } = testClusterObjects();
    const rows = ibmUsage(buildClusterModel(nodes, pods, 'snapshot'));
    const db2Row = rows.find((r) => r.productName === 'IBM Db2')!;
    expect(db2Row.quantity).toBe(10);
    expect(db2Row.rule).toMatch(/a charged container without a CPU limit counts the node capacity/);
  });

  it('strict: any container without a limit (the istio-proxy sidecar) gives the pod the node capacity', () => {
    const { nodes, pods } = testClusterObjects();
    const rows = ibmUsage(buildClusterModel(nodes, pods, 'snapshot'), { strictNoLimit: true });
    const db2Row = rows.find((r) => r.productName === 'IBM Db2')!;
    // plain-1: the pod without limit, 8; gpu-mig: db2-limited has a sidecar without limit → 32.
    expect(db2Row.quantity).toBe(40);
    expect(db2Row.rule).toMatch(/any container of the pod without a CPU limit/);
    // MQ, App Connect and the Cloud Pak have limits on every container: unchanged.
    expect(rows.filter((r) => r.productName !== 'IBM Db2').map((r) => r.quantity)).toEqual(ibmUsage(buildClusterModel(nodes, pods, 'snapshot')).filter((r) => r.productName !== 'IBM Db2').map((r) => r.quantity));
  });
});

describe('kensus scan cluster --ibm-strict-no-limit', () => {
  it('takes the strict reading from the command line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-strict-'));
    try {
      const snapshot = join(dir, 'cluster.json');
      writeFileSync(snapshot, JSON.stringify(testClusterList()));
      const run = (...flags: string[]) => {
        const r = spawnSync(process.execPath, ['bin/kensus.js', 'scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--format', 'json', ...flags], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        return (JSON.parse(r.stdout) as { usage: UsageRow[] }).usage.find((u) => u.productName === 'IBM Db2')!.quantity;
      };
      expect([run(), run('--ibm-strict-no-limit')]).toEqual([10, 40]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
