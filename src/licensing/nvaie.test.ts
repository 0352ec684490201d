import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { rawNode, rawPod, testClusterObjects, NIM_IMAGE, ORACLE_IMAGE } from '../../test/support/cluster-objects.js';
import { buildInventory, type Inventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { loadGpuSkuMap } from './gpu.js';
import { allocatedPhysicalGpus, gpusByNode, loadGatedProducts, nvaieUsage } from './nvaie.js';
import { kensusMetricOf, loadCoreFactors, productUsage } from './metrics.js';
import { ibmProgramsOf } from './ibm-findings.js';
import { ibmUsage } from './ibm.js';

let inv: Inventory;
const map = loadGpuSkuMap();
const gated = loadGatedProducts();

async function inventoryOf(nodes: unknown[], pods: unknown[]): Promise<Inventory> {
  const set = await loadSignatureSet();
  return buildInventory(buildClusterModel(nodes, pods, 'snapshot'), { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) }, { metadataOnly: true });
}

beforeAll(async () => {
  const { nodes, pods } = testClusterObjects();
  inv = await inventoryOf(nodes, pods);
});

describe('NVIDIA AI Enterprise per GPU', () => {
  it('reports GPUs of nodes running NIM and GPUs allocated to NIM pods, per SKU, with the rule', () => {
    const { usage, gatedNodes } = nvaieUsage(inv, gpusByNode(inv.model.nodes, map), gated);
    expect([...gatedNodes.keys()].sort()).toEqual(['gpu-h100', 'gpu-mig']);
    const rows = usage.map((u) => [u.scope, u.sku, u.quantity, u.nodes]);
    expect(rows).toEqual([
      ['nodes', 'NVAIE-A100', 2, ['gpu-mig']],
      ['nodes', 'NVAIE-H100', 8, ['gpu-h100']],
      ['allocated', 'NVAIE-A100', 1, ['gpu-mig']],
      ['allocated', 'NVAIE-H100', 2, ['gpu-h100']],
    ]);
    expect(usage.find((u) => u.scope === 'allocated' && u.sku === 'NVAIE-H100')!.byNamespace).toEqual({ 'ai-inference': 2 });
    expect(usage.find((u) => u.scope === 'allocated' && u.sku === 'NVAIE-A100')!.byNamespace).toEqual({ 'ml-training': 1 });
    expect(usage.every((u) => u.metric === 'gpu' && u.productId === 'nvidia-ai-enterprise' && /per GPU/.test(u.rule))).toBe(true);
  });

  it('reports a NIM on an unlabelled GPU node with sku null, never a guessed SKU', async () => {
    const nodes = [rawNode({ name: 'g', cpu: '8', extraCapacity: { 'nvidia.com/gpu': '4' } })];
    const pods = [rawPod({ namespace: 'a', name: 'nim', node: 'g', containers: [{ name: 'nim', image: NIM_IMAGE, limits: { 'nvidia.com/gpu': '1' } }] })];
    const small = await inventoryOf(nodes, pods);
    const { usage } = nvaieUsage(small, gpusByNode(small.model.nodes, map), gated);
    expect(usage.map((u) => [u.scope, u.sku, u.quantity])).toEqual([['nodes', null, 4], ['allocated', null, 1]]);
    expect(usage[0].rule).toMatch(/GPU model unknown/);
  });

  it('turns MIG slices and shared replicas into whole physical GPUs', () => {
    const gpu = { product: 'x', count: 2, sku: null, advertised: 14, memoryMiB: null, family: null, migStrategy: 'mixed', replicas: null, sharing: null, vgpu: 0, countSource: 'gfd-label' as const, mig: { '1g.5gb': 14 } };
    expect(allocatedPhysicalGpus({ gpus: 0, mig: { '1g.5gb': 1 }, vgpu: 0 }, gpu)).toBe(1);
    expect(allocatedPhysicalGpus({ gpus: 0, mig: { '1g.5gb': 8 }, vgpu: 0 }, gpu)).toBe(2); // 8×2/14 = 1.14 → 2
    expect(allocatedPhysicalGpus({ gpus: 0, mig: { '1g.5gb': 14 }, vgpu: 0 }, gpu)).toBe(2);
    const shared = { ...gpu, count: 2, advertised: 8, replicas: 4, migStrategy: null, mig: undefined };
    expect(allocatedPhysicalGpus({ gpus: 3, mig: {}, vgpu: 0 }, shared)).toBe(1); // 3/4 → 1
    expect(allocatedPhysicalGpus({ gpus: 8, mig: {}, vgpu: 0 }, shared)).toBe(2);
  });
});

