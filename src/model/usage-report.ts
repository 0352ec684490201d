/**
 * The documents of the history store's reports (`kensus report usage`, `report installations`):
 * CONTRACT.md's `report usage` JSON and its extensions. Produced by src/store/report.ts,
 * rendered by src/report/usage.ts.
 */
export interface Period {
  /** First day, YYYY-MM-DD. */
  from: string;
  /** Day after the last, YYYY-MM-DD (exclusive). */
  to: string;
}

export interface DailyQuantity {
  day: string;
  quantity: number;
}

export interface UsagePeak {
  clusterId: string;
  productId: string;
  productName: string;
  metric: string;
  scope: string;
  sku: string | null;
  cloudpakId: string | null;
  quantity: number;
  pvu: number | null;
  /** The first day the peak was reached. */
  day: string;
  daily: DailyQuantity[];
  /** The first day of the period with the figure (a deployment mid-quarter is reported from it). */
  firstDay: string;
  vendor: string | null;
  rule: string;
  /** IBM Cloud Pak details of the figure at its peak (bundled products and Cloud Paks). */
  cloudpak?: { name: string | null; version: string | null; metric: string | null; conversion: string | null };
}

/** A figure summed over clusters: per day the sum of each cluster's peak of that day. */
export interface PooledPeak extends Omit<UsagePeak, 'clusterId' | 'rule' | 'cloudpak'> {
  clusters: string[];
}

export interface UsageReport {
  schemaVersion: '1';
  period: Period;
  /** The quarter, when asked as one (YYYYQn). */
  quarter?: string;
  clusters: string[];
  peaks: UsagePeak[];
  /** With several clusters: each figure summed across them (IBM License Service Reporter's view). */
  pooled: PooledPeak[];
  errors: Array<{ target: string; message: string }>;
  /** Per cluster whose nodes run agents (`kensus agent`): which nodes no agent covers (absent when no agent ever reported). */
  agentCoverage?: AgentCoverageReport[];
}

/**
 * Which nodes of a cluster node agents cover: those with a recent heartbeat (src/store/agents.ts).
 * A node without one is seen by central sweeps only (no host reads, no hardware inventory).
 */
export interface AgentCoverageReport {
  clusterId: string;
  /** The time the coverage is judged at. */
  at: string;
  nodes: Array<{ node: string; lastHeartbeat: string | null; covered: boolean }>;
  covered: number;
  /** The nodes with no recent agent heartbeat. */
  uncovered: string[];
}

export interface Installation {
  clusterId: string;
  productId: string;
  product: string;
  vendor: string;
  namespace: string;
  workload: string;
  container: string;
  image: string;
  imageDigest: string | null;
  firstSeen: string;
  lastSeen: string;
  /** Still running at the latest record. */
  current: boolean;
}

export interface IbmProgramHistory {
  clusterId: string;
  productId: string;
  productName: string;
  /** The first day the program had a licence figure in the cluster. */
  firstDay: string;
  lastDay: string;
  /** Days from firstDay to `now` (IBM: License Service is due within 90 days of the first deployment). */
  daysSinceFirst: number;
}


/** A License Service figure of the period (its /products or /bundled_products rows per day). */
export interface LicenseServicePeak {
  clusterId: string;
  kind: 'product' | 'bundled';
  productId: string;
  productName: string;
  cloudpakId: string | null;
  metric: string;
  quantity: number;
  day: string;
  daily: DailyQuantity[];
}

/** One product (bundled product) on one day: Kensus's figure and License Service's, on a day both have data. */
export interface LicenseServiceComparisonRow {
  clusterId: string;
  day: string;
  kind: 'product' | 'bundled';
  productId: string;
  productName: string;
  cloudpakId: string | null;
  metric: string;
  kensus: number | null;
  licenseService: number | null;
  /** kensus − licenseService (a missing side counts 0). */
  difference: number;
  /** kensus-only: Kensus sees it, License Service does not count it; license-service-only: the reverse. */
  status: 'agree' | 'differ' | 'kensus-only' | 'license-service-only';
}

/** `report usage`'s `licenseService` field: IBM License Service's data beside Kensus's own IBM figures. */
export interface LicenseServiceComparison {
  clusters: Array<{ clusterId: string; licenseServiceDays: number; kensusDays: number; comparedDays: number; lastCollectedAt: string; serviceVersion: string }>;
  peaks: LicenseServicePeak[];
  comparison: LicenseServiceComparisonRow[];
}

/** IBM's 90-day rule for one program in one cluster: License Service is due within 90 days of its first deployment. */
export interface IbmNinetyDayStatus extends IbmProgramHistory {
  /** The 91st day: from then on the program runs past the rule without License Service. */
  dueDay: string;
  /** The last day License Service data was collected for the cluster, if ever. */
  licenseServiceLastDay: string | null;
  /** A sweep saw License Service's own container running in the last week. */
  licenseServiceRunning: boolean;
  /** ok: License Service is there; due: not yet, under 90 days; overdue: over 90 days without it (a warning). */
  status: 'ok' | 'due' | 'overdue';
  /** The warning, for overdue programs. */
  warning: string | null;
}
