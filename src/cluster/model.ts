import { parseMilliCpu, parseQuantity } from './quantity.js';

/**
 * The cluster as Kensus needs it: nodes with capacity and GPU details, pods with containers.
 * Built from plain Kubernetes JSON (a snapshot or the API), so live and snapshot paths meet
 * in `buildClusterModel` and give the same model.
 */
export interface NodeTaint {
  key: string;
  value?: string;
  effect: string;
}

export interface ClusterNode {
  name: string;
  uid: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  taints: NodeTaint[];
  /** From node-role.kubernetes.io/<role> labels (and the legacy kubernetes.io/role label). */
  roles: string[];
  controlPlane: boolean;
  /** Logical CPUs (vCPU) in millicores. */
  cpuCapacityMilli: number;
  cpuAllocatableMilli: number;
  memoryBytes: number;
  /** nvidia.com/gpu as the device plugin advertises it (MIG devices or shared replicas included). */
  gpuCapacity: number;
  gpuAllocatable: number;
  /** nvidia.com/mig-<profile> resources: profile → count. */
  mig: Record<string, number>;
  /** nvidia.com/vgpu (or vendor vGPU) resources. */
  vgpu: number;
  architecture: string | null;
  /** status.nodeInfo.osImage, e.g. "Red Hat Enterprise Linux CoreOS 416.94…" (null when not reported). */
  osImage: string | null;
  /** The cloud instance type (node.kubernetes.io/instance-type label); null on bare metal or when not labelled. */
  instanceType: string | null;
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
}

export interface OwnerRef {
  kind: string;
  name: string;
}

export interface ClusterContainer {
  name: string;
  init: boolean;
  image: string;
  /** status.containerStatuses[].imageID as the runtime reports it. */
  imageID: string | null;
  /** The manifest digest (sha256:...) when one can be read from imageID or the image reference. */
  imageDigest: string | null;
  containerID: string | null;
  requests: Record<string, string>;
  limits: Record<string, string>;
  cpuLimitMilli: number | null;
  cpuRequestMilli: number | null;
  /** nvidia.com/gpu limit (extended resources: limit == request). */
  gpus: number;
  /** nvidia.com/mig-<profile> limits. */
  mig: Record<string, number>;
  vgpu: number;
  env: Record<string, string>;
  running: boolean;
}

export interface ClusterPod {
  namespace: string;
  name: string;
  uid: string | null;
  nodeName: string | null;
  phase: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  owners: OwnerRef[];
  containers: ClusterContainer[];
  volumes: Array<{ name: string; type: string }>;
}

export interface ClusterModel {
  /** Cluster name or server, for reports and entitlement `clusters` matching. */
  clusterName: string | null;
  source: 'snapshot' | 'live';
  nodes: ClusterNode[];
  pods: ClusterPod[];
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) {
    if (typeof val === 'string') out[k] = val;
    else if (typeof val === 'number') out[k] = String(val);
  }
  return out;
}

const gpuResource = 'nvidia.com/gpu';
const migPrefix = 'nvidia.com/mig-';

function migResources(res: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(res)) {
    if (k.startsWith(migPrefix)) out[k.slice(migPrefix.length)] = parseQuantity(v) ?? 0;
  }
  return out;
}

function vgpuCount(res: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(res)) if (/(^|\/)vgpu$/i.test(k)) n += parseQuantity(v) ?? 0;
  return n;
}

export function nodeRoles(labels: Record<string, string>): string[] {
  const roles = new Set<string>();
  for (const k of Object.keys(labels)) {
    const m = /^node-role\.kubernetes\.io\/(.+)$/.exec(k);
    if (m) roles.add(m[1]);
  }
  if (labels['kubernetes.io/role']) roles.add(labels['kubernetes.io/role']);
  return [...roles].sort();
}

export function normalizeNode(raw: unknown): ClusterNode {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const labels = strMap(meta.labels);
  const capacity = strMap(status.capacity);
  const allocatable = strMap(status.allocatable);
  const roles = nodeRoles(labels);
  const taints = arr(spec.taints).map((t) => {
    const to = obj(t);
    const taint: NodeTaint = { key: str(to.key) ?? '', effect: str(to.effect) ?? '' };
    if (typeof to.value === 'string') taint.value = to.value;
    return taint;
  });
  const cpuCap = parseMilliCpu(capacity.cpu) ?? 0;
  return {
    name: str(meta.name) ?? '',
    uid: str(meta.uid),
    labels,
    annotations: strMap(meta.annotations),
    taints,
    roles,
    controlPlane: roles.includes('control-plane') || roles.includes('master'),
    cpuCapacityMilli: cpuCap,
    cpuAllocatableMilli: parseMilliCpu(allocatable.cpu) ?? cpuCap,
    memoryBytes: parseQuantity(capacity.memory) ?? 0,
    gpuCapacity: parseQuantity(capacity[gpuResource]) ?? 0,
    gpuAllocatable: parseQuantity(allocatable[gpuResource]) ?? parseQuantity(capacity[gpuResource]) ?? 0,
    mig: migResources(capacity),
    vgpu: vgpuCount(capacity),
    architecture: labels['kubernetes.io/arch'] ?? str(obj(status.nodeInfo).architecture),
    osImage: str(obj(status.nodeInfo).osImage),
    instanceType: labels['node.kubernetes.io/instance-type'] ?? labels['beta.kubernetes.io/instance-type'] ?? null,
    capacity,
    allocatable,
  };
}

