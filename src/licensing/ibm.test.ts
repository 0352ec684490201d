import { describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { rawNode, rawPod, testClusterObjects } from '../../test/support/cluster-objects.js';
import { dailyPeak, ibmUsage, PVU_PER_CORE } from './ibm.js';

const VPC = { productID: 'p-vpc', productName: 'Program VPC', productMetric: 'VIRTUAL_PROCESSOR_CORE' };
const PVU = { productID: 'p-pvu', productName: 'Program PVU', productMetric: 'PROCESSOR_VALUE_UNIT' };

function model(nodes: Array<[string, string]>, pods: Array<{ node: string; ann: Record<string, string>; limits?: Array<string | null>; phase?: string }>) {
  return buildClusterModel(
    nodes.map(([name, cpu]) => rawNode({ name, cpu })),
    pods.map((p, i) =>
      rawPod({
        namespace: 'ns',
        name: `pod-${i}`,
        node: p.node,
        phase: p.phase,
        annotations: p.ann,
        containers: (p.limits ?? [null]).map((l, j) => ({ name: `c${j}`, image: 'img:1', ...(l === null ? {} : { limits: { cpu: l } }) })),
      }),
    ),
    'snapshot',
  );
}

describe('IBM container licensing (reference worked examples)', () => {
  it('sums fractional cores across the cluster and rounds up once: 1.9 cores → 2 VPC or 140 PVU', () => {
    const nodes: Array<[string, string]> = [['n1', '8'], ['n2', '8'], ['n3', '8']];
    const spread = [
      { node: 'n1', limits: ['500m'] },
      { node: 'n2', limits: ['400m'] },
      { node: 'n3', limits: ['1'] },
    ];
    const [vpc] = ibmUsage(model(nodes, spread.map((p) => ({ ...p, ann: VPC }))));
    expect(vpc.metric).toBe('VIRTUAL_PROCESSOR_CORE');
    expect(vpc.quantity).toBe(2);
    expect(vpc.pvu).toBe(140);
    expect(vpc.measuredCores).toBe(1.9);
    const [pvu] = ibmUsage(model(nodes, spread.map((p) => ({ ...p, ann: PVU }))));
    expect(pvu.metric).toBe('PROCESSOR_VALUE_UNIT');
    expect(pvu.quantity).toBe(140);
    expect(pvu.cores).toBe(2);
  });

  it('caps a program at the node capacity: 3+3+3 on an 8-core node → 8', () => {
    const [row] = ibmUsage(model([['n1', '8']], [1, 2, 3].map(() => ({ node: 'n1', ann: VPC, limits: ['3'] }))));
    expect(row.quantity).toBe(8);
    expect(row.pvu).toBe(8 * PVU_PER_CORE);
  });

  it('counts the node capacity for a pod with a container without CPU limit', () => {
    const [row] = ibmUsage(model([['n1', '16']], [{ node: 'n1', ann: VPC, limits: ['1', null] }]));
    expect(row.quantity).toBe(16);
  });

  it('counts only charged containers when productChargedContainers names them', () => {
    const ann = { ...VPC, productChargedContainers: 'c0' };
    const [row] = ibmUsage(model([['n1', '16']], [{ node: 'n1', ann, limits: ['1500m', null] }]));
    expect(row.quantity).toBe(2); // 1.5 → 2; the uncharged c1 without limit does not count
    const all = { ...VPC, productChargedContainers: 'All' };
    expect(ibmUsage(model([['n1', '16']], [{ node: 'n1', ann: all, limits: ['1500m', null] }]))[0].quantity).toBe(16);
  });

  it('charges a minimum of one core', () => {
    const [row] = ibmUsage(model([['n1', '8']], [{ node: 'n1', ann: VPC, limits: ['100m'] }]));
    expect(row.quantity).toBe(1);
    expect(row.pvu).toBe(70);
  });

  it('counts Running pods only', () => {
    const rows = ibmUsage(
      model([['n1', '8']], [
        { node: 'n1', ann: VPC, limits: ['2'] },
        { node: 'n1', ann: VPC, limits: ['3'], phase: 'Pending' },
        { node: 'n1', ann: VPC, limits: ['3'], phase: 'Succeeded' },
      ]),
    );
    expect(rows[0].quantity).toBe(2);
  });

  it('applies Cloud Pak ratios at bundled-solution level: 9 cores at 3:1 + 4 at 1:1 → 7', () => {
    const pak = { cloudpakId: 'cp', cloudpakName: 'IBM Cloud Pak for Integration', cloudpakMetric: 'VIRTUAL_PROCESSOR_CORE' };
    const a = { ...pak, productID: 'a', productName: 'Program A', productMetric: 'VIRTUAL_PROCESSOR_CORE', productCloudpakRatio: '3:1' };
    const b = { ...pak, productID: 'b', productName: 'Program B', productMetric: 'VIRTUAL_PROCESSOR_CORE', productCloudpakRatio: '1:1' };
    const rows = ibmUsage(
      model([['n1', '16'], ['n2', '16']], [
        { node: 'n1', ann: a, limits: ['4'] },
        { node: 'n2', ann: a, limits: ['5'] },
        { node: 'n2', ann: b, limits: ['4'] },
      ]),
    );
    const bundled = rows.filter((r) => r.scope === 'bundled-product');
    expect(bundled.map((r) => [r.productName, r.metricMeasuredQuantity, r.metricConvertedQuantity, r.metricConversion])).toEqual([
      ['Program A', 9, 3, '3:1'],
      ['Program B', 4, 4, '1:1'],
    ]);
    const cloudpak = rows.find((r) => r.scope === 'cloudpak')!;
    expect(cloudpak.productName).toBe('IBM Cloud Pak for Integration');
    expect(cloudpak.quantity).toBe(7);
    expect(cloudpak.pvu).toBe(490);
  });

  it('rounds and caps per bundled solution, not per Cloud Pak', () => {
    const pak = { cloudpakId: 'cp', cloudpakName: 'Pak' };
    const a = { ...pak, productID: 'a', productName: 'A', productMetric: 'VIRTUAL_PROCESSOR_CORE' };
    const b = { ...pak, productID: 'b', productName: 'B', productMetric: 'VIRTUAL_PROCESSOR_CORE' };
    // A: 0.5 → 1; B: 0.5 → 1; Cloud Pak 2 (not ceil(1.0) = 1).
    const rows = ibmUsage(model([['n1', '4']], [{ node: 'n1', ann: a, limits: ['500m'] }, { node: 'n1', ann: b, limits: ['500m'] }]));
    expect(rows.find((r) => r.scope === 'cloudpak')!.quantity).toBe(2);
    // A: 3+3 on a 4-core node → capped 4 per bundled solution; B 3 → Cloud Pak 7 (not capped at 4).
    const capped = ibmUsage(
      model([['n1', '4']], [{ node: 'n1', ann: a, limits: ['3'] }, { node: 'n1', ann: a, limits: ['3'] }, { node: 'n1', ann: b, limits: ['3'] }]),
    );
    expect(capped.find((r) => r.productId === 'a')!.quantity).toBe(4);
    expect(capped.find((r) => r.scope === 'cloudpak')!.quantity).toBe(7);
  });

  it('keeps the high-water mark of a day: 8 cores most of the day, 12 at the peak → 12', () => {
    const row = (q: number) => ({ productId: 'p', productName: 'P', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: q, pvu: q * 70, scope: 'cluster', cloudpakId: null, rule: '' });
    const peaks = dailyPeak([
      { at: '2026-11-01T01:00:00Z', usage: [row(8)] },
      { at: '2026-11-01T12:00:00Z', usage: [row(12)] },
      { at: '2026-11-01T23:00:00Z', usage: [row(8)] },
      { at: '2026-11-02T05:00:00Z', usage: [row(6)] },
    ]);
    expect(peaks.map((p) => [p.date, p.quantity, p.pvu])).toEqual([
      ['2026-11-01', 12, 840],
      ['2026-11-02', 6, 420],
    ]);
  });

  it('keeps one peak per GPU SKU: NVIDIA AI Enterprise rows of two SKUs are two figures', () => {
    const gpu = (sku: string, q: number) => ({ productId: 'nvidia-ai-enterprise', productName: 'NVIDIA AI Enterprise', metric: 'gpu', quantity: q, pvu: null, scope: 'nodes', cloudpakId: null, rule: '', sku });
    const peaks = dailyPeak([
      { at: '2026-11-01T01:00:00Z', usage: [gpu('NVAIE-H100', 8), gpu('NVAIE-A100', 2)] },
      { at: '2026-11-01T09:00:00Z', usage: [gpu('NVAIE-H100', 4), gpu('NVAIE-A100', 6)] },
    ]);
    expect(peaks.map((p) => [p.sku, p.quantity]).sort()).toEqual([
      ['NVAIE-A100', 6],
      ['NVAIE-H100', 8],
    ]);
  });
});

describe('IBM licensing on the issue-7 test cluster', () => {
  it('reproduces the hand-computed figures', () => {
    const { nodes, pods } = testClusterObjects();
    const rows = ibmUsage(buildClusterModel(nodes, pods, 'snapshot'));
    const by = (name: string) => rows.find((r) => r.productName === name)!;
    expect([by('IBM MQ Advanced').quantity, by('IBM MQ Advanced').pvu]).toEqual([9, 630]);
    expect([by('IBM App Connect Enterprise').metric, by('IBM App Connect Enterprise').quantity]).toEqual(['PROCESSOR_VALUE_UNIT', 140]);
    expect([by('IBM Db2').quantity, by('IBM Db2').pvu]).toEqual([10, 700]);
    expect(by('IBM API Connect').metricConvertedQuantity).toBe(3);
    expect(by('IBM Event Streams').metricConvertedQuantity).toBe(4);
    expect([by('IBM Cloud Pak for Integration').quantity, by('IBM Cloud Pak for Integration').scope]).toEqual([7, 'cloudpak']);
    expect(rows.length).toBe(6);
  });
});
