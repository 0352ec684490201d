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
 * - Cloud Pak ratios "N:M" convert N program cores into M Cloud Pak cores, except in Cloud Pak
 *   for Data ("Cloud Paks (other than Cloud Pak for Data) take into account Cloud Pak ratios");
 * - a program deployed without License Service annotations is "charged for all cores in the
 *   entire cluster": that exposure is reported beside its container figure (scope full-capacity).
 * Only Running pods count (License Service measures deployed, running pods).
 *
 * "Any pod which contains a container without a CPU limit is considered to have vCPU capacity
 * equal to the worker node capacity": License Service reads it for the charged containers
 * (productChargedContainers) only, the default here; `strictNoLimit` takes it literally, any
 * container of the pod. Every rule text says which reading was used.
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
export function ibmPodMilli(pod: ClusterPod, ann: IbmAnnotations, nodeCapacityMilli: number | null, strictNoLimit = false): number {
  if (strictNoLimit && nodeCapacityMilli !== null && pod.containers.some((c) => !c.init && c.cpuLimitMilli === null)) return nodeCapacityMilli;
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
  podNames: string[];
  namespaces: Set<string>;
}

/** The Cloud Pak that takes no ratio (the reference: "Cloud Paks (other than Cloud Pak for Data)"). */
export const CLOUD_PAK_FOR_DATA_ID = 'eb9998dcc5d24e3eb5b6fb488f750fe2';

export function isCloudPakForData(ann: Pick<IbmAnnotations, 'cloudpakId' | 'cloudpakName'>): boolean {
  return ann.cloudpakId === CLOUD_PAK_FOR_DATA_ID || /\bCloud Pak for Data\b/i.test(ann.cloudpakName ?? '');
}

export interface IbmUsageOptions {
  /** Pod phases that count (default: Running only, as License Service does). */
  phases?: string[];
  /**
   * The IBM programs of a pod. Default: its licensing annotations. The cluster scan adds programs
   * that the image scan found in pods without annotations (see `programsFromFindings`).
   */
  programsOf?: (pod: ClusterPod) => IbmAnnotations[];
  /** True for programs found in pods without License Service annotations (their full-capacity exposure is reported). */
  withoutAnnotations?: (program: IbmAnnotations) => boolean;
  /** The reference's literal no-limit rule: any container of the pod, not only charged ones. */
  strictNoLimit?: boolean;
}

function annotatedPrograms(pod: ClusterPod): IbmAnnotations[] {
  const ann = parseIbmAnnotations(pod.annotations);
  return ann ? [ann] : [];
}

const rounding = 'summed across the cluster, rounded up, minimum 1 core';

function noLimitReading(strict: boolean): string {
  return strict
    ? "any container of the pod without a CPU limit gives the pod the node capacity (the reference's literal rule, strict reading)"
    : 'a charged container without a CPU limit counts the node capacity (as IBM License Service reads it; uncharged sidecars do not)';
}

/**
 * Usage rows for every IBM program found in pod annotations: standalone products (scope
 * 'cluster'), Cloud Pak bundled products (scope 'bundled-product', counting toward their Cloud
 * Pak) and Cloud Paks (scope 'cloudpak').
 */
export function ibmUsage(model: ClusterModel, opts: IbmUsageOptions = {}): UsageRow[] {
  const phases = opts.phases ?? ['Running'];
  const strict = opts.strictNoLimit === true;
  const reading = noLimitReading(strict);
  const clusterMilli = model.nodes.reduce((a, n) => a + n.cpuCapacityMilli, 0);
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
    if (!p) programs.set(key, (p = { ann, perNode: new Map(), pods: 0, podNames: [], namespaces: new Set() }));
    p.pods++;
    p.podNames.push(`${pod.namespace}/${pod.name}`);
    p.namespaces.add(pod.namespace);
    const slot = p.perNode.get(nodeName) ?? { milli: 0, capacity };
    slot.milli += ibmPodMilli(pod, ann, capacity, strict);
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
      const unannotated = opts.withoutAnnotations?.(ann) === true;
      rows.push({
        ...measured,
        scope: 'cluster',
        cloudpakId: null,
        rule: `IBM container licensing: charged containers' CPU limits; ${reading}; capped per node, ${rounding}; ${PVU_PER_CORE} PVU per core${unannotated ? '; found without License Service annotations: see the full-capacity row' : ''}`,
        vendor: 'IBM',
        cores,
        ...common,
      });
      if (unannotated) rows.push(fullCapacityRow(ann, p, clusterMilli, model.nodes.length));
      continue;
    }
    const cp4d = isCloudPakForData(ann);
    const [n, m] = cp4d ? [1, 1] : (ann.cloudpakRatio ?? [1, 1]);
    const converted = Math.round(((cores * m) / n) * 1e6) / 1e6;
    const ratioNote = cp4d
      ? `; IBM Cloud Pak for Data takes no ratio: counted 1:1${ann.cloudpakRatio && ann.cloudpakRatio.join(':') !== '1:1' ? ` (the pods say ${ann.cloudpakRatio.join(':')})` : ''}`
      : `; converted ${n}:${m} into the Cloud Pak`;
    rows.push({
      ...measured,
      scope: 'bundled-product',
      cloudpakId: ann.cloudpakId,
      rule: `IBM Cloud Pak bundled solution: charged containers' CPU limits; ${reading}; capped per node, ${rounding}${ratioNote}`,
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

/**
 * What IBM charges a program deployed without License Service tracking: "all cores in the entire
 * cluster" (containers can be spun up on any node), every node's capacity, rounded up.
 */
function fullCapacityRow(ann: IbmAnnotations, p: Program, clusterMilli: number, nodes: number): UsageRow {
  const cores = roundClusterCores(clusterMilli);
  const pvuMetric = ann.productMetric === 'PROCESSOR_VALUE_UNIT';
  const pods = p.podNames.slice(0, 10).join(', ') + (p.podNames.length > 10 ? `, ${p.podNames.length - 10} more` : '');
  return {
    productId: ann.productId,
    productName: ann.productName,
    metric: ann.productMetric,
    quantity: pvuMetric ? cores * PVU_PER_CORE : cores,
    pvu: cores * PVU_PER_CORE,
    scope: 'full-capacity',
    cloudpakId: null,
    rule: `exposure: deployed without IBM License Service annotations (${pods}), so it is not tracked by IBM License Service, and customers not in compliance are "charged for all cores in the entire cluster": ${clusterMilli / 1000} vCPU on ${nodes} node(s), rounded up, ${PVU_PER_CORE} PVU per core; add the annotations to be charged the container figure instead`,
    vendor: 'IBM',
    cores,
    exposure: true,
    namespaces: [...p.namespaces].sort(),
    pods: p.pods,
    nodes: [...p.perNode.keys()].sort(),
  };
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
