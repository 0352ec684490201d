import type { Generated } from 'kysely';

/**
 * The tables of the history store, as Kysely sees them (the latest migration's shape; see
 * migrations.ts). One schema for SQLite and PostgreSQL: times are ISO-8601 UTC text with
 * milliseconds (`Date.toISOString()`, so text order is time order), days are `YYYY-MM-DD`,
 * structured values are JSON text, booleans are 0/1 integers. Every row carries its cluster id.
 * Nullable identity columns (a figure's SKU or Cloud Pak) are stored as '' inside primary keys.
 */
export interface Database {
  clusters: ClustersTable;
  sweep_runs: SweepRunsTable;
  scans: ScansTable;
  findings: FindingsTable;
  pod_specs: PodSpecsTable;
  observations: ObservationsTable;
  node_observations: NodeObservationsTable;
  pod_events: PodEventsTable;
  daily_usage: DailyUsageTable;
  usage_days: UsageDaysTable;
  entitlement_status: EntitlementStatusTable;
  quarterly_reports: QuarterlyReportsTable;
  agent_heartbeats: AgentHeartbeatsTable;
  node_hardware: NodeHardwareTable;
  license_service_days: LicenseServiceDaysTable;
  license_service_usage: LicenseServiceUsageTable;
}

export interface ClustersTable {
  cluster_id: string;
  name: string | null;
  first_seen: string;
  last_seen: string;
}

/** One `kensus sweep` process (one shard of a run when sharded). */
export interface SweepRunsTable {
  id: Generated<number>;
  cluster_id: string;
  /** Groups the shards of one run (Indexed Job); a run of one shard otherwise. */
  run_id: string;
  shard_index: number;
  shard_count: number;
  started_at: string;
  /** When the cluster was listed (or the snapshot taken: --observed-at). */
  observed_at: string;
  finished_at: string | null;
  /** 'running' → 'observed' (observations committed) → 'complete' (figures committed). A killed sweep stays where it was. */
  status: string;
  source: string;
  tool_version: string;
  signature_set_version: string;
  images_scanned: number;
  images_reused: number;
  error_count: number;
  /** JSON: the report's errors rows. */
  errors_json: string;
  /** JSON: the options of the licence computation (StoredUsageOptions). */
  usage_options_json: string;
  /** JSON: the entitlements the sweep was given, or null. */
  entitlements_json: string | null;
  /** A node agent's run: its node (0003); null for sweeps of the cluster. */
  node: string | null;
}

/** An image digest read with one signature-set version: incremental sweeps do not read it again. */
export interface ScansTable {
  digest: string;
  signature_set_version: string;
  /** The cluster whose sweep read it (the findings of a digest are the same in every cluster). */
  cluster_id: string;
  image_ref: string;
  source: string | null;
  scanned_at: string;
  /** JSON: the reader's warnings. */
  warnings_json: string;
}

export interface FindingsTable {
  digest: string;
  signature_set_version: string;
  cluster_id: string;
  product_id: string;
  vendor: string;
  product: string;
  edition: string | null;
  version: string | null;
  license_metric: string;
  /** 1, 0, or null (cannot be told). */
  licensable: number | null;
  confidence: string;
  /** JSON: the evidence rows. */
  evidence_json: string;
}

/** A pod as Kensus normalised it (ClusterPod JSON), by content hash: a changed pod is a new spec. */
export interface PodSpecsTable {
  cluster_id: string;
  pod_key: string;
  spec_json: string;
  first_seen: string;
}

/**
 * One container seen running an image, as an interval: open (closed_at null) from first_seen
 * until a sweep covering it no longer sees it or a stop event says it ended.
 */
export interface ObservationsTable {
  id: Generated<number>;
  cluster_id: string;
  pod_key: string;
  namespace: string;
  pod: string;
  pod_uid: string | null;
  /** The owning workload (Deployment/x, StatefulSet/y, ...), or the pod itself. */
  workload: string;
  container: string;
  node: string | null;
  image: string;
  image_digest: string | null;
  /** JSON: the container's products (ProductFinding[]). */
  products_json: string;
  method: string;
  phase: string;
  running: number;
  /** 28 bits of sha256(digest or image): `--shard I/N` covers the rows where hash % N == I. */
  shard_hash: number;
  first_seen: string;
  last_seen: string;
  closed_at: string | null;
  /** 'sweep' or 'event' (migration 2). */
  opened_by: string;
  /**
   * 'event' (a stop event: it ended at closed_at) or 'sweep' (a sweep no longer saw it: it ended
   * somewhere after last_seen); null while open (migration 2).
   */
  closed_by: string | null;
}

