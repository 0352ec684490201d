import type { ClusterNode } from '../cluster/model.js';
import type { GpuSkuRow, UsageRow } from '../model/report.js';
import type { ContainerEntry, Inventory } from '../inventory/inventory.js';
import { badInput } from '../errors.js';
import { readYamlFile, shippedDataFile } from '../shipped-data.js';
import { nodeGpus, type GpuSkuMap, type NodeGpuInfo } from './gpu.js';

/**
 * NVIDIA AI Enterprise is licensed per physical GPU. Two figures are reported per SKU:
 * - 'nodes': every GPU of every node that runs NVAIE-gated software (the conservative reading:
 *   the software can use any GPU of its node);
 * - 'allocated': the GPUs allocated to the gated pods (nvidia.com/gpu limits; MIG slices
 *   converted to the physical GPUs they occupy, rounded up; time-sliced replicas divided by the
 *   replica count, rounded up), never more than the node has.
 * Running pods count, and Pending pods already bound to a node for 'allocated' (the device
 * plugin has reserved their GPUs).
 */
let shippedGated: string[] | undefined;

export function loadGatedProducts(file?: string): Set<string> {
  if (!file && shippedGated) return new Set(shippedGated);
  const path = file ?? shippedDataFile('nvaie-products.yaml');
  const data = readYamlFile(path, 'NVAIE product list') as { products?: unknown } | null;
  if (!data || !Array.isArray(data.products) || !data.products.every((p) => typeof p === 'string')) {
    throw badInput(`${path}: 'products' must be a list of product ids`, 'e.g. products: [nvidia-nim]');
  }
  if (!file) shippedGated = data.products as string[];
  return new Set(data.products as string[]);
}

export function gpusByNode(nodes: ClusterNode[], map: GpuSkuMap): Map<string, NodeGpuInfo[]> {
  return new Map(nodes.map((n) => [n.name, nodeGpus(n, map)]));
}

/**
 * The GPU inventory by SKU (`gpuSkus` of the report): every physical GPU of the cluster per SKU
 * (sku null: model unknown), licensed or not, and of them the GPUs of nodes that run
 * NVAIE-gated software (what needs an NVIDIA AI Enterprise licence by the 'nodes' reading).
 */
export function gpuSkuRows(byNode: Map<string, NodeGpuInfo[]>, gatedNodes: ReadonlyMap<string, readonly string[]> = new Map()): GpuSkuRow[] {
  const rows = new Map<string, GpuSkuRow & { products: string[]; nvaieGatedGpus: number; nvaieGatedNodes: string[] }>();
  for (const [node, gpus] of byNode) {
    for (const g of gpus) {
      const key = g.sku ?? '\u0000';
      const row = rows.get(key) ?? { sku: g.sku, gpus: 0, nodes: [], products: [], nvaieGatedGpus: 0, nvaieGatedNodes: [] };
      row.gpus += g.count;
      row.nodes.push(node);
      if (g.product && !row.products.includes(g.product)) row.products.push(g.product);
      if ((gatedNodes.get(node) ?? []).length) {
        row.nvaieGatedGpus += g.count;
        row.nvaieGatedNodes.push(node);
      }
      rows.set(key, row);
    }
  }
  return [...rows.values()]
    .map((r) => ({ ...r, nodes: [...r.nodes].sort(), nvaieGatedNodes: [...r.nvaieGatedNodes].sort() }))
    .sort((a, b) => (a.sku === null ? 1 : b.sku === null ? -1 : a.sku.localeCompare(b.sku)));
}

/** Physical GPUs a pod's allocation occupies on a node. */
export function allocatedPhysicalGpus(
  alloc: { gpus: number; mig: Record<string, number>; vgpu: number },
  gpu: NodeGpuInfo | undefined,
): number {
  if (!gpu) return alloc.gpus;
  let n = 0;
  const replicas = gpu.replicas && gpu.replicas > 1 ? gpu.replicas : 1;
  if (alloc.gpus > 0) {
    // Single-strategy MIG advertises MIG devices as nvidia.com/gpu: convert them like slices.
    if (gpu.migStrategy === 'single' && gpu.advertised > gpu.count && gpu.count > 0) n += (alloc.gpus * gpu.count) / gpu.advertised;
    else n += alloc.gpus / replicas;
  }
  const slices = Object.values(alloc.mig).reduce((a, b) => a + b, 0);
  const migDevices = Object.values(gpu.mig ?? {}).reduce((a, b) => a + b, 0);
  if (slices > 0) n += migDevices > 0 && gpu.count > 0 ? (slices * gpu.count) / migDevices : slices;
  if (alloc.vgpu > 0) n += alloc.vgpu;
  return Math.min(gpu.count, Math.ceil(n - 1e-9));
}

export interface NvaieResult {
  usage: UsageRow[];
  /** Per node: the gated products it runs. */
  gatedNodes: Map<string, string[]>;
}

/** Containers that count as NVAIE use beside the gated products (a GPU licence map's detection). */
export interface NvaieDetection {
  matches: (c: ContainerEntry) => boolean;
  /** For the rule text, e.g. "gpu-licenses.yaml detection: resource nvidia.com/gpu". */
  describe: string;
}

