import type { ScanErrorRow } from '../model/report.js';
import { checkQuantity, quoteQuantity, type QuantityKind } from './quantity.js';

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
  /** Fields that could not be believed (absurd quantities), one `errors` row each; the objects stay. */
  problems: ScanErrorRow[];
}

/** Where a normaliser reports a field it ignored: the object (node/NAME, NS/POD/CONTAINER) and what. */
export type ProblemSink = (row: ScanErrorRow) => void;

const ignore: ProblemSink = () => {};

/**
 * Reads one quantity field of an object: its value, or `fallback` with a problem row naming the
 * object and the field when the value cannot be believed (issue 19: `1e309` CPUs, `-1`, `NaN`).
 */
function quantity(res: Record<string, string>, key: string, kind: QuantityKind, where: { target: string; path: string; sink: ProblemSink; consequence: string }): number | null {
  const checked = checkQuantity(res[key], kind);
  if (checked === undefined) return null;
  if (checked.ok) return checked.value;
  where.sink({ target: where.target, message: `${where.path}.${key} ${quoteQuantity(res[key])} ${checked.reason}; ${where.consequence}` });
  return null;
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
function strMap(v: unknown, intern: Intern = same): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) {
    if (typeof val === 'string') out[k] = intern(val);
    else if (typeof val === 'number') out[k] = String(val);
  }
  return out;
}

/**
 * One copy of what repeats across a cluster's pods, per model: strings (images, namespaces,
 * node names, label values) and whole small maps and lists (the replicas of a Deployment carry
 * the same labels, env and volumes). 50,000 pods take a third less memory. Shared values are
 * never mutated after the model is built.
 */
export interface Intern {
  (s: string): string;
  shared<T extends object>(value: T): T;
}

const same: Intern = Object.assign((x: string) => x, { shared: <T extends object>(v: T) => v });

export function makeIntern(): Intern {
  const strings = new Map<string, string>();
  const values = new Map<string, object>();
  const str = (x: string): string => {
    if (x.length > 256) return x;
    const hit = strings.get(x);
    if (hit !== undefined) return hit;
    strings.set(x, x);
    return x;
  };
  const shared = <T extends object>(value: T): T => {
    const key = JSON.stringify(value);
    if (key.length > 4096) return value;
    const hit = values.get(key);
    if (hit !== undefined) return hit as T;
    values.set(key, value);
    return value;
  };
  return Object.assign(str, { shared });
}

const gpuResource = 'nvidia.com/gpu';
const migPrefix = 'nvidia.com/mig-';

type Where = Parameters<typeof quantity>[3];

function migResources(res: Record<string, string>, where: Where): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(res)) {
    if (k.startsWith(migPrefix)) out[k.slice(migPrefix.length)] = quantity(res, k, 'count', where) ?? 0;
  }
  return out;
}

