import { createHash } from 'node:crypto';
import type { ClusterInfo, ClusterReport, ContainerReport, ImageReport, NodeReport } from '../model/report.js';
import { emptyReport } from '../model/report.js';
import type { ProductFinding } from '../model/finding.js';
import type { Inventory } from '../inventory/inventory.js';
import { namespaceRollups } from '../inventory/inventory.js';
import type { EntitlementResult } from '../licensing/entitlements.js';
import type { UsageResult } from '../licensing/usage.js';

/** A stable UUID-shaped id from the cluster name (or its node names) when none is given. */
export function deriveClusterId(inv: Inventory, given?: string): string {
  if (given) return given;
  const basis = inv.model.clusterName ?? inv.model.nodes.map((n) => n.uid ?? n.name).sort().join(',');
  const h = createHash('sha256').update(`kensus-cluster:${basis}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function uniqueProducts(lists: ProductFinding[][]): ProductFinding[] {
  const out = new Map<string, ProductFinding>();
  for (const l of lists) for (const p of l) if (!out.has(p.id)) out.set(p.id, p);
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * The CONTRACT.md report of a cluster scan, with extra fields: `cluster`, `namespaces`
 * (roll-ups), `entitlements` (when reconciled) and `metadataOnly`.
 */
export function buildClusterReport(
  inv: Inventory,
  figures: UsageResult,
  entitlements: EntitlementResult[] | null,
  opts: { version: string; clusterId?: string; now?: Date },
): ClusterReport {
  const cluster: ClusterInfo = { id: deriveClusterId(inv, opts.clusterId), name: inv.model.clusterName, source: inv.model.source };
  const report: ClusterReport = {
    ...emptyReport(opts.version, opts.now),
    cluster,
    metadataOnly: inv.metadataOnly,
    namespaces: namespaceRollups(inv),
    ibmIncompleteAnnotationPods: incompleteIbmAnnotations(inv),
    finishedContainers: [],
  };

  report.images = inv.images
    .filter((i) => i.digest)
    .map((i): ImageReport => ({ ref: i.ref, digest: i.digest!, source: i.scanned ? 'scan' : 'cluster-metadata', products: i.products }))
    .sort((a, b) => a.ref.localeCompare(b.ref) || a.digest.localeCompare(b.digest));

  // Finished pods (Succeeded, Failed) run nothing: they are listed apart and count for nothing.
  const rows = inv.containers.map(
    (c): ContainerReport => ({
      id: c.container.containerID?.replace(/^[a-z0-9-]+:\/\//, '') ?? `${c.pod.namespace}/${c.pod.name}/${c.container.name}`,
      name: c.container.name,
      pod: c.pod.name,
      namespace: c.pod.namespace,
      node: c.node,
      image: c.container.image,
      imageDigest: c.container.imageDigest,
      method: c.method,
      products: c.products,
      cpuLimit: c.container.cpuLimitMilli === null ? null : c.container.cpuLimitMilli / 1000,
      gpus: c.container.gpus,
      phase: c.pod.phase,
      running: c.running,
    }),
  );
  report.containers = rows.filter((r) => !isFinished(r.phase));
  const finishedContainers = rows.filter((r) => isFinished(r.phase));

  // Containers grouped by node once: large clusters have thousands of nodes and pods.
  const byNode = new Map<string, Inventory['containers']>();
  for (const c of inv.containers) {
    if (!c.node) continue;
    const list = byNode.get(c.node) ?? [];
    list.push(c);
    byNode.set(c.node, list);
  }
  const openshiftByNode = new Map((figures.openshiftNodes ?? []).map((o) => [o.node, o]));
  report.nodes = inv.model.nodes.map((n): NodeReport => {
    const gpus = (figures.gpusByNode.get(n.name) ?? []).map((g) => ({
      product: g.product,
      count: g.count,
      sku: g.sku,
      ...(g.mig ? { mig: g.mig } : {}),
      advertised: g.advertised,
      memoryMiB: g.memoryMiB,
      family: g.family,
      migStrategy: g.migStrategy,
      sharing: g.sharing,
      countSource: g.countSource,
    }));
    const os = openshiftByNode.get(n.name);
    const onNode = byNode.get(n.name) ?? [];
    const running = onNode.filter((c) => c.running);
    return {
      name: n.name,
      cpu: n.cpuCapacityMilli / 1000,
      gpus,
      products: uniqueProducts(running.map((c) => c.products)),
      allocatableCpu: n.cpuAllocatableMilli / 1000,
      memoryBytes: n.memoryBytes,
      architecture: n.architecture,
      roles: n.roles,
      controlPlane: n.controlPlane,
      pods: new Set(onNode.map((c) => `${c.pod.namespace}/${c.pod.name}`)).size,
      nvaieGated: figures.gatedNodes.get(n.name) ?? [],
      osImage: n.osImage,
      instanceType: n.instanceType,
      ...(os ? { openshift: { counted: os.counted, reason: os.reason, vcpu: os.vcpu, htFactor: os.htFactor, cores: os.cores } } : {}),
    };
  });

  report.usage = figures.usage;
  report.gpuSkus = figures.gpuSkus;
  report.errors = [...inv.errors];
  if (entitlements) report.entitlements = entitlements;
  report.finishedContainers = finishedContainers;
  return report;
}

/** A pod that ran to its end (Kubernetes phase Succeeded or Failed). */
export function isFinished(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * Pods that carry some IBM licensing annotations but not productID, productName and
 * productMetric together: IBM License Service reports them as incomplete (IncompleteAnnotationPods).
 */
export function incompleteIbmAnnotations(inv: Inventory): string[] {
  const keys = ['productID', 'productName', 'productMetric'];
  return inv.model.pods
    .filter((p) => {
      const present = keys.filter((k) => p.annotations[k]?.trim());
      return present.length > 0 && present.length < keys.length;
    })
    .map((p) => `${p.namespace}/${p.name}`);
}
