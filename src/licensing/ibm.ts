import type { ClusterModel, ClusterNode, ClusterPod } from '../cluster/model.js';
import type { UsageRow } from '../model/report.js';
import { parseIbmAnnotations, type IbmAnnotations } from '../cluster/ibm-annotations.js';

/**
 * IBM container licensing, as IBM License Service counts it
 * (/work/shared/reference/ibm-container-licensing.txt):
 * - a program's pod capacity is the sum of its charged containers' CPU limits; a charged
 *   container without a CPU limit makes the pod count the whole node capacity;
 * - per node, a program's pods together count at most the node capacity (capping);
 * - the capped per-node figures are summed across the cluster and rounded UP once, at cluster
 *   level (for Cloud Paks: per Bundled Solution, i.e. per program inside the Cloud Pak);
 * - minimum one core; 70 PVU per core;
 * - Cloud Pak ratios "N:M" convert N program cores into M Cloud Pak cores.
 * Only Running pods count (License Service measures deployed, running pods).
 */
export const PVU_PER_CORE = 70;

/** Metrics measured from CPU capacity. */
export function isCoreMetric(metric: string): boolean {
  return metric === 'VIRTUAL_PROCESSOR_CORE' || metric === 'PROCESSOR_VALUE_UNIT';
}

/**
 * The vCPU capacity (millicores) one pod counts for its program on its node: the charged
 * containers' CPU limits, or the node capacity when one of them has no limit; never more than
 * the node capacity.
 */
export function ibmPodMilli(pod: ClusterPod, ann: IbmAnnotations, nodeCapacityMilli: number | null): number {
  const charged = pod.containers.filter(
    (c) => !c.init && (ann.chargedContainers === 'All' || ann.chargedContainers.includes(c.name)),
  );
  let sum = 0;
  for (const c of charged) {
    // A node outside the model (filtered out, or gone): limits are all we can count.
    if (c.cpuLimitMilli === null) {
      if (nodeCapacityMilli !== null) return nodeCapacityMilli;
      continue;
    }
    sum += c.cpuLimitMilli;
  }
  return nodeCapacityMilli === null ? sum : Math.min(sum, nodeCapacityMilli);
}

/** Round up at cluster level with a minimum of one core (millicores → whole cores). */
export function roundClusterCores(milli: number): number {
  return Math.max(1, Math.ceil(milli / 1000));
}

/** Per-node capping, then the cluster sum in millicores. */
export function cappedClusterMilli(perNode: Map<string, { milli: number; capacity: number | null }>): number {
  let total = 0;
  for (const { milli, capacity } of perNode.values()) total += capacity === null ? milli : Math.min(milli, capacity);
  return total;
}

interface Program {
  ann: IbmAnnotations;
  perNode: Map<string, { milli: number; capacity: number | null }>;
  pods: number;
  namespaces: Set<string>;
}

export interface IbmUsageOptions {
  /** Pod phases that count (default: Running only, as License Service does). */
  phases?: string[];
  /**
   * The IBM programs of a pod. Default: its licensing annotations. The cluster scan adds programs
   * that the image scan found in pods without annotations (see `programsFromFindings`).
   */
  programsOf?: (pod: ClusterPod) => IbmAnnotations[];
}

function annotatedPrograms(pod: ClusterPod): IbmAnnotations[] {
  const ann = parseIbmAnnotations(pod.annotations);
  return ann ? [ann] : [];
}

const rounding = 'summed across the cluster, rounded up, minimum 1 core';

/**
 * Usage rows for every IBM program found in pod annotations: standalone products (scope
 * 'cluster'), Cloud Pak bundled products (scope 'bundled-product', counting toward their Cloud
 * Pak) and Cloud Paks (scope 'cloudpak').
 */
