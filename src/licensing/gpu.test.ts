import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildClusterModel, normalizeNode } from '../cluster/model.js';
import { rawNode, testClusterObjects } from '../../test/support/cluster-objects.js';
import { KensusError } from '../errors.js';
import { gpuModelTokens, loadGpuSkuMap, nodeGpus, skuForProduct } from './gpu.js';
import { gpuSkuRows, gpusByNode } from './nvaie.js';

const map = loadGpuSkuMap();
const sku = (label: string) => skuForProduct(label, map)?.sku ?? null;

describe('GPU SKU map', () => {
  it('maps the real GFD label spellings to NVAIE SKUs', () => {
    expect(sku('NVIDIA-H100-80GB-HBM3')).toBe('NVAIE-H100');
    expect(sku('NVIDIA-H100-PCIe')).toBe('NVAIE-H100');
    expect(sku('NVIDIA-H100-NVL')).toBe('NVAIE-H100');
    expect(sku('NVIDIA-A100-SXM4-80GB')).toBe('NVAIE-A100');
    expect(sku('NVIDIA-A100-SXM4-40GB-MIG-1g.5gb')).toBe('NVAIE-A100');
    expect(sku('NVIDIA-H200')).toBe('NVAIE-H200');
    expect(sku('NVIDIA-H200-141GB-HBM3e')).toBe('NVAIE-H200');
    expect(sku('NVIDIA-GH200-480GB')).toBe('NVAIE-GH200');
    expect(sku('NVIDIA-L40S')).toBe('NVAIE-L40S');
    expect(sku('NVIDIA-L40S-SHARED')).toBe('NVAIE-L40S');
    expect(sku('NVIDIA-L40')).toBe('NVAIE-L40');
    expect(sku('NVIDIA-L4')).toBe('NVAIE-L4');
    expect(sku('NVIDIA-A10')).toBe('NVAIE-A10');
    expect(sku('NVIDIA-A30')).toBe('NVAIE-A30');
    expect(sku('NVIDIA-A40')).toBe('NVAIE-A40');
    expect(sku('NVIDIA-B200')).toBe('NVAIE-B200');
    expect(sku('NVIDIA-H20')).toBe('NVAIE-H20');
    expect(sku('Tesla-V100-SXM2-16GB')).toBe('NVAIE-V100');
    expect(sku('Tesla-T4')).toBe('NVAIE-T4');
    expect(sku('NVIDIA-RTX-A6000')).toBe('NVAIE-RTX-A6000');
  });

  it('never guesses: unknown or missing products have no SKU', () => {
    expect(sku('NVIDIA-GeForce-RTX-4090')).toBeNull();
    expect(sku('NVIDIA-H1000')).toBeNull();
    expect(skuForProduct(null, map)).toBeNull();
    expect(skuForProduct('', map)).toBeNull();
    expect(gpuModelTokens('NVIDIA-A100-SXM4-40GB-MIG-1g.5gb')).toEqual(['A100', 'SXM4', '40GB']);
  });

  it('takes an override file whose entries win over the shipped ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kensus-sku-'));
    try {
      const file = join(dir, 'skus.yaml');
      await writeFile(file, 'skus:\n  - { model: H100, sku: CUSTOM-H100 }\n  - { model: RTX-4090, sku: NONE }\n  - { model: "4090", sku: DEV-4090 }\n');
      const custom = loadGpuSkuMap(file);
      expect(skuForProduct('NVIDIA-H100-80GB-HBM3', custom)?.sku).toBe('CUSTOM-H100');
      expect(skuForProduct('NVIDIA-GeForce-RTX-4090', custom)?.sku).toBe('DEV-4090');
      expect(skuForProduct('NVIDIA-A100-SXM4-80GB', custom)?.sku).toBe('NVAIE-A100');
      await writeFile(file, 'skus:\n  - { model: H100 }\n');
      expect(() => loadGpuSkuMap(file)).toThrow(/skus\[0\] needs a 'model' and a 'sku'/);
      expect(() => loadGpuSkuMap(join(dir, 'none.yaml'))).toThrow(KensusError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('node GPUs', () => {
  it('reads GFD labels, MIG resources and unlabelled capacity on the test cluster', () => {
    const { nodes, pods } = testClusterObjects();
    const model = buildClusterModel(nodes, pods, 'snapshot');
    const byNode = gpusByNode(model.nodes, map);
    expect(byNode.get('gpu-h100')).toMatchObject([{ product: 'NVIDIA-H100-80GB-HBM3', count: 8, sku: 'NVAIE-H100', memoryMiB: 81559, family: 'hopper', countSource: 'gfd-label' }]);
    expect(byNode.get('gpu-mig')).toMatchObject([{ product: 'NVIDIA-A100-SXM4-40GB', count: 2, sku: 'NVAIE-A100', migStrategy: 'mixed', mig: { '1g.5gb': 14 }, advertised: 14 }]);
    expect(byNode.get('gpu-nolabel')).toMatchObject([{ product: null, count: 2, sku: null, countSource: 'capacity' }]);
    expect(byNode.get('plain-1')).toEqual([]);
    expect(gpuSkuRows(byNode).map((r) => [r.sku, r.gpus, r.nodes])).toEqual([
      ['NVAIE-A100', 2, ['gpu-mig']],
      ['NVAIE-H100', 8, ['gpu-h100']],
      [null, 2, ['gpu-nolabel']],
    ]);
  });

  it('divides time-sliced replicas and reads single-strategy MIG and vGPU nodes', () => {
    const shared = normalizeNode(
      rawNode({ name: 's', cpu: '8', labels: { 'nvidia.com/gpu.product': 'NVIDIA-L40S-SHARED', 'nvidia.com/gpu.replicas': '4' }, extraCapacity: { 'nvidia.com/gpu': '8' } }),
    );
    expect(nodeGpus(shared, map)).toMatchObject([{ count: 2, sku: 'NVAIE-L40S', sharing: 'time-slicing', countSource: 'capacity/replicas' }]);
    const single = normalizeNode(
      rawNode({
        name: 'm',
        cpu: '8',
        labels: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB-MIG-1g.5gb', 'nvidia.com/gpu.count': '1', 'nvidia.com/mig.strategy': 'single' },
        extraCapacity: { 'nvidia.com/gpu': '7' },
      }),
    );
    expect(nodeGpus(single, map)).toMatchObject([{ count: 1, advertised: 7, sku: 'NVAIE-A100', migStrategy: 'single' }]);
    const vgpu = normalizeNode(rawNode({ name: 'v', cpu: '8', extraCapacity: { 'nvidia.com/vgpu': '4' } }));
    expect(nodeGpus(vgpu, map)).toMatchObject([{ count: 4, vgpu: 4, sku: null, countSource: 'vgpu' }]);
  });
});