export interface NodeObservationsTable {
  id: Generated<number>;
  cluster_id: string;
  node: string;
  node_key: string;
  /** ClusterNode JSON. */
  spec_json: string;
  first_seen: string;
  last_seen: string;
  closed_at: string | null;
}

/** Pod starts and stops seen between sweeps (the informer of `serve --store`), migration 2. */
export interface PodEventsTable {
  id: Generated<number>;
  cluster_id: string;
  at: string;
  kind: string;
  namespace: string;
  pod: string;
  pod_uid: string | null;
  node: string | null;
  resource_version: string | null;
  /** 1 when it was applied to the recorded state (0: a sweep at or after it had already listed the cluster). */
  applied: number;
}

/** The peak of the day of one licence figure (the highest of the day's samples). */
export interface DailyUsageTable {
  cluster_id: string;
  day: string;
  product_id: string;
  metric: string;
  scope: string;
  /** '' for none. */
  sku: string;
  /** '' for none. */
  cloudpak_id: string;
  product_name: string;
  vendor: string | null;
  quantity: number;
  pvu: number | null;
  rule: string;
  /** When the peak was reached. */
  peak_at: string;
  /** JSON: the whole usage row at the peak. */
  row_json: string;
}

/** Days with data: how many samples (sweeps, events) the day's figures come from. */
export interface UsageDaysTable {
  cluster_id: string;
  day: string;
  samples: number;
  first_at: string;
  last_at: string;
}

export interface EntitlementStatusTable {
  id: Generated<number>;
  cluster_id: string;
  run_id: string;
  observed_at: string;
  product: string;
  metric: string;
  used: number;
  owned: number;
  percentage: number | null;
  threshold: number | null;
  status: string;
  basis: string;
}

/** A quarter's use report, kept when the days it was computed from are pruned. */
export interface QuarterlyReportsTable {
  /** A cluster id, or '*' for the report of all clusters. */
  cluster_id: string;
  quarter: string;
  generated_at: string;
  report_json: string;
}

/** One run of a node agent (`kensus agent`): the node it covered and what it read. */
export interface AgentHeartbeatsTable {
  id: Generated<number>;
  cluster_id: string;
  node: string;
  at: string;
  tool_version: string;
  /** Containers of the node's pods the agent saw. */
  containers: number;
  /** Of those, read from the host (/proc/PID/root). */
  containers_read: number;
  error_count: number;
}

/** A node's hardware as its agent read it; a new row when the reading changes. */
export interface NodeHardwareTable {
  id: Generated<number>;
  cluster_id: string;
  node: string;
  first_seen: string;
  last_seen: string;
  sockets: number;
  cores: number;
  threads: number;
  memory_bytes: number | null;
  cpu_model: string | null;
  instance_type: string | null;
  dmi_vendor: string | null;
  dmi_product: string | null;
  dmi_serial: string | null;
  /** The whole NodeHardware reading (src/cluster/hardware.ts). */
  hardware_json: string;
}

/** A day IBM License Service answered for (0004): no usage row that day means it counted nothing. */
export interface LicenseServiceDaysTable {
  cluster_id: string;
  day: string;
  /** The cluster id License Service data carries (the kube-system namespace uid). */
  ls_cluster_id: string;
  collected_at: string;
  service_version: string;
  products: number;
  bundled_products: number;
}

/** One License Service row of one day (0004): `/products` (kind 'product') or `/bundled_products` ('bundled'). */
export interface LicenseServiceUsageTable {
  cluster_id: string;
  day: string;
  kind: 'product' | 'bundled';
  product_id: string;
  metric: string;
  /** '' for a product row. */
  cloudpak_id: string;
  product_name: string;
  cloudpak_name: string | null;
  cloudpak_version: string | null;
  metric_conversion: string | null;
  /** metricQuantity of a product; metricMeasuredQuantity of a bundled product. */
  quantity: number;
  /** metricConvertedQuantity of a bundled product. */
  converted_quantity: number | null;
  peak_date: string | null;
}
