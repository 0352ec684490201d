import type { ClusterNode } from '../cluster/model.js';
import type { NodeGpu } from '../model/report.js';
import { parse as parseYaml } from 'yaml';
import { badInput } from '../errors.js';
import { readYamlFile, shippedDataFile } from '../shipped-data.js';

/** One model → SKU entry of the GPU SKU map (src/licensing/data/gpu-skus.yaml). */
export interface GpuSkuEntry {
  model: string;
  sku: string;
  family?: string;
}

export type GpuSkuMap = GpuSkuEntry[];

function validateSkuList(skus: unknown[], file: string): GpuSkuMap {
  return skus.map((e, i) => {
    const entry = e as Partial<GpuSkuEntry> | null;
    if (!entry || typeof entry.model !== 'string' || !entry.model || typeof entry.sku !== 'string' || !entry.sku) {
      throw badInput(`GPU SKU map ${file}: skus[${i}] needs a 'model' and a 'sku' string`, 'e.g. { model: H100, sku: NVAIE-H100 }');
    }
    return { model: entry.model, sku: entry.sku, ...(typeof entry.family === 'string' ? { family: entry.family } : {}) };
  });
}

/**
 * A GPU licence map file as written: the reference's ConfigMap (flexera-gpu-license-map) or its
 * data."gpu-licenses.yaml" alone, or a plain document.
 */
export function gpuMapDocument(doc: unknown, file: string): Record<string, unknown> {
  const cm = doc as { kind?: unknown; data?: Record<string, unknown> } | null;
  if (cm?.kind === 'ConfigMap') {
    const inner = cm.data?.['gpu-licenses.yaml'];
    if (typeof inner !== 'string') throw badInput(`GPU licence map ${file}: the ConfigMap has no data."gpu-licenses.yaml"`, 'put the map under data."gpu-licenses.yaml", as the reference does');
    try {
      doc = parseYaml(inner);
    } catch (err) {
      throw badInput(`GPU licence map ${file}: data."gpu-licenses.yaml" is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax');
    }
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw badInput(`GPU licence map ${file}: not a YAML mapping`, "write skus: [{ model: H100, sku: NVAIE-H100 }] or the reference's products: { <product>: { metric, detection, sku-mapping } }");
  return doc as Record<string, unknown>;
}

/**
 * The model → SKU entries of a map: today's `skus: [{model, sku}]` list, and the reference's
 * `products.<product>.sku-mapping: { A100: "NVAIE-A100" }`.
 */
export function skuEntriesOf(data: Record<string, unknown>, file: string): GpuSkuMap {
  const out: GpuSkuMap = [];
  if (data.skus !== undefined) {
    if (!Array.isArray(data.skus)) throw badInput(`GPU SKU map ${file}: 'skus' must be a list`, 'write skus: [{ model: H100, sku: NVAIE-H100 }, ...]');
    out.push(...validateSkuList(data.skus, file));
  }
  const products = data.products;
  if (products && typeof products === 'object' && !Array.isArray(products)) {
    for (const [id, p] of Object.entries(products as Record<string, unknown>)) {
      const mapping = (p as Record<string, unknown> | null)?.['sku-mapping'];
      if (mapping === undefined) continue;
      if (!mapping || typeof mapping !== 'object' || Array.isArray(mapping)) throw badInput(`GPU licence map ${file}: products.${id}.sku-mapping must map GPU models to SKUs`, 'e.g. sku-mapping: { A100: "NVAIE-A100" }');
      for (const [model, sku] of Object.entries(mapping as Record<string, unknown>)) {
        if (typeof sku !== 'string' || !sku) throw badInput(`GPU licence map ${file}: products.${id}.sku-mapping.${model} must be a SKU string`, `e.g. ${model}: "NVAIE-${model}"`);
        out.push({ model, sku });
      }
    }
  }
  if (data.skus === undefined && data.products === undefined) {
    throw badInput(`GPU licence map ${file}: neither 'skus' nor 'products'`, "write skus: [{ model: H100, sku: NVAIE-H100 }] or the reference's products: { nvidia-ai-enterprise: { metric: per-gpu, sku-mapping: { H100: NVAIE-H100 } } }");
  }
  return out;
}

let shipped: GpuSkuMap | undefined;

/** The shipped model → SKU map (src/licensing/data/gpu-skus.yaml). */
export function shippedGpuSkuMap(): GpuSkuMap {
  if (!shipped) {
    const file = shippedDataFile('gpu-skus.yaml');
    shipped = skuEntriesOf(gpuMapDocument(readYamlFile(file, 'GPU SKU map'), file), file);
  }
  return shipped;
}

/** The shipped map with `extra` entries winning over the shipped ones of the same model. */
export function withSkuOverrides(extra: GpuSkuMap): GpuSkuMap {
  const overridden = new Set(extra.map((e) => e.model.toUpperCase()));
  return [...extra, ...shippedGpuSkuMap().filter((e) => !overridden.has(e.model.toUpperCase()))];
}

/**
 * The shipped map, or the shipped map overridden by the entries of `overrideFile` (today's
 * `skus` list or the reference's gpu-licenses.yaml with `sku-mapping`).
 */
export function loadGpuSkuMap(overrideFile?: string): GpuSkuMap {
  if (!overrideFile) return shippedGpuSkuMap();
  return withSkuOverrides(skuEntriesOf(gpuMapDocument(readYamlFile(overrideFile, 'GPU SKU map'), overrideFile), overrideFile));
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
