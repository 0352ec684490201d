import type { ClusterNode } from '../cluster/model.js';
import type { UsageRow } from '../model/report.js';
import type { ContainerEntry, Inventory } from '../inventory/inventory.js';
import { badInput } from '../errors.js';
import { readYamlFile, shippedDataFile } from '../shipped-data.js';
import { nodeHtFactor } from './openshift.js';
import type { NodeGpuInfo } from './gpu.js';
import { isCoreMetric as isIbmContainerMetric } from './ibm.js';

/**
 * Kensus's own metrics for products found in images and containers:
 * - instance: running containers with the product (a pod with two such containers is two);
 * - node: distinct nodes running it;
 * - core: Oracle-style processor licences: for every node running it, physical cores
 *   (vCPU / hyperthreading factor) × the architecture's core factor; summed, rounded up once;
 * - gpu: physical GPUs of the nodes running it.
 * Only Running pods count: a Pending pod runs nothing, a Succeeded one no longer does.
 * IBM products that declare themselves by annotation are measured by src/licensing/ibm.ts.
 */
export type KensusMetric = 'instance' | 'node' | 'core' | 'gpu';

/** Maps a signature's licenseMetric to the metric Kensus computes for it. */
export function kensusMetricOf(licenseMetric: string): KensusMetric {
  const m = licenseMetric.toLowerCase();
  if (m.includes('gpu')) return 'gpu';
  if (m.includes('core') || m.includes('processor') || m.includes('cpu') || m.includes('socket')) return 'core';
  if (m.includes('node') || m.includes('host')) return 'node';
  // per-instance, per-server (a mongod is a server), per-shard, per-employee...: the running
  // containers are what the cluster can show; the rule text names the product's own metric.
  return 'instance';
}

export interface CoreFactorTable {
  default: number;
  architectures: Record<string, number>;
}

let shippedFactors: CoreFactorTable | undefined;

export function loadCoreFactors(file?: string): CoreFactorTable {
  const path = file ?? shippedDataFile('core-factors.yaml');
  if (!file && shippedFactors) return shippedFactors;
  const data = readYamlFile(path, 'core factor') as Partial<CoreFactorTable> | null;
  const archs = data?.architectures ?? {};
  const def = data?.default ?? 1;
  if (typeof def !== 'number' || def <= 0 || typeof archs !== 'object') {
    throw badInput(`core factor file ${path}: 'default' must be a positive number and 'architectures' a map`, 'e.g. default: 1.0, architectures: { amd64: 0.5 }');
  }
  for (const [k, v] of Object.entries(archs)) {
    if (typeof v !== 'number' || v <= 0) throw badInput(`core factor file ${path}: architectures.${k} must be a positive number`, 'e.g. amd64: 0.5');
  }
  const table = { default: def, architectures: archs as Record<string, number> };
  if (!file) shippedFactors = table;
  return table;
}

export const CORE_FACTOR_KEY = 'kensus.io/core-factor';

export function nodeCoreFactor(node: ClusterNode, table: CoreFactorTable): number {
  const raw = node.labels[CORE_FACTOR_KEY] ?? node.annotations[CORE_FACTOR_KEY];
  const n = raw === undefined ? NaN : Number(raw);
  if (Number.isFinite(n) && n > 0) return n;
  return table.architectures[node.architecture ?? ''] ?? table.default;
}

export interface ProductMetricOptions {
  coreFactors?: CoreFactorTable;
  htFactor?: number;
  gpusByNode?: Map<string, NodeGpuInfo[]>;
  /** Products measured elsewhere (the NVIDIA AI Enterprise gated ones, src/licensing/nvaie.ts). */
  exclude?: ReadonlySet<string>;
}

interface Group {
  id: string;
  name: string;
  vendor: string;
  metric: KensusMetric;
  licensable: boolean | null;
  entries: ContainerEntry[];
}

/** Usage rows for products found in containers (IBM annotation products excluded). */
export function productUsage(inv: Inventory, opts: ProductMetricOptions = {}): UsageRow[] {
  const factors = opts.coreFactors ?? loadCoreFactors();
  const nodes = new Map(inv.model.nodes.map((n) => [n.name, n]));
  const groups = new Map<string, Group>();
  for (const c of inv.containers) {
    if (!c.running) continue;
    for (const p of c.products) {
      if (p.evidence.some((e) => e.kind === 'annotation' && e.rule.startsWith('ibm-license-annotations/'))) continue;
      if (opts.exclude?.has(p.id)) continue;
      // Free editions need no licence; IBM programs are measured by the IBM container rules.
      if (p.licensable === false || isIbmContainerMetric(p.licenseMetric)) continue;
      const metric = kensusMetricOf(p.licenseMetric);
      const g = groups.get(p.id) ?? { id: p.id, name: p.product, vendor: p.vendor, metric, licensable: p.licensable, entries: [] };
      // One edition licensable is enough for the product to need a licence.
      if (p.licensable === true) g.licensable = true;
      g.entries.push(c);
      groups.set(p.id, g);
    }
  }
  const rows: UsageRow[] = [];
  for (const g of [...groups.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const nodeNames = [...new Set(g.entries.map((e) => e.node).filter((n): n is string => !!n))].sort();
    const byNamespace: Record<string, number> = {};
    for (const e of g.entries) byNamespace[e.pod.namespace] = (byNamespace[e.pod.namespace] ?? 0) + 1;
    const base = { productId: g.id, productName: g.name, pvu: null, cloudpakId: null, vendor: g.vendor, licensable: g.licensable, nodes: nodeNames, byNamespace, instances: g.entries.length };
    if (g.metric === 'instance') {
      const own = g.entries[0].products.find((p) => p.id === g.id)?.licenseMetric ?? 'per-instance';
      const note = /instance/i.test(own) ? '' : ` (the product is licensed ${own}; Kensus reports the running instances)`;
      rows.push({ ...base, metric: 'instance', quantity: g.entries.length, scope: 'cluster', rule: `running containers with the product${note}` });
    } else if (g.metric === 'node') {
      rows.push({ ...base, metric: 'node', quantity: nodeNames.length, scope: 'cluster', rule: 'distinct nodes running the product' });
    } else if (g.metric === 'core') {
      let weighted = 0;
      const parts: string[] = [];
      for (const name of nodeNames) {
        const n = nodes.get(name);
        if (!n) continue;
        const ht = nodeHtFactor(n, opts.htFactor ?? 2);
        const cores = Math.ceil(n.cpuCapacityMilli / 1000 / ht - 1e-9);
        const f = nodeCoreFactor(n, factors);
        weighted += cores * f;
        parts.push(`${name} ${cores}×${f}`);
      }
      rows.push({
        ...base,
        metric: 'core',
        quantity: nodeNames.length ? Math.max(1, Math.ceil(weighted - 1e-9)) : 0,
        scope: 'cluster',
        rule: `processor licences: physical cores of every node running it × core factor (${parts.join(' + ') || 'no node'}), rounded up; containers do not limit it (no hard partitioning)`,
        weightedCores: weighted,
      });
    } else {
      const gpus = nodeNames.reduce((a, n) => a + (opts.gpusByNode?.get(n) ?? []).reduce((s, g2) => s + g2.count, 0), 0);
      rows.push({ ...base, metric: 'gpu', quantity: gpus, scope: 'cluster', rule: 'physical GPUs of the nodes running the product' });
    }
  }
  return rows;
}