function vgpuCount(res: Record<string, string>, where: Where): number {
  let n = 0;
  for (const k of Object.keys(res)) if (/(^|\/)vgpu$/i.test(k)) n += quantity(res, k, 'count', where) ?? 0;
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

export function normalizeNode(raw: unknown, sink: ProblemSink = ignore, intern: Intern = same): ClusterNode {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const labels = strMap(meta.labels, intern);
  const capacity = strMap(status.capacity, intern);
  const allocatable = strMap(status.allocatable, intern);
  const roles = nodeRoles(labels);
  const taints = arr(spec.taints).map((t) => {
    const to = obj(t);
    const taint: NodeTaint = { key: str(to.key) ?? '', effect: str(to.effect) ?? '' };
    if (typeof to.value === 'string') taint.value = to.value;
    return taint;
  });
  const name = str(meta.name) ?? '';
  const at = (path: string, consequence: string): Where => ({ target: `node/${name}`, path, sink, consequence });
  const cap = at('status.capacity', 'ignored (counted as 0)');
  const alloc = at('status.allocatable', 'ignored (capacity used instead)');
  const cpuCap = quantity(capacity, 'cpu', 'cpu', cap);
  const cpuAlloc = quantity(allocatable, 'cpu', 'cpu', alloc);
  const gpuCap = quantity(capacity, gpuResource, 'count', cap);
  const gpuAlloc = quantity(allocatable, gpuResource, 'count', alloc);
  return {
    name,
    uid: str(meta.uid),
    labels,
    annotations: strMap(meta.annotations, intern),
    taints,
    roles,
    controlPlane: roles.includes('control-plane') || roles.includes('master'),
    // millicores, rounded up as Kubernetes does (1e-9 guards against float noise: 1.9 * 1000)
    cpuCapacityMilli: milli(cpuCap) ?? milli(cpuAlloc) ?? 0,
    cpuAllocatableMilli: milli(cpuAlloc) ?? milli(cpuCap) ?? 0,
    memoryBytes: quantity(capacity, 'memory', 'bytes', cap) ?? 0,
    gpuCapacity: gpuCap ?? 0,
    gpuAllocatable: gpuAlloc ?? gpuCap ?? 0,
    mig: migResources(capacity, cap),
    vgpu: vgpuCount(capacity, cap),
    architecture: labels['kubernetes.io/arch'] ?? str(obj(status.nodeInfo).architecture),
    osImage: str(obj(status.nodeInfo).osImage),
    instanceType: labels['node.kubernetes.io/instance-type'] ?? labels['beta.kubernetes.io/instance-type'] ?? null,
    capacity,
    allocatable,
  };
}

function milli(cores: number | null): number | null {
  return cores === null ? null : Math.ceil(cores * 1000 - 1e-9);
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

function normalizeContainer(raw: unknown, init: boolean, index: number, statuses: Map<string, Json>, pod: { target: string; sink: ProblemSink; intern: Intern }): ClusterContainer {
  const c = obj(raw);
  const { intern } = pod;
  const name = intern(str(c.name) ?? '');
  const resources = obj(c.resources);
  // read here, kept only as figures: 50,000 pods' raw resource maps are dead weight
  const requests = strMap(resources.requests);
  const limits = strMap(resources.limits);
  const st = statuses.get(`${init ? 'init' : 'main'}/${name}`) ?? {};
  const image = intern(str(c.image) ?? str(st.image) ?? '');
  const id = str(st.imageID);
  const imageID = id ? intern(id) : null;
  const env: Record<string, string> = {};
  for (const e of arr(c.env)) {
    const eo = obj(e);
    if (typeof eo.name === 'string' && typeof eo.value === 'string') env[eo.name] = intern(eo.value);
  }
  const base = `spec.${init ? 'initContainers' : 'containers'}[${index}].resources`;
  const at = (which: 'limits' | 'requests', consequence: string): Where => ({ target: `${pod.target}/${name}`, path: `${base}.${which}`, sink: pod.sink, consequence });
  const limitCpu = at('limits', 'ignored (the container counts as having no CPU limit)');
  const requestCpu = at('requests', 'ignored');
  const limitGpu = at('limits', 'ignored (counted as 0)');
  const requestGpu = at('requests', 'ignored (counted as 0)');
  const gpuLimit = quantity(limits, gpuResource, 'count', limitGpu) ?? quantity(requests, gpuResource, 'count', requestGpu) ?? 0;
  const limitMig = migResources(limits, limitGpu);
  return {
    name,
    init,
    image,
    imageID,
    imageDigest: imageDigestOf(image, imageID),
    containerID: str(st.containerID) || null,
    cpuLimitMilli: milli(quantity(limits, 'cpu', 'cpu', limitCpu)),
    cpuRequestMilli: milli(quantity(requests, 'cpu', 'cpu', requestCpu)),
    gpus: gpuLimit,
    mig: Object.keys(limitMig).length ? limitMig : migResources(requests, requestGpu),
    vgpu: vgpuCount(limits, limitGpu) || vgpuCount(requests, requestGpu),
    env: intern.shared(env),
    running: Object.prototype.hasOwnProperty.call(obj(st.state), 'running'),
  };
}

export function normalizePod(raw: unknown, sink: ProblemSink = ignore, intern: Intern = same): ClusterPod {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const statuses = new Map<string, Json>();
  for (const s of arr(status.containerStatuses)) statuses.set(`main/${str(obj(s).name)}`, obj(s));
  for (const s of arr(status.initContainerStatuses)) statuses.set(`init/${str(obj(s).name)}`, obj(s));
  const namespace = intern(str(meta.namespace) ?? 'default');
  const name = str(meta.name) ?? '';
  const pod = { target: `${namespace}/${name}`, sink, intern };
  const nodeName = str(spec.nodeName);
  const containers = [
    ...arr(spec.initContainers).map((c, i) => normalizeContainer(c, true, i, statuses, pod)),
    ...arr(spec.containers).map((c, i) => normalizeContainer(c, false, i, statuses, pod)),
  ];
  return {
    namespace,
    name,
    uid: str(meta.uid),
    nodeName: nodeName === null ? null : intern(nodeName),
    phase: intern(str(status.phase) ?? 'Unknown'),
    labels: intern.shared(strMap(meta.labels, intern)),
    annotations: intern.shared(strMap(meta.annotations, intern)),
    owners: intern.shared(arr(meta.ownerReferences).map((r) => ({ kind: intern(str(obj(r).kind) ?? ''), name: intern(str(obj(r).name) ?? '') }))),
    containers,
    volumes: intern.shared(
      arr(spec.volumes).map((v) => {
        const vo = obj(v);
        const type = Object.keys(vo).find((k) => k !== 'name') ?? 'unknown';
        return { name: intern(str(vo.name) ?? ''), type };
      }),
    ),
  };
}

/**
 * Builds the model object by object, so a snapshot streamed from disk never holds more than one
 * raw object at a time: each is normalised (and checked) as it arrives.
 */
export class ClusterModelBuilder {
  private readonly nodes: ClusterNode[] = [];
  private readonly pods: ClusterPod[] = [];
  private readonly problems: ScanErrorRow[] = [];
  private readonly sink: ProblemSink = (row) => this.problems.push(row);
  private readonly intern = makeIntern();

  addNode(raw: unknown): void {
    this.nodes.push(normalizeNode(raw, this.sink, this.intern));
  }

  addPod(raw: unknown): void {
    this.pods.push(normalizePod(raw, this.sink, this.intern));
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  get podCount(): number {
    return this.pods.length;
  }

  finish(source: ClusterModel['source'], clusterName: string | null = null): ClusterModel {
    // The order localeCompare gives; a collator is several times faster over 50,000 pods.
    const { compare } = new Intl.Collator();
    this.nodes.sort((a, b) => compare(a.name, b.name));
    this.pods.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
    return { clusterName, source, nodes: this.nodes, pods: this.pods, problems: this.problems };
  }
}

export function buildClusterModel(
  nodes: unknown[],
  pods: unknown[],
  source: ClusterModel['source'],
  clusterName: string | null = null,
): ClusterModel {
  const builder = new ClusterModelBuilder();
  for (const n of nodes) builder.addNode(n);
  for (const p of pods) builder.addPod(p);
  return builder.finish(source, clusterName);
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
