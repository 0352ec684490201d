import { badInput } from '../errors.js';
import type { Inventory } from '../inventory/inventory.js';
import { loadEntitlements } from '../licensing/entitlements.js';
import { loadGpuLicenseMap } from '../licensing/gpu-licenses.js';
import { loadCoreFactors } from '../licensing/metrics.js';
import { log } from '../log.js';
import type { Report, UsageRow } from '../model/report.js';
import { deriveClusterId } from '../report/cluster.js';
import { openStore, type Store } from '../store/open.js';
import { beginSweep, completeSweep, inShard, recordedFindings, recordImageScan, recordObservations, type Shard } from '../store/record.js';
import { iso } from '../store/util.js';
import { coverageWhereAgentsRan, markAgents } from './coverage.js';
import type { AgentCoverageReport } from '../model/usage-report.js';
import { defaultScanImage, loadClusterModel, scanCluster, usageOptionsOf, type ScanClusterDeps, type ScanClusterOptions } from './cluster.js';

/**
 * `kensus sweep`: a cluster scan (as `scan cluster`) recorded in the history store, step by step
 * (src/store/record.ts): the run, each image's findings as soon as it is read, the containers
 * seen, then that moment's licence figures. Incremental: an image digest the store holds for
 * this signature set is not read again. With a shard, only the images whose digest falls in it.
 */
export interface SweepOptions extends ScanClusterOptions {
  /** `--store URL` (default: the embedded SQLite store). */
  store?: string;
  /** When the cluster was listed; required with --snapshot (when the snapshot was taken). */
  observedAt?: string;
  shard?: Shard;
  /** Groups the shards of one run (an Indexed Job's name); default: one run per process. */
  runId?: string;
  retention?: string;
}

/** The `kensus sweep` document: what was recorded. */
export interface SweepResult {
  schemaVersion: '1';
  store: string;
  clusterId: string;
  runId: string;
  shard: Shard;
  observedAt: string;
  imagesScanned: number;
  imagesReused: number;
  imagesInOtherShards: number;
  containersObserved: number;
  /** Whether this run's figures are in (false until every shard of the run has recorded). */
  figured: boolean;
  usage: UsageRow[];
  errors: Report['errors'];
  /** Which nodes no node agent covers, when agents ever reported for this cluster (issue 15). */
  agentCoverage?: AgentCoverageReport;
}

export async function sweep(opts: SweepOptions, deps: ScanClusterDeps & { store?: Store } = {}): Promise<SweepResult> {
  return (await recordSweep(opts, deps)).summary;
}

/** The sweep, with the cluster report it recorded (`serve --store` serves it). */
export async function recordSweep(opts: SweepOptions, deps: ScanClusterDeps & { store?: Store } = {}): Promise<{ summary: SweepResult; report: Report }> {
  if (opts.snapshot && !opts.observedAt) {
    throw badInput('--snapshot needs --observed-at TIME: when the snapshot was taken', 'e.g. --observed-at 2026-08-14T02:00:00Z (record snapshots oldest first)');
  }
  const observedAt = iso(opts.observedAt ?? new Date());
  const shard = opts.shard ?? { index: 0, count: 1 };
  // Bad input first (exit 2), then the store, then the cluster.
  const entitlements = opts.entitlements ? await loadEntitlements(opts.entitlements) : null;
  const usageOptions = usageOptionsOf(opts, entitlements, loadGpuLicenseMap(opts.gpuSkuMap), loadCoreFactors(opts.coreFactors));
  const store = deps.store ?? (await openStore(opts.store));
  try {
    const { loadSignatureSet } = await import('../signatures/load.js');
    const set = await loadSignatureSet(opts.signatures);
    const model = await loadClusterModel(opts, deps);
    const clusterId = deriveClusterId({ model } as Inventory, opts.clusterId);
    const handle = await beginSweep(store, {
      clusterId,
      clusterName: opts.clusterId ?? model.clusterName,
      observedAt,
      source: model.source,
      signatureSetVersion: set.version,
      toolVersion: opts.version,
      shard,
      runId: opts.runId,
      // Listing one node's pods (the node agent), the run covers that node's containers only.
      node: opts.podsOnNode,
      usageOptions,
      entitlements,
    });

    let scanned = 0;
    let reused = 0;
    let elsewhere = 0;
    const base = opts.metadataOnly ? undefined : (deps.scanImage ?? (await defaultScanImage(opts)));
    const scanImage: ScanClusterDeps['scanImage'] = base
      ? async (image) => {
          if (!inShard(image.digest ?? image.image, shard)) {
            elsewhere++;
            return [];
          }
          if (image.digest) {
            const known = await recordedFindings(store.db, image.digest, set.version);
            if (known) {
              reused++;
              return known;
            }
          }
          const products = await base(image);
          // Committed now: a sweep killed later keeps every image it has read.
          if (image.digest) await recordImageScan(store, handle, { ref: image.image, digest: image.digest, products });
          scanned++;
          return products;
        }
      : undefined;
    const { report } = await scanCluster({ ...opts, now: new Date(observedAt) }, { ...deps, loadModel: async () => model, scanImage });
    await recordObservations(store, handle, { model, report });
    const { figured } = await completeSweep(store, handle, { errors: report.errors, imagesScanned: scanned, imagesReused: reused, retention: opts.retention });
    log.info({ clusterId, observedAt, scanned, reused, elsewhere, figured }, 'sweep recorded');
    const [coverage] = await coverageWhereAgentsRan(store, [clusterId], observedAt);
    // The report serve shows (its dashboard reads nodes[].agent): each node's agent, or false for none.
    if (coverage) markAgents(report.nodes, coverage);
    const summary: SweepResult = {
      schemaVersion: '1',
      store: store.display,
      clusterId,
      runId: handle.runId,
      shard,
      observedAt,
      imagesScanned: scanned,
      imagesReused: reused,
      imagesInOtherShards: elsewhere,
      containersObserved: report.containers.filter((c) => inShard(c.imageDigest ?? c.image, shard)).length,
      figured,
      usage: shard.count > 1 ? [] : report.usage,
      errors: report.errors,
      ...(coverage ? { agentCoverage: coverage } : {}),
    };
    return { summary, report };
  } finally {
    if (!deps.store) await store.close();
  }
}
