import type { ClusterNode } from '../cluster/model.js';
import type { NodeGpu } from '../model/report.js';
import { badInput } from '../errors.js';
import { readYamlFile, shippedDataFile } from '../shipped-data.js';

/** One model → SKU entry of the GPU SKU map (src/licensing/data/gpu-skus.yaml). */
export interface GpuSkuEntry {
  model: string;
  sku: string;
  family?: string;
}

export type GpuSkuMap = GpuSkuEntry[];

function validateSkuMap(data: unknown, file: string): GpuSkuMap {
  const skus = (data as { skus?: unknown } | null)?.skus;
  if (!Array.isArray(skus)) throw badInput(`GPU SKU map ${file}: missing 'skus' list`, 'write skus: [{ model: H100, sku: NVAIE-H100 }, ...]');
  return skus.map((e, i) => {
    const entry = e as Partial<GpuSkuEntry> | null;
    if (!entry || typeof entry.model !== 'string' || !entry.model || typeof entry.sku !== 'string' || !entry.sku) {
      throw badInput(`GPU SKU map ${file}: skus[${i}] needs a 'model' and a 'sku' string`, 'e.g. { model: H100, sku: NVAIE-H100 }');
    }
    return { model: entry.model, sku: entry.sku, ...(typeof entry.family === 'string' ? { family: entry.family } : {}) };
  });
}

let shipped: GpuSkuMap | undefined;

/** The shipped map, or the shipped map overridden by the entries of `overrideFile`. */
export function loadGpuSkuMap(overrideFile?: string): GpuSkuMap {
  if (!shipped) {
    const file = shippedDataFile('gpu-skus.yaml');
    shipped = validateSkuMap(readYamlFile(file, 'GPU SKU map'), file);
  }
  if (!overrideFile) return shipped;
  const extra = validateSkuMap(readYamlFile(overrideFile, 'GPU SKU map'), overrideFile);
  const overridden = new Set(extra.map((e) => e.model.toUpperCase()));
  return [...extra, ...shipped.filter((e) => !overridden.has(e.model.toUpperCase()))];
}

/**
 * The model tokens of a GPU product label. GFD spells products like "NVIDIA-H100-80GB-HBM3",
 * "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb" (single MIG strategy), "NVIDIA-L40S-SHARED" (time-slicing),
 * "Tesla-V100-SXM2-16GB", "NVIDIA GeForce RTX 4090".
 */
export function gpuModelTokens(product: string): string[] {
  let p = product.trim().toUpperCase();
  p = p.replace(/-MIG-.*$/, '').replace(/-SHARED$/, '');
  return p
    .split(/[\s_\-/]+/)
    .filter((t) => t && t !== 'NVIDIA' && t !== 'TESLA');
}

/** The SKU of a GPU product label, or null when no model token is in the map (never guessed). */
export function skuForProduct(product: string | null | undefined, map: GpuSkuMap): GpuSkuEntry | null {
  if (!product) return null;
  const tokens = gpuModelTokens(product);
  // Whole-token equality: "A10" must not match "A100", "L40" must not match "L40S".
  for (const token of tokens) {
    const hit = map.find((e) => e.model.toUpperCase() === token);
    if (hit) return hit;
  }
  return null;
}

const L = 'nvidia.com/';

export interface NodeGpuInfo extends NodeGpu {
  /** Physical GPUs (what NVIDIA AI Enterprise counts). */
  count: number;
  /** Schedulable GPU devices the device plugin advertises (MIG devices or shared replicas). */
  advertised: number;
  memoryMiB: number | null;
  family: string | null;
  migStrategy: string | null;
  replicas: number | null;
  sharing: string | null;
  vgpu: number;
  /** Where the physical count came from. */
  countSource: 'gfd-label' | 'capacity' | 'capacity/replicas' | 'vgpu';
}

function intLabel(labels: Record<string, string>, key: string): number | null {
  const v = labels[key];
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * The GPUs of a node: physical count from the GFD label nvidia.com/gpu.count when present,
 * else from nvidia.com/gpu capacity (divided by gpu.replicas when GPUs are time-sliced).
 * MIG resources (nvidia.com/mig-<profile>) are kept as details of the physical GPUs.
 * Returns [] for a node without NVIDIA GPUs.
 */
export function nodeGpus(node: ClusterNode, map: GpuSkuMap): NodeGpuInfo[] {
  const labels = node.labels;
  const product = labels[`${L}gpu.product`] ?? null;
  const labelCount = intLabel(labels, `${L}gpu.count`);
  const replicas = intLabel(labels, `${L}gpu.replicas`);
  const migTotal = Object.values(node.mig).reduce((a, b) => a + b, 0);
  const advertised = node.gpuCapacity + migTotal;
  let count: number;
  let countSource: NodeGpuInfo['countSource'];
  if (labelCount !== null && (product !== null || advertised > 0)) {
    count = labelCount;
    countSource = 'gfd-label';
  } else if (node.gpuCapacity > 0 && replicas && replicas > 1) {
    count = Math.ceil(node.gpuCapacity / replicas);
    countSource = 'capacity/replicas';
  } else if (node.gpuCapacity > 0) {
    count = node.gpuCapacity;
    countSource = 'capacity';
  } else if (node.vgpu > 0) {
    count = node.vgpu;
    countSource = 'vgpu';
  } else {
    return [];
  }
  const sku = skuForProduct(product, map);
  const info: NodeGpuInfo = {
    product,
    count,
    sku: sku?.sku ?? null,
    advertised,
    memoryMiB: intLabel(labels, `${L}gpu.memory`),
    family: labels[`${L}gpu.family`] ?? sku?.family ?? null,
    migStrategy: labels[`${L}mig.strategy`] ?? null,
    replicas,
    sharing: labels[`${L}gpu.sharing-strategy`] ?? (replicas && replicas > 1 ? 'time-slicing' : null),
    vgpu: node.vgpu,
    countSource,
  };
  if (migTotal > 0) info.mig = { ...node.mig };
  return [info];
}
