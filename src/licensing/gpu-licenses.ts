import { Minimatch } from 'minimatch';
import type { UsageRow } from '../model/report.js';
import type { ContainerEntry, Inventory } from '../inventory/inventory.js';
import { imageRepository } from '../model/image-name.js';
import { badInput } from '../errors.js';
import { readYamlFile } from '../shipped-data.js';
import { gpuMapDocument, shippedGpuSkuMap, skuEntriesOf, withSkuOverrides, type GpuSkuMap } from './gpu.js';

/**
 * The GPU licence map of the reference (flexera-kubernetes-license-management.txt, step 3,
 * ConfigMap flexera-gpu-license-map, gpu-licenses.yaml):
 *
 *   products:
 *     nvidia-ai-enterprise: { metric: per-gpu, detection: [{ resource: nvidia.com/gpu }, { image-pattern: "nvcr.io/nim/*" }], sku-mapping: { H100: "NVAIE-H100" } }
 *     nvidia-vgpu: { metric: per-vgpu, detection: [{ resource: nvidia.com/vgpu }] }
 *     cuda-toolkit-enterprise: { metric: per-node, detection: [{ image-pattern: "*cuda*" }, { process: nvidia-smi }] }
 *
 * `sku-mapping` adds to the model → SKU map; `detection` says which containers use the product:
 * ones that request the resource, or run an image whose repository (or its last part) matches the
 * pattern. A `process` cannot be seen from the cluster's metadata and is not evaluated (the rule
 * text says so). For NVIDIA AI Enterprise the detection counts beside Kensus's own reading (pods
 * running NVAIE-gated software); other products get rows of their own.
 */
export type GpuLicenseMetric = 'per-gpu' | 'per-vgpu' | 'per-node';
const METRICS: readonly GpuLicenseMetric[] = ['per-gpu', 'per-vgpu', 'per-node'];

export type GpuDetection = { resource: string } | { imagePattern: string } | { process: string };

export interface GpuLicenseProduct {
  id: string;
  name: string;
  metric: GpuLicenseMetric;
  detection: GpuDetection[];
}

export interface GpuLicenseMap {
  skus: GpuSkuMap;
  products: GpuLicenseProduct[];
}

export const NVAIE_ID = 'nvidia-ai-enterprise';

/** Product names for the reference's ids; other ids are named by the map's `name` or the id. */
const NAMES: Record<string, string> = {
  [NVAIE_ID]: 'NVIDIA AI Enterprise',
  'nvidia-vgpu': 'NVIDIA vGPU',
  'cuda-toolkit-enterprise': 'NVIDIA CUDA Toolkit Enterprise',
};

/** Without a map: nvidia.com/vgpu is its own product, per vGPU (NVAIE is measured by nvaie.ts). */
export const DEFAULT_GPU_PRODUCTS: readonly GpuLicenseProduct[] = [{ id: 'nvidia-vgpu', name: NAMES['nvidia-vgpu'], metric: 'per-vgpu', detection: [{ resource: 'nvidia.com/vgpu' }] }];

function parseDetection(raw: unknown, where: string, file: string): GpuDetection {
  const d = raw as Record<string, unknown> | null;
  const keys = d && typeof d === 'object' ? Object.keys(d) : [];
  const value = keys.length === 1 ? d![keys[0]] : undefined;
  if (typeof value === 'string' && value) {
    if (keys[0] === 'resource') return { resource: value };
    if (keys[0] === 'image-pattern') return { imagePattern: value };
    if (keys[0] === 'process') return { process: value };
  }
  throw badInput(`GPU licence map ${file}: ${where} must be one of resource, image-pattern or process with a string`, 'e.g. - resource: nvidia.com/gpu, - image-pattern: "nvcr.io/nim/*"');
}

function parseProducts(data: Record<string, unknown>, file: string): GpuLicenseProduct[] {
  if (data.products === undefined) return [];
  if (!data.products || typeof data.products !== 'object' || Array.isArray(data.products)) {
    throw badInput(`GPU licence map ${file}: 'products' must map product ids to { metric, detection, sku-mapping }`, 'as in the reference: products: { nvidia-ai-enterprise: { metric: per-gpu, ... } }');
  }
  return Object.entries(data.products as Record<string, unknown>).map(([id, raw]) => {
    const p = (raw ?? {}) as Record<string, unknown>;
    const metric = p.metric;
    if (typeof metric !== 'string' || !METRICS.includes(metric as GpuLicenseMetric)) {
      throw badInput(`GPU licence map ${file}: products.${id}.metric: '${String(metric)}' is not one of ${METRICS.join(', ')}`, 'e.g. metric: per-gpu');
    }
    if (id === NVAIE_ID && metric !== 'per-gpu') throw badInput(`GPU licence map ${file}: products.${id}.metric must be per-gpu`, 'NVIDIA AI Enterprise is licensed per GPU');
    const detection = p.detection === undefined ? [] : p.detection;
    if (!Array.isArray(detection)) throw badInput(`GPU licence map ${file}: products.${id}.detection must be a list`, 'e.g. detection: [{ resource: nvidia.com/gpu }]');
    return {
      id,
      name: typeof p.name === 'string' && p.name ? p.name : (NAMES[id] ?? id),
      metric: metric as GpuLicenseMetric,
      detection: detection.map((d, i) => parseDetection(d, `products.${id}.detection[${i}]`, file)),
    };
  });
}

/**
 * The GPU licence map: the shipped SKUs overridden by the file's (`skus` or `sku-mapping`), and
 * the file's products with the built-in ones it does not name.
 */