const digestRe = /sha256:[0-9a-f]{64}/;

/**
 * The manifest digest of a container's image. `imageID` is "docker-pullable://repo@sha256:..",
 * "repo@sha256:..", or for some runtimes the config id "sha256:..." (also a stable key).
 */
export function imageDigestOf(image: string, imageID: string | null): string | null {
  if (imageID) {
    const at = imageID.lastIndexOf('@');
    const m = digestRe.exec(at >= 0 ? imageID.slice(at + 1) : imageID);
    if (m) return m[0];
  }
  const at = image.lastIndexOf('@');
  if (at >= 0) {
    const m = digestRe.exec(image.slice(at + 1));
    if (m) return m[0];
  }
  return null;
}

function normalizeContainer(raw: unknown, init: boolean, statuses: Map<string, Json>): ClusterContainer {
  const c = obj(raw);
  const name = str(c.name) ?? '';
  const resources = obj(c.resources);
  const requests = strMap(resources.requests);
  const limits = strMap(resources.limits);
  const st = statuses.get(`${init ? 'init' : 'main'}/${name}`) ?? {};
  const image = str(c.image) ?? str(st.image) ?? '';
  const imageID = str(st.imageID) || null;
  const env: Record<string, string> = {};
  for (const e of arr(c.env)) {
    const eo = obj(e);
    if (typeof eo.name === 'string' && typeof eo.value === 'string') env[eo.name] = eo.value;
  }
  const gpuLimit = parseQuantity(limits[gpuResource]) ?? parseQuantity(requests[gpuResource]) ?? 0;
  const limitMig = migResources(limits);
  return {
    name,
    init,
    image,
    imageID,
    imageDigest: imageDigestOf(image, imageID),
    containerID: str(st.containerID) || null,
    requests,
    limits,
    cpuLimitMilli: parseMilliCpu(limits.cpu),
    cpuRequestMilli: parseMilliCpu(requests.cpu),
    gpus: gpuLimit,
    mig: Object.keys(limitMig).length ? limitMig : migResources(requests),
    vgpu: vgpuCount(limits) || vgpuCount(requests),
    env,
    running: Object.prototype.hasOwnProperty.call(obj(st.state), 'running'),
  };
}

export function normalizePod(raw: unknown): ClusterPod {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const statuses = new Map<string, Json>();
  for (const s of arr(status.containerStatuses)) statuses.set(`main/${str(obj(s).name)}`, obj(s));
  for (const s of arr(status.initContainerStatuses)) statuses.set(`init/${str(obj(s).name)}`, obj(s));
  const containers = [
    ...arr(spec.initContainers).map((c) => normalizeContainer(c, true, statuses)),
    ...arr(spec.containers).map((c) => normalizeContainer(c, false, statuses)),
  ];
  return {
    namespace: str(meta.namespace) ?? 'default',
    name: str(meta.name) ?? '',
    uid: str(meta.uid),
    nodeName: str(spec.nodeName),
    phase: str(status.phase) ?? 'Unknown',
    labels: strMap(meta.labels),
    annotations: strMap(meta.annotations),
    owners: arr(meta.ownerReferences).map((r) => ({ kind: str(obj(r).kind) ?? '', name: str(obj(r).name) ?? '' })),
    containers,
    volumes: arr(spec.volumes).map((v) => {
      const vo = obj(v);
      const type = Object.keys(vo).find((k) => k !== 'name') ?? 'unknown';
      return { name: str(vo.name) ?? '', type };
    }),
  };
}

export function buildClusterModel(
  nodes: unknown[],
  pods: unknown[],
  source: ClusterModel['source'],
  clusterName: string | null = null,
): ClusterModel {
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  const ns = nodes.map(normalizeNode).sort(byName);
  const ps = pods
    .map(normalizePod)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { clusterName, source, nodes: ns, pods: ps };
}

/** Total nvidia.com/gpu + MIG + vGPU limits of a pod's app containers (init containers run before). */
export function podGpuLimits(pod: ClusterPod): { gpus: number; mig: Record<string, number>; vgpu: number } {
  let gpus = 0;
  let vgpu = 0;
  const mig: Record<string, number> = {};
  for (const c of pod.containers) {
    if (c.init) continue;
    gpus += c.gpus;
    vgpu += c.vgpu;
    for (const [p, n] of Object.entries(c.mig)) mig[p] = (mig[p] ?? 0) + n;
  }
  return { gpus, mig, vgpu };
}