describe('per-core, per-instance, per-node metrics', () => {
  it('computes Oracle processor licences with the core factor table: 4×0.5 + 32×0.5 = 18', () => {
    const rows = productUsage(inv, { exclude: gated, gpusByNode: gpusByNode(inv.model.nodes, map) });
    expect(rows.map((r) => [r.productId, r.metric, r.quantity])).toEqual([['mongodb-enterprise', 'instance', 2], ['oracle-database', 'core', 18]]);
    expect(rows[1].nodes).toEqual(['gpu-h100', 'plain-1']);
    expect(rows[1].rule).toMatch(/gpu-h100 32×0.5 \+ plain-1 4×0.5/);
    expect(rows[0].rule).toMatch(/licensed per-server; Kensus reports the running instances/);
  });

  it('uses 1.0 for non-x86 architectures and a per-node override', async () => {
    const nodes = [rawNode({ name: 'arm', cpu: '8', arch: 'arm64' }), rawNode({ name: 'x', cpu: '8', labels: { 'kensus.io/core-factor': '0.25' } })];
    const pods = ['arm', 'x'].map((n) => rawPod({ namespace: 'db', name: `o-${n}`, node: n, containers: [{ name: 'o', image: ORACLE_IMAGE }] }));
    const small = await inventoryOf(nodes, pods);
    // arm: 4 cores × 1.0 = 4; x: 4 × 0.25 = 1 → 5.
    expect(productUsage(small, { exclude: gated })[0].quantity).toBe(5);
    expect(loadCoreFactors().architectures.amd64).toBe(0.5);
  });

  it('counts instances and nodes of running containers only', async () => {
    const nodes = [rawNode({ name: 'n1', cpu: '4' }), rawNode({ name: 'n2', cpu: '4' })];
    const pods = [
      rawPod({ namespace: 'm', name: 'mongo-0', node: 'n1', containers: [{ name: 'mongod', image: 'quay.io/mongodb/mongodb-enterprise-server:7.0' }] }),
      rawPod({ namespace: 'm', name: 'mongo-1', node: 'n1', containers: [{ name: 'mongod', image: 'quay.io/mongodb/mongodb-enterprise-server:7.0' }] }),
      rawPod({ namespace: 'm', name: 'mongo-2', node: 'n2', phase: 'Failed', containers: [{ name: 'mongod', image: 'quay.io/mongodb/mongodb-enterprise-server:7.0' }] }),
    ];
    const small = await inventoryOf(nodes, pods);
    const [row] = productUsage(small, { exclude: gated });
    expect([row.productId, row.metric, row.quantity, row.byNamespace]).toEqual(['mongodb-enterprise', 'instance', 2, { m: 2 }]);
    expect(kensusMetricOf('per-node')).toBe('node');
    expect(kensusMetricOf('gpu')).toBe('gpu');
    expect(kensusMetricOf('per-core')).toBe('core');
  });

  it('counts per-node and per-GPU products on the nodes that run them', async () => {
    const { nodes, pods } = testClusterObjects();
    // A matcher (the injectable metadata matcher) that knows two products of those metrics.
    const finding = (id: string, licenseMetric: string) => ({ id, vendor: 'V', product: id, edition: null, version: null, licenseMetric, licensable: true, confidence: 'high' as const, evidence: [{ kind: 'imageRef' as const, rule: `${id}/ref` }] });
    const small = await buildInventory(buildClusterModel(nodes, pods, 'snapshot'), {
      matchMetadata: (s) => [
        ...(s.refs.some((r) => r.includes('/db2:')) ? [finding('agent-per-node', 'per-node')] : []),
        ...(s.refs.some((r) => r.includes('nvidia/cuda')) ? [finding('gpu-tool', 'per-gpu')] : []),
      ],
    }, { metadataOnly: true });
    const rows = productUsage(small, { exclude: gated, gpusByNode: gpusByNode(small.model.nodes, map) });
    // db2 runs on plain-1 and gpu-mig → 2 nodes; the CUDA job runs on gpu-nolabel with 2 GPUs.
    expect(rows.map((r) => [r.productId, r.metric, r.quantity, r.nodes])).toEqual([
      ['agent-per-node', 'node', 2, ['gpu-mig', 'plain-1']],
      ['gpu-tool', 'gpu', 2, ['gpu-nolabel']],
    ]);
  });

  it('charges IBM images found without annotations under the container rules', async () => {
    const nodes = [rawNode({ name: 'n1', cpu: '8' })];
    const scanned = await buildInventory(
      buildClusterModel(nodes, [rawPod({ namespace: 'mq', name: 'mq', node: 'n1', containers: [{ name: 'qm', image: 'icr.io/ibm-messaging/mq:9.3', limits: { cpu: '1500m' } }, { name: 'side', image: 'busybox' }] })], 'snapshot'),
      {
        scanImage: async (img) =>
          img.image.includes('/mq:')
            ? [{ id: 'ibm-mq', vendor: 'IBM', product: 'IBM MQ', edition: 'Advanced', version: '9.3.0.0', licenseMetric: 'VIRTUAL_PROCESSOR_CORE', licensable: true, confidence: 'high', evidence: [{ kind: 'file', path: '/opt/mqm/bin/dspmqver', rule: 'ibm-mq/dspmqver' }] }]
            : [],
      },
    );
    const rows = ibmUsage(scanned.model, { programsOf: ibmProgramsOf(scanned) });
    expect(rows.map((r) => [r.productId, r.productName, r.quantity, r.pvu])).toEqual([['ibm-mq', 'IBM MQ Advanced', 2, 140]]);
  });
});
