import type { ContainerReport, Report } from '../../model/report.js';
import { licenceOf, productRefs, productStatusOf, worst } from './products.js';
import type { FindingRow, GpuRef, GpuSkuRow, NamespaceRow, NodeRow, PodRow, ProductUseRow, UsageFigureRow } from './types.js';

/**
 * The table rows of the Nodes, Namespaces, Pods, Findings, Licence figures and GPU views, all
 * computed from one cluster report (src/model/report.ts). Computed once per report: a
 * 10,000-pod report takes tens of milliseconds, and every page of every table reads them.
 */
export interface InventoryRows {
  nodes: NodeRow[];
  namespaces: NamespaceRow[];
  pods: PodRow[];
  findings: FindingRow[];
  usage: UsageFigureRow[];
  gpus: GpuSkuRow[];
  products: ProductUseRow[];
}

/** The pod's phase: an extra field of cluster reports (src/report/cluster.ts). */
export const phaseOf = (c: ContainerReport): string | null => {
  const phase = (c as { phase?: unknown }).phase;
  return typeof phase === 'string' ? phase : null;
};
/** Reports of `scan namespace` carry no phase: what they saw was running. */
export const running = (c: ContainerReport) => (phaseOf(c) ?? 'Running') === 'Running';
const round = (n: number) => Math.round(n * 1000) / 1000;
const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);

function addGpu(list: GpuRef[], g: GpuRef): void {
  const same = list.find((x) => x.product === g.product && x.sku === g.sku);
  if (same) same.count += g.count;
  else list.push({ ...g });
}

const cache = new WeakMap<Report, InventoryRows>();