/** What a detection-matched container with no gated product is listed as among gatedProducts. */
export const MAP_DETECTED = 'gpu-licenses.yaml detection';

export function nvaieUsage(inv: Inventory, byNode: Map<string, NodeGpuInfo[]>, gated: ReadonlySet<string>, detection: NvaieDetection | null = null): NvaieResult {
  const gatedNodes = new Map<string, string[]>();
  // Allocated physical GPUs per node and namespace: summed per node first, so that two pods on
  // slices of the same GPU count that GPU once, then capped by the node's GPUs.
  const allocByNode = new Map<string, { gpus: number; mig: Record<string, number>; vgpu: number; ns: Map<string, number> }>();
  const seenPods = new Set<string>();
  for (const c of inv.containers) {
    const gatedHere = c.products.filter((p) => gated.has(p.id)).map((p) => p.id);
    if (gatedHere.length === 0 && detection?.matches(c)) gatedHere.push(MAP_DETECTED);
    if (gatedHere.length === 0 || !c.node) continue;
    if (c.running) {
      const list = gatedNodes.get(c.node) ?? [];
      for (const id of gatedHere) if (!list.includes(id)) list.push(id);
      gatedNodes.set(c.node, list);
    }
    const bound = c.running || c.pod.phase === 'Pending';
    const podKey = `${c.pod.namespace}/${c.pod.name}/${c.container.name}`;
    if (!bound || seenPods.has(podKey)) continue;
    seenPods.add(podKey);
    const a = allocByNode.get(c.node) ?? { gpus: 0, mig: {} as Record<string, number>, vgpu: 0, ns: new Map<string, number>() };
    a.gpus += c.container.gpus;
    a.vgpu += c.container.vgpu;
    for (const [p, n] of Object.entries(c.container.mig)) a.mig[p] = (a.mig[p] ?? 0) + n;
    const own = allocatedPhysicalGpus({ gpus: c.container.gpus, mig: c.container.mig, vgpu: c.container.vgpu }, byNode.get(c.node)?.[0]);
    if (own > 0) a.ns.set(c.pod.namespace, (a.ns.get(c.pod.namespace) ?? 0) + own);
    allocByNode.set(c.node, a);
  }

  interface Acc { nodes: Set<string>; gpus: number; byNamespace: Record<string, number>; products: Set<string> }
  const nodeAcc = new Map<string, Acc>();
  const allocAcc = new Map<string, Acc>();
  const acc = (m: Map<string, Acc>, sku: string | null) => {
    const k = sku ?? '\u0000';
    let a = m.get(k);
    if (!a) m.set(k, (a = { nodes: new Set(), gpus: 0, byNamespace: {}, products: new Set() }));
    return a;
  };
  for (const [node, products] of gatedNodes) {
    for (const g of byNode.get(node) ?? []) {
      const a = acc(nodeAcc, g.sku);
      a.nodes.add(node);
      a.gpus += g.count;
      products.forEach((p) => a.products.add(p));
    }
  }
  for (const [node, alloc] of allocByNode) {
    const g = byNode.get(node)?.[0];
    const n = allocatedPhysicalGpus(alloc, g);
    if (n === 0) continue;
    const a = acc(allocAcc, g?.sku ?? null);
    a.nodes.add(node);
    a.gpus += n;
    for (const [ns, k] of alloc.ns) a.byNamespace[ns] = (a.byNamespace[ns] ?? 0) + k;
    (gatedNodes.get(node) ?? []).forEach((p) => a.products.add(p));
  }
  const usage: UsageRow[] = [];
  const emit = (m: Map<string, Acc>, scope: 'nodes' | 'allocated', rule: string) => {
    // Known SKUs by name, the unknown model last.
    for (const [k, a] of [...m.entries()].sort(([x], [y]) => (x === '\u0000' ? 1 : y === '\u0000' ? -1 : x.localeCompare(y)))) {
      const sku = k === '\u0000' ? null : k;
      usage.push({
        productId: 'nvidia-ai-enterprise',
        productName: 'NVIDIA AI Enterprise',
        metric: 'gpu',
        quantity: a.gpus,
        pvu: null,
        scope,
        cloudpakId: null,
        rule: sku ? `${rule} (${sku})` : `${rule}; GPU model unknown (no nvidia.com/gpu.product label): SKU not determined`,
        vendor: 'NVIDIA',
        licensable: true,
        sku,
        nodes: [...a.nodes].sort(),
        byNamespace: a.byNamespace,
        gatedProducts: [...a.products].sort(),
      });
    }
  };
  const also = detection ? `; also counted: pods matching ${detection.describe}` : '';
  emit(nodeAcc, 'nodes', `per GPU: every physical GPU of each node running NVAIE-gated software${also}`);
  emit(allocAcc, 'allocated', `per GPU: physical GPUs allocated to NVAIE-gated pods (MIG slices and shared replicas rounded up to whole GPUs)${also}`);
  return { usage, gatedNodes };
}
