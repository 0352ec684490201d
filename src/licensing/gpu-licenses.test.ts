import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { rawNode, rawPod } from '../../test/support/cluster-objects.js';
import { KensusError } from '../errors.js';
import { buildInventory, type Inventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { reconcile } from './entitlements.js';
import { skuForProduct } from './gpu.js';
import { loadGpuLicenseMap } from './gpu-licenses.js';
import { computeUsage } from './usage.js';

// The ConfigMap of the reference (flexera-kubernetes-license-management.txt, step 3), verbatim.
const REFERENCE = `# ConfigMap for GPU license mapping
apiVersion: v1
kind: ConfigMap
metadata:
  name: flexera-gpu-license-map
  namespace: flexera-system
data:
  gpu-licenses.yaml: |
    products:
      nvidia-ai-enterprise:
        metric: per-gpu
        detection:
          - resource: nvidia.com/gpu
          - image-pattern: "nvcr.io/nvidia/*"
          - image-pattern: "nvcr.io/nim/*"
        sku-mapping:
          A100: "NVAIE-A100"
          H100: "NVAIE-H100"
          H200: "NVAIE-H200"
          L40S: "NVAIE-L40S"
      nvidia-vgpu:
        metric: per-vgpu
        detection:
          - resource: nvidia.com/vgpu
      cuda-toolkit-enterprise:
        metric: per-node
        detection:
          - image-pattern: "*cuda*"
          - process: "nvidia-smi"
`;
const inner = REFERENCE.slice(REFERENCE.indexOf('    products:')).replace(/^ {4}/gm, '');

let dir: string;
let inv: Inventory;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kensus-gpu-licenses-'));
  const gfd = (product: string, count: number) => ({ 'nvidia.com/gpu.present': 'true', 'nvidia.com/gpu.product': product, 'nvidia.com/gpu.count': String(count) });
  const nodes = [
    rawNode({ name: 'w-h100', cpu: '64', labels: gfd('NVIDIA-H100-80GB-HBM3', 8), extraCapacity: { 'nvidia.com/gpu': '8' } }),
    rawNode({ name: 'w-a100', cpu: '32', labels: gfd('NVIDIA-A100-SXM4-80GB', 4), extraCapacity: { 'nvidia.com/gpu': '4' } }),
    rawNode({ name: 'w-vgpu', cpu: '8', extraCapacity: { 'nvidia.com/vgpu': '2' } }),
    rawNode({ name: 'w-8', cpu: '8' }),
  ];
  const pods = [
    rawPod({ namespace: 'ai', name: 'nim-0', node: 'w-h100', containers: [{ name: 'nim', image: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3', limits: { 'nvidia.com/gpu': '2' } }] }),
    // Public NGC PyTorch: not NVAIE-gated by Kensus's own list, but the reference's map counts nvcr.io/nvidia/*.
    rawPod({ namespace: 'ml', name: 'torch-0', node: 'w-a100', containers: [{ name: 'train', image: 'nvcr.io/nvidia/pytorch:24.08-py3', limits: { 'nvidia.com/gpu': '1' } }] }),
    rawPod({ namespace: 'vdi', name: 'vgpu-0', node: 'w-vgpu', containers: [{ name: 'desk', image: 'registry.example.com/vdi/desktop:1', limits: { 'nvidia.com/vgpu': '2' } }] }),
    rawPod({ namespace: 'ci', name: 'cuda-0', node: 'w-8', containers: [{ name: 'build', image: 'docker.io/nvidia/cuda:12.4.0-devel-ubuntu22.04' }] }),
  ];
  const set = await loadSignatureSet();
  inv = await buildInventory(buildClusterModel(nodes, pods, 'snapshot'), { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) }, { metadataOnly: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

describe("the reference's gpu-licenses.yaml", () => {
  it("is accepted as written, as the ConfigMap and as its gpu-licenses.yaml alone; today's skus list too", async () => {
    for (const text of [REFERENCE, inner]) {
      const map = loadGpuLicenseMap(await file('map.yaml', text));
      expect(map.products.map((p) => [p.id, p.metric])).toEqual([['nvidia-ai-enterprise', 'per-gpu'], ['nvidia-vgpu', 'per-vgpu'], ['cuda-toolkit-enterprise', 'per-node']]);
      expect(skuForProduct('NVIDIA-H200', map.skus)?.sku).toBe('NVAIE-H200');
      // The shipped SKUs the file does not name stay.
      expect(skuForProduct('NVIDIA-L4', map.skus)?.sku).toBe('NVAIE-L4');
    }
    const today = loadGpuLicenseMap(await file('skus.yaml', 'skus:\n  - { model: H100, sku: CUSTOM-H100 }\n'));
    expect(skuForProduct('NVIDIA-H100-80GB-HBM3', today.skus)?.sku).toBe('CUSTOM-H100');
  });

  it('names the field and the fix for a bad entry', async () => {
    const bad = async (text: string) => {
      try {
        loadGpuLicenseMap(await file('bad.yaml', text));
      } catch (err) {
        expect(err).toBeInstanceOf(KensusError);
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(await bad('products:\n  x:\n    metric: per-socket\n')).toMatch(/products\.x\.metric: 'per-socket' is not one of per-gpu, per-vgpu, per-node/);
    expect(await bad('products:\n  x:\n    metric: per-gpu\n    detection: [{ colour: red }]\n')).toMatch(/products\.x\.detection\[0\]/);
    expect(await bad('products:\n  x:\n    metric: per-gpu\n    sku-mapping: { A100: 7 }\n')).toMatch(/products\.x\.sku-mapping\.A100/);
    expect(await bad('nothing: here\n')).toMatch(/neither 'skus' nor 'products'/);
  });

  it('counts what its detection rules say, and says which rule counted', async () => {
    const map = loadGpuLicenseMap(await file('map.yaml', REFERENCE));
    const { usage } = computeUsage(inv, { gpuSkuMap: map.skus, gpuProducts: map.products });
    const nvaie = usage.filter((u) => u.productId === 'nvidia-ai-enterprise' && u.scope === 'allocated');
    // NIM (gated) 2 H100 + the public PyTorch pod 1 A100, counted by the map's detection.
    expect(nvaie.map((u) => [u.sku, u.quantity]).sort()).toEqual([['NVAIE-A100', 1], ['NVAIE-H100', 2]]);
    expect(nvaie.find((u) => u.sku === 'NVAIE-A100')!.rule).toMatch(/gpu-licenses\.yaml detection: resource nvidia\.com\/gpu/);
    const cuda = usage.find((u) => u.productId === 'cuda-toolkit-enterprise')!;
    expect([cuda.metric, cuda.quantity, cuda.nodes]).toEqual(['node', 1, ['w-8']]);
    expect(cuda.rule).toMatch(/process "nvidia-smi".*not evaluated/);
  });

  it('without the map, Kensus reads no image name as NVAIE and counts only gated software', () => {
    const { usage } = computeUsage(inv);
    expect(usage.filter((u) => u.productId === 'nvidia-ai-enterprise' && u.scope === 'allocated').map((u) => [u.sku, u.quantity])).toEqual([['NVAIE-H100', 2]]);
    expect(usage.some((u) => u.productId === 'cuda-toolkit-enterprise')).toBe(false);
  });
});

describe('nvidia.com/vgpu', () => {
  it('is its own product row in the per-vgpu metric, and per-vgpu entitlements count it', () => {
    const { usage } = computeUsage(inv);
    const vgpu = usage.filter((u) => u.productId === 'nvidia-vgpu');
    expect(vgpu.map((u) => [u.productName, u.metric, u.scope, u.quantity, u.nodes])).toEqual([['NVIDIA vGPU', 'vgpu', 'cluster', 2, ['w-vgpu']]]);
    const [ent] = reconcile([{ product: 'NVIDIA vGPU', metric: 'per-vgpu', quantity: 4, 'alert-threshold': 80 }], usage, inv);
    expect([ent.used, ent.percentage, ent.status]).toEqual([2, 50, 'ok']);
    const [byNs] = reconcile([{ product: 'NVIDIA vGPU', metric: 'per-vgpu', quantity: 4, namespaces: ['other'] }], usage, inv);
    expect(byNs.used).toBe(0);
  });
});