export function loadGpuLicenseMap(file?: string): GpuLicenseMap {
  if (!file) return { skus: shippedGpuSkuMap(), products: [...DEFAULT_GPU_PRODUCTS] };
  const data = gpuMapDocument(readYamlFile(file, 'GPU licence map'), file);
  const skus = withSkuOverrides(skuEntriesOf(data, file));
  const products = parseProducts(data, file);
  const named = new Set(products.map((p) => p.id));
  return { skus, products: [...products, ...DEFAULT_GPU_PRODUCTS.filter((p) => !named.has(p.id))] };
}

export function describeDetection(d: GpuDetection): string {
  if ('resource' in d) return `resource ${d.resource}`;
  if ('imagePattern' in d) return `image-pattern ${d.imagePattern}`;
  return `process "${d.process}"`;
}

function requests(c: ContainerEntry, resource: string): boolean {
  const k = c.container;
  if (resource === 'nvidia.com/gpu') return k.gpus > 0 || Object.values(k.mig).some((n) => n > 0);
  if (resource === 'nvidia.com/vgpu') return k.vgpu > 0;
  if (resource.startsWith('nvidia.com/mig-')) return (k.mig[resource.slice('nvidia.com/mig-'.length)] ?? 0) > 0;
  // The cluster model keeps only the GPU resources per container (per-pod state stays small), so
  // a detection by another extended resource cannot match.
  return false;
}

/** Whether a container matches one of the product's detection rules (process rules never: not visible). */
export function detectionMatcher(product: Pick<GpuLicenseProduct, 'detection'>): (c: ContainerEntry) => boolean {
  const globs = product.detection.flatMap((d) => ('imagePattern' in d ? [new Minimatch(d.imagePattern, { nocase: true })] : []));
  const resources = product.detection.flatMap((d) => ('resource' in d ? [d.resource] : []));
  return (c) => {
    if (resources.some((r) => requests(c, r))) return true;
    if (!globs.length) return false;
    const repo = imageRepository(c.container.image);
    const last = repo.slice(repo.lastIndexOf('/') + 1);
    return globs.some((g) => g.match(repo) || g.match(last));
  };
}

function detectionNote(product: GpuLicenseProduct): string {
  const seen = product.detection.filter((d) => !('process' in d)).map(describeDetection);
  const unseen = product.detection.filter((d) => 'process' in d).map(describeDetection);
  return [
    seen.length ? `detection: ${seen.join(', ')}` : 'no detection rule Kensus can evaluate',
    ...(unseen.length ? [`${unseen.join(', ')} not evaluated (a process is not visible in the cluster's metadata)`] : []),
  ].join('; ');
}

/**
 * Usage rows of the map's products other than NVIDIA AI Enterprise:
 * - per-vgpu: vGPUs (nvidia.com/vgpu) allocated to matching pods, Running or Pending on a node
 *   (the device plugin reserved them), scope 'cluster';
 * - per-node: distinct nodes running a matching container;
 * - per-gpu: physical GPUs of the nodes running a matching container.
 */
export function gpuProductUsage(inv: Inventory, products: readonly GpuLicenseProduct[], gpusOfNode: (node: string) => number, mapFile: boolean): UsageRow[] {
  const rows: UsageRow[] = [];
  for (const product of products) {
    if (product.id === NVAIE_ID) continue;
    const matches = detectionMatcher(product);
    const hits = inv.containers.filter((c) => c.node && matches(c));
    const running = hits.filter((c) => c.running);
    const nodes = [...new Set(running.map((c) => c.node!))].sort();
    const byNamespace: Record<string, number> = {};
    const source = mapFile ? `gpu-licenses.yaml ${detectionNote(product)}` : detectionNote(product);
    const base = { productId: product.id, productName: product.name, pvu: null, cloudpakId: null, vendor: 'NVIDIA', licensable: true, nodes, byNamespace };
    if (product.metric === 'per-vgpu') {
      const bound = hits.filter((c) => c.running || c.pod.phase === 'Pending');
      for (const c of bound) byNamespace[c.pod.namespace] = (byNamespace[c.pod.namespace] ?? 0) + c.container.vgpu;
      const quantity = bound.reduce((a, c) => a + c.container.vgpu, 0);
      if (quantity === 0 && !bound.length) continue;
      rows.push({ ...base, nodes: [...new Set(bound.map((c) => c.node!))].sort(), metric: 'vgpu', quantity, scope: 'cluster', rule: `per vGPU: nvidia.com/vgpu allocated to the product's pods (Running, or Pending on a node); ${source}` });
    } else if (product.metric === 'per-node') {
      if (!nodes.length) continue;
      for (const c of running) byNamespace[c.pod.namespace] = (byNamespace[c.pod.namespace] ?? 0) + 1;
      rows.push({ ...base, metric: 'node', quantity: nodes.length, scope: 'cluster', rule: `per node: distinct nodes running the product; ${source}` });
    } else {
      if (!nodes.length) continue;
      rows.push({ ...base, metric: 'gpu', quantity: nodes.reduce((a, n) => a + gpusOfNode(n), 0), scope: 'nodes', rule: `per GPU: physical GPUs of the nodes running the product; ${source}` });
    }
  }
  return rows;
}

/** The NVIDIA AI Enterprise entry of a map: its detection, counted beside Kensus's gated products. */
export function nvaieDetection(products: readonly GpuLicenseProduct[]): { matches: (c: ContainerEntry) => boolean; describe: string } | null {
  const p = products.find((x) => x.id === NVAIE_ID);
  if (!p || p.detection.length === 0) return null;
  return { matches: detectionMatcher(p), describe: `gpu-licenses.yaml ${detectionNote(p)}` };
}
