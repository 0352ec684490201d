/**
 * The JSON of the read API's views (`/api/v1/views/*`). Plain data: the page imports these
 * types (type-only, erased by the bundler) so server and page cannot disagree on a field.
 */
import type { Installation } from '../../model/usage-report.js';

export type SortOrder = 'asc' | 'desc';

/** One page of a table view; `facets` lists the values each filter can take. */
export interface Paged<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
  pages: number;
  sort: string;
  order: SortOrder;
  facets: Record<string, string[]>;
}

export type EntitlementStatus = 'ok' | 'warning' | 'over' | 'unlicensed' | 'not-applicable';

/** `licensable` of CONTRACT.md said in words: paid, free, or cannot be told. */
export type Licence = 'licensable' | 'free' | 'unknown';

export interface ProductRef {
  id: string;
  product: string;
  vendor: string;
  licence: Licence;
  /** The worst entitlement status this product counts toward; null when none applies. */
  status: EntitlementStatus | null;
}

export interface EntitlementRow {
  product: string;
  metric: string;
  used: number;
  owned: number;
  percentage: number | null;
  threshold: number | null;
  status: EntitlementStatus;
  basis: string;
  namespaces: string[];
}

export interface GpuRef {
  count: number;
  product: string | null;
  sku: string | null;
}

export interface NodeRow {
  name: string;
  roles: string[];
  cpu: number;
  allocatableCpu: number | null;
  gpus: GpuRef[];
  gpuCount: number;
  pods: number;
  containers: number;
  products: ProductRef[];
  /** NVAIE-gated products running on the node (its GPUs count per GPU). */
  nvaieGated: string[];
  agent: boolean;
  status: EntitlementStatus | null;
}

export interface NamespaceRow {
  namespace: string;
  pods: number;
  runningPods: number;
  containers: number;
  /** Sum of the CPU limits of running containers, in cores. */
  cpuLimits: number;
  /** Running containers without a CPU limit (IBM counts their node's capacity). */
  unlimitedContainers: number;
  /** GPUs allocated to running containers, by model and SKU of the node they run on. */
  gpus: GpuRef[];
  gpuCount: number;
  /** Whole GPUs NVIDIA AI Enterprise counts for NVAIE-gated pods here (MIG slices rounded up). */
  nvaieAllocated: number;
  nodes: string[];
  products: ProductRef[];
  status: EntitlementStatus | null;
}

export interface PodRow {
  namespace: string;
  pod: string;
  node: string | null;
  phase: string | null;
  containers: string[];
  images: string[];
  cpuLimits: number;
  unlimitedContainers: number;
  gpus: number;
  products: ProductRef[];
  status: EntitlementStatus | null;
}

export interface EvidenceRow {
  kind: string;
  path: string | null;
  rule: string;
  value: string | null;
}

export interface FindingRow {
  namespace: string | null;
  pod: string | null;
  container: string;
  node: string | null;
  image: string;
  imageDigest: string | null;
  method: string;
  productId: string;
  product: string;
  vendor: string;
  edition: string | null;
  version: string | null;
  licenseMetric: string;
  licence: Licence;
  /** The pod's phase; only running containers count toward licence figures. */
  phase: string | null;
  confidence: string;
  status: EntitlementStatus | null;
  evidence: EvidenceRow[];
}

/** A product in use: in how many running containers and namespaces it was found. */
export interface ProductUseRow extends ProductRef {
  containers: number;
  namespaces: number;
  nodes: number;
}

export interface UsageFigureRow {
  productId: string;
  productName: string;
  metric: string;
  quantity: number;
  pvu: number | null;
  scope: string;
  sku: string | null;
  cloudpakId: string | null;
  cloudpakName: string | null;
  rule: string;
  nodes: string[];
  namespaces: string[];
}

export interface GpuSkuRow {
  sku: string | null;
  models: string[];
  /** Physical GPUs of this SKU on the cluster's nodes. */
  onNodes: number;
  nodes: string[];
  /** GPUs of nodes that run NVAIE-gated software (the "nodes" rule). */
  onGatedNodes: number;
  /** Physical GPUs allocated to NVAIE-gated pods (the "allocated" rule). */
  allocatedToGated: number;
  gatedProducts: string[];
  status: EntitlementStatus | null;
}

export interface PeakRow {
  key: string;
  clusterId: string;
  productId: string;
  productName: string;
  metric: string;
  scope: string;
  sku: string | null;
  cloudpakId: string | null;
  quantity: number;
  pvu: number | null;
  day: string;
}

/** One installation of `report installations`: a product in one container of one workload, first and last seen. */
export interface InstallationRow extends Omit<Installation, 'imageDigest'> {
  key: string;
}

export interface Period {
  from: string;
  /** Exclusive, as in `report usage`. */
  to: string;
  label: string;
}

export interface ClusterRow {
  id: string;
  name: string | null;
  source: string;
  lastSweep: string | null;
}

export interface OverviewView {
  clusters: ClusterRow[];
  tool: { version: string };
  lastSweep: string | null;
  nextSweep: string | null;
  sweeping: boolean;
  metadataOnly: boolean;
  /**
   * Nodes with and without the node agent: from the store's agent heartbeats when serve has a
   * store (`store`), else from what the latest report says of its nodes (`report`).
   */
  coverage: { source: 'store' | 'report'; nodes: number; withAgent: number; withoutAgent: number; nodesWithoutAgent: string[] };
  counts: { nodes: number; namespaces: number; pods: number; containers: number; images: number; errors: number };
  entitlements: { counts: Record<EntitlementStatus, number>; rows: EntitlementRow[] };
  products: { licensable: number; free: number; unknown: number; licensableContainers: number; freeContainers: number };
  period: Period;
  quarterPeaks: PeakRow[];
  ibmIncompleteAnnotationPods: string[];
  errors: Array<{ target: string; message: string }>;
}

export interface HistorySeries {
  key: string;
  label: string;
  scope: string;
  sku: string | null;
  cloudpakId: string | null;
  peak: { quantity: number; day: string };
  daily: Array<{ day: string; quantity: number }>;
}

export interface HistoryChart {
  productId: string;
  productName: string;
  metric: string;
  /** Owned by the entitlements that name this product and metric; null when none does. */
  owned: number | null;
  series: HistorySeries[];
}

export interface HistoryView {
  period: Period;
  days: string[];
  charts: HistoryChart[];
  errors: Array<{ target: string; message: string }>;
}
