/**
 * The history store (issue 14): every sweep recorded, daily peaks, quarterly reports. See
 * README.md beside this file for the tables and the rules.
 */
export { openStore, parseStoreUrl, defaultStorePath, displayUrl, migrate, type Store, type StoreLocation } from './open.js';
export { migrationNames } from './migrations.js';
export {
  beginSweep,
  recordImageScan,
  recordObservations,
  completeSweep,
  completePendingRuns,
  recordClusterReport,
  hasScan,
  recordedFindings,
  parseShard,
  inShard,
  shardHash,
  type Shard,
  type SweepStart,
  type SweepHandle,
  type ClusterReportInput,
} from './record.js';
export { recordPodEvent, type PodEvent, type PodStart, type PodStop } from './events.js';
export { inventoryAt, sampleAt, addSamples, type StoredUsageOptions } from './figures.js';
export {
  usageReport,
  installations,
  ibmFirstSeen,
  entitlementHistory,
  quarterPeriod,
  quarterOf,
  checkPeriod,
  resolveClusters,
  type UsageReport,
  type UsagePeak,
  type PooledPeak,
  type Installation,
  type IbmProgramHistory,
  type PooledEntitlement,
} from './report.js';
export { pruneHistory, parseRetention, retentionCutoff, DEFAULT_RETENTION } from './retention.js';