export function ibmUsage(model: ClusterModel, opts: IbmUsageOptions = {}): UsageRow[] {
  const phases = opts.phases ?? ['Running'];
  const nodes = new Map<string, ClusterNode>(model.nodes.map((n) => [n.name, n]));
  const programs = new Map<string, Program>();
  for (const pod of model.pods) {
    if (!phases.includes(pod.phase) || !pod.nodeName) continue;
    for (const ann of (opts.programsOf ?? annotatedPrograms)(pod)) addPod(pod, pod.nodeName, ann);
  }
  function addPod(pod: ClusterPod, nodeName: string, ann: IbmAnnotations): void {
    const node = nodes.get(nodeName);
    const capacity = node ? node.cpuCapacityMilli : null;
    const key = [ann.cloudpakId ?? '', ann.productId, ann.productMetric].join('\u0000');
    let p = programs.get(key);
    if (!p) programs.set(key, (p = { ann, perNode: new Map(), pods: 0, namespaces: new Set() }));
    p.pods++;
    p.namespaces.add(pod.namespace);
    const slot = p.perNode.get(nodeName) ?? { milli: 0, capacity };
    slot.milli += ibmPodMilli(pod, ann, capacity);
    p.perNode.set(nodeName, slot);
  }

  const rows: UsageRow[] = [];
  const paks = new Map<string, { ann: IbmAnnotations; converted: number; parts: string[] }>();
  for (const p of [...programs.values()].sort((a, b) => a.ann.productName.localeCompare(b.ann.productName))) {
    const { ann } = p;
    const measuredMilli = cappedClusterMilli(p.perNode);
    const common = {
      namespaces: [...p.namespaces].sort(),
      pods: p.pods,
      nodes: [...p.perNode.keys()].sort(),
      measuredCores: measuredMilli / 1000,
    };
    if (!isCoreMetric(ann.productMetric)) {
      // License Service cannot measure these from CPU; we report the running pods as instances.
      rows.push({
        productId: ann.productId,
        productName: ann.productName,
        metric: ann.productMetric,
        quantity: p.pods,
        pvu: null,
        scope: ann.cloudpakId ? 'bundled-product' : 'cluster',
        cloudpakId: ann.cloudpakId,
        rule: `IBM ${ann.productMetric}: not measured from CPU; running pods counted as instances`,
        vendor: 'IBM',
        ...common,
      });
      continue;
    }
    const cores = roundClusterCores(measuredMilli);
    const pvuMetric = ann.productMetric === 'PROCESSOR_VALUE_UNIT';
    // What a program measured from CPU reports, standalone or bundled in a Cloud Pak.
    const measured = {
      productId: ann.productId,
      productName: ann.productName,
      metric: ann.productMetric,
      quantity: pvuMetric ? cores * PVU_PER_CORE : cores,
      pvu: cores * PVU_PER_CORE,
    };
    if (!ann.cloudpakId) {
      rows.push({
        ...measured,
        scope: 'cluster',
        cloudpakId: null,
        rule: `IBM container licensing: charged containers' CPU limits (node capacity without a limit), capped per node, ${rounding}; ${PVU_PER_CORE} PVU per core`,
        vendor: 'IBM',
        cores,
        ...common,
      });
      continue;
    }
    const [n, m] = ann.cloudpakRatio ?? [1, 1];
    const converted = Math.round(((cores * m) / n) * 1e6) / 1e6;
    rows.push({
      ...measured,
      scope: 'bundled-product',
      cloudpakId: ann.cloudpakId,
      rule: `IBM Cloud Pak bundled solution: capped per node, ${rounding}; converted ${n}:${m} into the Cloud Pak`,
      vendor: 'IBM',
      cores,
      cloudpakName: ann.cloudpakName,
      cloudpakVersion: ann.cloudpakVersion,
      cloudpakMetric: ann.cloudpakMetric ?? ann.productMetric,
      metricConversion: `${n}:${m}`,
      metricMeasuredQuantity: cores,
      metricConvertedQuantity: converted,
      ...common,
    });
    const pak = paks.get(ann.cloudpakId) ?? { ann, converted: 0, parts: [] };
    pak.converted += converted;
    pak.parts.push(`${ann.productName} ${cores}/${n}*${m}=${converted}`);
    paks.set(ann.cloudpakId, pak);
  }
  for (const [id, pak] of paks) {
    const metric = pak.ann.cloudpakMetric ?? pak.ann.productMetric;
    // Sum of converted quantities; ceil with a small tolerance for float noise (3.0000000001).
    const cores = Math.max(1, Math.ceil(pak.converted - 1e-9));
    rows.push({
      productId: id,
      productName: pak.ann.cloudpakName ?? id,
      metric,
      quantity: metric === 'PROCESSOR_VALUE_UNIT' ? cores * PVU_PER_CORE : cores,
      pvu: cores * PVU_PER_CORE,
      scope: 'cloudpak',
      cloudpakId: id,
      rule: `IBM Cloud Pak: sum of bundled products after ratios (${pak.parts.join(' + ')}), rounded up, minimum 1 core`,
      vendor: 'IBM',
      cores,
      cloudpakVersion: pak.ann.cloudpakVersion,
    });
  }
  return rows;
}

export interface UsageSample {
  at: string | Date;
  usage: UsageRow[];
}

/**
 * Daily peak (high-water mark) per UTC day of each usage row (product, metric, scope, SKU, Cloud
 * Pak): IBM charges the highest point of the period, so a day's figure is its largest sample.
 * The SKU is part of the figure: NVIDIA AI Enterprise has one row per GPU SKU.
 */
export function dailyPeak(samples: UsageSample[]): Array<UsageRow & { date: string }> {
  const best = new Map<string, UsageRow & { date: string }>();
  for (const s of samples) {
    const date = new Date(s.at).toISOString().slice(0, 10);
    for (const row of s.usage) {
      const key = [date, row.productId, row.metric, row.scope, typeof row.sku === 'string' ? row.sku : '', row.cloudpakId ?? ''].join('\u0000');
      const prev = best.get(key);
      if (!prev || row.quantity > prev.quantity) best.set(key, { ...row, date });
    }
  }
  return [...best.values()].sort((a, b) => a.date.localeCompare(b.date) || a.productId.localeCompare(b.productId));
}
