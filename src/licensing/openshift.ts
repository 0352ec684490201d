import type { ClusterModel, ClusterNode } from '../cluster/model.js';
import type { UsageRow } from '../model/report.js';

/**
 * Red Hat OpenShift subscriptions from node CPU
 * (/work/shared/reference/flexera-kubernetes-license-management.txt, step 4):
 * physical cores = vCPU / hyperthreading factor (default 2, per node override), and one
 * 2-core subscription ("core pair") per two physical cores. By default only worker nodes count
 * ("Some Red Hat agreements count only worker nodes — exclude control plane"); a control-plane
 * node that is also labelled worker (compact clusters run workloads there) counts as a worker.
 */
export const HT_FACTOR_KEY = 'kensus.io/hyperthreading-factor';

export interface OpenShiftOptions {
  /** Count control-plane nodes too (default false). */
  allNodes?: boolean;
  /** vCPUs per physical core (default 2). Per node: label or annotation kensus.io/hyperthreading-factor. */
  htFactor?: number;
}

export interface OpenShiftNodeCount {
  node: string;
  vcpu: number;
  htFactor: number;
  cores: number;
  counted: boolean;
  reason: string;
}

export function nodeHtFactor(node: ClusterNode, fallback = 2): number {
  const raw = node.labels[HT_FACTOR_KEY] ?? node.annotations[HT_FACTOR_KEY];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 1 ? n : fallback;
}

/** A node runs workloads for licensing purposes: a worker, or anything that is not control plane. */
export function isWorker(node: ClusterNode): boolean {
  return node.roles.includes('worker') || !node.controlPlane;
}

export function openshiftNodeCounts(model: ClusterModel, opts: OpenShiftOptions = {}): OpenShiftNodeCount[] {
  return model.nodes.map((n) => {
    const vcpu = n.cpuCapacityMilli / 1000;
    const ht = nodeHtFactor(n, opts.htFactor ?? 2);
    // A physical core is whole: 3 vCPUs at 2 threads per core sit on 2 cores.
    const cores = Math.ceil(vcpu / ht - 1e-9);
    const worker = isWorker(n);
    const counted = opts.allNodes === true || worker;
    return {
      node: n.name,
      vcpu,
      htFactor: ht,
      cores,
      counted,
      reason: worker
        ? n.controlPlane
          ? 'control plane and worker: counted (it runs workloads)'
          : 'worker: counted'
        : counted
          ? 'control plane: counted (all nodes)'
          : 'control plane: excluded (worker nodes only; --openshift-all-nodes counts it)',
    };
  });
}

/** True when the nodes carry OpenShift's own labels (RHCOS nodes). */
export function looksLikeOpenShift(model: ClusterModel): boolean {
  return model.nodes.some(
    (n) =>
      'node.openshift.io/os_id' in n.labels ||
      Object.keys(n.annotations).some((k) => k.startsWith('machineconfiguration.openshift.io/')),
  );
}

export function openshiftUsage(model: ClusterModel, opts: OpenShiftOptions = {}): UsageRow[] {
  const counts = openshiftNodeCounts(model, opts);
  const counted = counts.filter((c) => c.counted);
  const vcpu = counted.reduce((a, c) => a + c.vcpu, 0);
  const cores = counted.reduce((a, c) => a + c.cores, 0);
  const pairs = Math.ceil(cores / 2);
  const scope = opts.allNodes ? 'all-nodes' : 'worker-nodes';
  const nodes = counted.map((c) => c.node);
  const base = { productId: 'openshift-container-platform', productName: 'Red Hat OpenShift Container Platform', pvu: null, cloudpakId: null, vendor: 'Red Hat', nodes, vcpu };
  return [
    {
      ...base,
      metric: 'core',
      quantity: cores,
      scope,
      rule: `physical cores = vCPU / hyperthreading factor per node (default ${opts.htFactor ?? 2}), ${opts.allNodes ? 'all nodes' : 'worker nodes only, control plane excluded'}`,
    },
    {
      ...base,
      metric: 'core-pair',
      quantity: pairs,
      scope,
      rule: '2-core subscriptions: physical cores / 2, rounded up',
      cores,
    },
  ];
}