export function inventoryRows(report: Report): InventoryRows {
  const hit = cache.get(report);
  if (hit) return hit;
  const statusOf = productStatusOf(report);
  // Finished pods are apart in the report (finishedContainers); the views list them with their phase.
  const containers = [...report.containers, ...(report.finishedContainers ?? [])];
  const nodeByName = new Map(report.nodes.map((n) => [n.name, n]));
  // A node counts as covered by the node agent when the report says so, or when the agent read
  // one of its containers from the host (method "host": only the agent on the node can).
  const agentNodes = new Set(report.nodes.filter((n) => n.agent === true || (typeof n.agent === 'object' && n.agent !== null)).map((n) => n.name));
  for (const c of containers) if (c.method === 'host' && c.node) agentNodes.add(c.node);

  const findings: FindingRow[] = [];
  type PodAcc = PodRow & { findings: ContainerReport['products'] };
  const pods = new Map<string, PodAcc>();
  const byNodeContainers = new Map<string, number>();
  for (const c of containers) {
    for (const p of c.products) {
      findings.push({
        namespace: c.namespace,
        pod: c.pod,
        container: c.name,
        node: c.node,
        image: c.image,
        imageDigest: c.imageDigest,
        method: c.method,
        productId: p.id,
        product: p.product,
        vendor: p.vendor,
        edition: p.edition,
        version: p.version,
        licenseMetric: p.licenseMetric,
        licence: licenceOf(p.licensable),
        phase: phaseOf(c),
        confidence: p.confidence,
        status: statusOf(p),
        evidence: p.evidence.map((e) => ({ kind: e.kind, path: e.path ?? null, rule: e.rule, value: e.value ?? null })),
      });
    }
    if (c.node) byNodeContainers.set(c.node, (byNodeContainers.get(c.node) ?? 0) + 1);
    const key = `${c.namespace ?? ''}/${c.pod ?? c.id}`;
    const pod: PodAcc = pods.get(key) ?? {
      namespace: c.namespace ?? '',
      pod: c.pod ?? c.id,
      node: c.node,
      phase: phaseOf(c),
      containers: [],
      images: [],
      cpuLimits: 0,
      unlimitedContainers: 0,
      gpus: 0,
      products: [],
      status: null,
      findings: [],
    };
    pod.containers.push(c.name);
    if (!pod.images.includes(c.image)) pod.images.push(c.image);
    if (typeof c.cpuLimit === 'number') pod.cpuLimits = round(pod.cpuLimits + c.cpuLimit);
    else pod.unlimitedContainers++;
    pod.gpus += c.gpus ?? 0;
    pod.findings.push(...c.products);
    pods.set(key, pod);
  }
  const podRows: PodRow[] = [...pods.values()].map(({ findings: f, ...row }) => {
    const products = productRefs(f, statusOf);
    return { ...row, products, status: worst(products.map((p) => p.status)) };
  });

  const nodes: NodeRow[] = report.nodes.map((n) => {
    const products = productRefs(n.products, statusOf);
    const gpus = n.gpus.map((g) => ({ count: g.count, product: g.product, sku: g.sku }));
    return {
      name: n.name,
      roles: strings(n.roles),
      cpu: n.cpu,
      allocatableCpu: typeof n.allocatableCpu === 'number' ? n.allocatableCpu : null,
      gpus,
      gpuCount: gpus.reduce((a, g) => a + g.count, 0),
      pods: typeof n.pods === 'number' ? n.pods : podRows.filter((p) => p.node === n.name).length,
      containers: byNodeContainers.get(n.name) ?? 0,
      products,
      nvaieGated: strings(n.nvaieGated),
      agent: agentNodes.has(n.name),
      status: worst(products.map((p) => p.status)),
    };
  });

  type NsAcc = NamespaceRow & { findings: ContainerReport['products'] };
  const nsMap = new Map<string, NsAcc>();
  for (const c of containers) {
    const name = c.namespace ?? '';
    const ns: NsAcc = nsMap.get(name) ?? { namespace: name, pods: 0, runningPods: 0, containers: 0, cpuLimits: 0, unlimitedContainers: 0, gpus: [], gpuCount: 0, nvaieAllocated: 0, nodes: [], products: [], status: null, findings: [] };
    ns.containers++;
    if (c.node && !ns.nodes.includes(c.node)) ns.nodes.push(c.node);
    if (running(c)) {
      if (typeof c.cpuLimit === 'number') ns.cpuLimits = round(ns.cpuLimits + c.cpuLimit);
      else ns.unlimitedContainers++;
      const gpus = c.gpus ?? 0;
      if (gpus > 0) {
        // The GPU model and SKU are the node's: a container gets GPUs of the node it runs on.
        const nodeGpu = c.node ? nodeByName.get(c.node)?.gpus.find((g) => g.count > 0) : undefined;
        addGpu(ns.gpus, { count: gpus, product: nodeGpu?.product ?? null, sku: nodeGpu?.sku ?? null });
        ns.gpuCount += gpus;
      }
    }
    ns.findings.push(...c.products);
    nsMap.set(name, ns);
  }
  for (const p of podRows) {
    const ns = nsMap.get(p.namespace);
    if (!ns) continue;
    ns.pods++;
    if ((p.phase ?? 'Running') === 'Running') ns.runningPods++;
  }
  for (const u of report.usage) {
    if (u.productId !== 'nvidia-ai-enterprise' || u.scope !== 'allocated') continue;
    for (const [name, n] of Object.entries((u.byNamespace as Record<string, number> | undefined) ?? {})) {
      const ns = nsMap.get(name);
      if (ns) ns.nvaieAllocated += n;
    }
  }
  const namespaces: NamespaceRow[] = [...nsMap.values()].map(({ findings: f, ...row }) => {
    const products = productRefs(f, statusOf);
    return { ...row, nodes: row.nodes.sort(), products, status: worst(products.map((p) => p.status)) };
  });

  const usage: UsageFigureRow[] = report.usage.map((u) => ({
    productId: u.productId,
    productName: u.productName,
    metric: u.metric,
    quantity: u.quantity,
    pvu: u.pvu ?? null,
    scope: u.scope,
    sku: typeof u.sku === 'string' ? u.sku : null,
    cloudpakId: u.cloudpakId ?? null,
    cloudpakName: typeof u.cloudpakName === 'string' ? u.cloudpakName : null,
    rule: u.rule,
    nodes: strings(u.nodes),
    namespaces: strings(u.namespaces).length ? strings(u.namespaces) : Object.keys((u.byNamespace as Record<string, number> | undefined) ?? {}),
  }));

  const nvaie = report.usage.filter((u) => u.productId === 'nvidia-ai-enterprise' && u.metric === 'gpu');
  const nvaieStatus = statusOf({ id: 'nvidia-ai-enterprise', product: 'NVIDIA AI Enterprise' });
  const gpus: GpuSkuRow[] = report.gpuSkus.map((s) => {
    const rows = nvaie.filter((u) => (u.sku ?? null) === s.sku);
    const sum = (scope: string) => rows.filter((u) => u.scope === scope).reduce((a, u) => a + u.quantity, 0);
    const gated = [...new Set(rows.flatMap((u) => strings(u.gatedProducts)))].sort();
    return {
      sku: s.sku,
      models: strings(s.products).length ? strings(s.products) : [...new Set(s.nodes.flatMap((n) => nodeByName.get(n)?.gpus.filter((g) => g.sku === s.sku).map((g) => g.product ?? '') ?? []))].filter(Boolean),
      onNodes: s.gpus,
      nodes: s.nodes,
      onGatedNodes: sum('nodes'),
      allocatedToGated: sum('allocated'),
      gatedProducts: gated,
      status: rows.length ? nvaieStatus : null,
    };
  });

  // Products in use: running containers only, licensable first (then cannot-tell, then free).
  const licenceOrder = ['licensable', 'unknown', 'free'];
  const uses = new Map<string, ProductUseRow & { ns: Set<string>; on: Set<string> }>();
  for (const f of findings) {
    if ((f.phase ?? 'Running') !== 'Running') continue;
    const u = uses.get(f.productId) ?? { id: f.productId, product: f.product, vendor: f.vendor, licence: f.licence, status: f.status, containers: 0, namespaces: 0, nodes: 0, ns: new Set<string>(), on: new Set<string>() };
    u.containers++;
    if (f.namespace) u.ns.add(f.namespace);
    if (f.node) u.on.add(f.node);
    uses.set(f.productId, u);
  }
  const products: ProductUseRow[] = [...uses.values()]
    .map(({ ns, on, ...u }) => ({ ...u, namespaces: ns.size, nodes: on.size }))
    .sort((a, b) => licenceOrder.indexOf(a.licence) - licenceOrder.indexOf(b.licence) || a.product.localeCompare(b.product));

  const out = { nodes, namespaces, pods: podRows, findings, usage, gpus, products };
  cache.set(report, out);
  return out;
}
