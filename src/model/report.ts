import type { ProductFinding } from './finding.js';

/** The `--format json` document of CONTRACT.md (schemaVersion 1). Extra fields are allowed. */
export interface ImageReport {
  ref: string;
  digest: string;
  /** Which source read it (docker-archive, oci, docker, containerd, registry, host). */
  source?: string;
  products: ProductFinding[];
  /** What the reader passed over in this image (unsafe entry names, unreadable links...). */
  warnings?: string[];
}

export type ScanMethod = 'exec' | 'image' | 'host';

export interface ContainerReport {
  id: string;
  name: string;
  pod: string | null;
  namespace: string | null;
  node: string | null;
  image: string;
  imageDigest: string | null;
  method: ScanMethod;
  products: ProductFinding[];
  /** CPU limit in cores, when the container has one. */
  cpuLimit?: number | null;
  gpus?: number;
  /** Cluster scans: the pod's phase (Running, Pending; Succeeded and Failed are in finishedContainers). */
  phase?: string;
  /** Cluster scans: the pod is Running. Only running containers count in figures and metrics. */
  running?: boolean;
}

export interface NodeGpu {
  product: string | null;
  count: number;
  sku: string | null;
  /** MIG profile or sharing details when present. */
  mig?: Record<string, number>;
}

export interface NodeReport {
  name: string;
  cpu: number;
  gpus: NodeGpu[];
  products: ProductFinding[];
  [extra: string]: unknown;
}

export interface UsageRow {
  productId: string;
  productName: string;
  metric: string;
  quantity: number;
  pvu: number | null;
  scope: string;
  cloudpakId: string | null;
  rule: string;
  [extra: string]: unknown;
}

export interface GpuSkuRow {
  sku: string | null;
  gpus: number;
  nodes: string[];
  [extra: string]: unknown;
}

export interface ScanErrorRow {
  target: string;
  message: string;
}

/** The cluster a report is of (`scan cluster`). */
export type ClusterInfo = {
  /** Identifier used in .ndi files (IBM License Service uses the kube-system namespace uid). */
  id: string;
  name: string | null;
  source: 'snapshot' | 'live';
};

export interface Report {
  schemaVersion: '1';
  tool: { name: 'kensus'; version: string };
  scannedAt: string;
  images: ImageReport[];
  containers: ContainerReport[];
  nodes: NodeReport[];
  usage: UsageRow[];
  gpuSkus: GpuSkuRow[];
  errors: ScanErrorRow[];
  /** The fields below are those of cluster reports (`scan cluster`, sweeps); see ClusterReport. */
  cluster?: ClusterInfo;
  metadataOnly?: boolean;
  namespaces?: NamespaceRow[];
  /** Present when entitlements were reconciled (--entitlements or --fail-on). */
  entitlements?: EntitlementRow[];
  ibmIncompleteAnnotationPods?: string[];
  /** Containers of finished pods (Succeeded, Failed): shown apart, counted in nothing. */
  finishedContainers?: ContainerReport[];
}

/** A cluster report: the cluster fields are always there. */
export interface ClusterReport extends Report {
  cluster: ClusterInfo;
  metadataOnly: boolean;
  namespaces: NamespaceRow[];
  ibmIncompleteAnnotationPods: string[];
  finishedContainers: ContainerReport[];
}

/** Per-namespace roll-up of a cluster report. */
export type NamespaceRow = {
  namespace: string;
  pods: number;
  runningPods: number;
  containers: number;
  gpus: number;
  products: Array<{ id: string; product: string; containers: number; runningContainers: number }>;
};

export type EntitlementStatus = 'ok' | 'warning' | 'over' | 'unlicensed' | 'not-applicable';

/** One entitlement held against the usage, or a product in use that no entitlement names. */
export type EntitlementRow = {
  product: string;
  metric: string;
  used: number;
  owned: number;
  /** used / owned in percent (one decimal); null when nothing is owned. */
  percentage: number | null;
  threshold: number | null;
  status: EntitlementStatus;
  /** Which usage rows (or detection) the figure came from. */
  basis: string;
  namespaces?: string[];
};

export function emptyReport(version: string, now = new Date()): Report {
  return {
    schemaVersion: '1',
    tool: { name: 'kensus', version },
    scannedAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    images: [],
    containers: [],
    nodes: [],
    usage: [],
    gpuSkus: [],
    errors: [],
  };
}
