import type { AgentCoverageReport } from './usage-report.js';
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
  /** MIG profile → devices the node advertises, when present. */
  mig?: Record<string, number>;
  /** Cluster reports: */
  advertised?: number;
  memoryMiB?: number | null;
  family?: string | null;
  migStrategy?: string | null;
  sharing?: string | null;
  countSource?: 'gfd-label' | 'capacity' | 'capacity/replicas' | 'vgpu';
}

export interface NodeReport {
  name: string;
  cpu: number;
  gpus: NodeGpu[];
  products: ProductFinding[];
  /** Cluster reports: */
  allocatableCpu?: number;
  memoryBytes?: number;
  architecture?: string | null;
  roles?: string[];
  controlPlane?: boolean;
  /** Pods bound to the node (any phase). */
  pods?: number;
  /** NVAIE-gated products running on the node. */
  nvaieGated?: string[];
  /** status.nodeInfo.osImage; null when the node does not report it. */
  osImage?: string | null;
  /** node.kubernetes.io/instance-type; null on bare metal or when not labelled. */
  instanceType?: string | null;
  /** When OpenShift figures were computed: whether the node counts and why. */
  openshift?: { counted: boolean; reason: string; vcpu: number; htFactor: number; cores: number };
  /** Node agent coverage (the dashboard reads it when present): true, or the agent's own details. */
  agent?: boolean | Record<string, unknown>;
}

export interface UsageRow {
  productId: string;
  productName: string;
  metric: string;
  quantity: number;
  pvu: number | null;
  /** cluster, nodes, allocated, bundled-product, cloudpak, full-capacity, worker-nodes, all-nodes. */
  scope: string;
  cloudpakId: string | null;
  rule: string;
  vendor?: string;
  licensable?: boolean | null;
  /** GPU rows: the licence SKU of the GPUs (null: model unknown). */
  sku?: string | null;
  /** Nodes the figure comes from. */
  nodes?: string[];
  namespaces?: string[];
  /** namespace → quantity (GPU rows) or instances there. */
  byNamespace?: Record<string, number>;
  pods?: number;
  instances?: number;
  /** Whole cores the quantity stands for (IBM after cluster rounding; OpenShift core pairs). */
  cores?: number;
  /** IBM: capped cores summed over the cluster before rounding. */
  measuredCores?: number;
  /** Per-core products: physical cores × core factor before rounding. */
  weightedCores?: number;
  vcpu?: number;
  /** IBM Cloud Pak rows (bundled-product, cloudpak). */
  cloudpakName?: string | null;
  cloudpakVersion?: string | null;
  cloudpakMetric?: string;
  metricConversion?: string;
  metricMeasuredQuantity?: number;
  metricConvertedQuantity?: number;
  /** NVAIE rows: what made the GPUs count (gated products, or the GPU licence map's detection). */
  gatedProducts?: string[];
  /** scope full-capacity: an exposure shown beside the container figure, not counted against entitlements. */
  exposure?: boolean;
  /** History store samples: when the sample this row comes from was taken. */
  peakAt?: string;
}

/** One SKU of the GPU inventory: all physical GPUs of that SKU, licensed or not. */
export interface GpuSkuRow {
  sku: string | null;
  gpus: number;
  nodes: string[];
  /** The GPU product labels seen (nvidia.com/gpu.product). */
  products?: string[];
  /** Of `gpus`, those of nodes running NVAIE-gated software (licence needed by the 'nodes' reading). */
  nvaieGatedGpus?: number;
  nvaieGatedNodes?: string[];
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
  /** `scan cluster --agent-coverage STORE`: which nodes no node agent covers. */
  agentCoverage?: AgentCoverageReport;
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
  /** As the entitlement writes it (per-gpu, VPC, ...); for unlicensed rows the usage metric. */
  metric: string;
  /** The metric as usage rows name it (gpu, VIRTUAL_PROCESSOR_CORE, ...): what joins them. */
  usageMetric: string;
  /** The usage rows' product ids the figure stands for (empty for image detection). */
  productIds: string[];
  /** Scope(s) of the usage rows counted, comma-separated; 'detection'; null when none. */
  scope: string | null;
  /** The SKU the entitlement is bought for, if any. */
  sku: string | null;
  used: number;
  owned: number;
  /** used / owned in percent (one decimal); null when nothing is owned. */
  percentage: number | null;
  threshold: number | null;
  status: EntitlementStatus;
  /** Which usage rows (or detection) the figure came from. */
  basis: string;
  namespaces?: string[];
  clusters?: string[];
  detection?: string;
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
