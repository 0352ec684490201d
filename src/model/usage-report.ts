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

