import type { Report } from '../model/report.js';
import type { ScanClusterOptions } from '../scan/cluster.js';
import type { Store } from '../store/open.js';

/**
 * One sweep of `kensus serve`, as the sweep thread runs it (sweep-thread.ts, scan-worker.ts):
 * the cluster scan of `scan cluster` with the same options, or with a history store the
 * recorded sweep of `kensus sweep`. Plain data only: it crosses to the worker by structured clone.
 */
export interface SweepJob {
  cluster: ScanClusterOptions;
  /** `serve --store`: record every sweep there (url undefined: the embedded default). */
  store?: { url: string | undefined; retention?: string };
}

export interface SweepOutcome {
  report: Report;
  /** The cluster the sweep recorded (what the store knows it by); null without a store. */
  clusterId: string | null;
}

/** Runs one sweep; the store is opened once per thread and kept for the next sweeps. */
export function sweepRunner(job: SweepJob): { run(): Promise<SweepOutcome>; close(): Promise<void> } {
  let store: Promise<Store> | null = null;
  return {
    async run() {
      if (!job.store) {
        const { scanCluster } = await import('../scan/cluster.js');
        return { report: (await scanCluster(job.cluster)).report, clusterId: null };
      }
      const [{ openStore }, { recordSweep }] = await Promise.all([import('../store/open.js'), import('../scan/sweep.js')]);
      store ??= openStore(job.store.url);
      const opened = await store.catch((err: unknown) => {
        store = null; // the next sweep tries again (the database may come back)
        throw err;
      });
      const { summary, report } = await recordSweep({ ...job.cluster, store: job.store.url, retention: job.store.retention }, { store: opened });
      return { report, clusterId: summary.clusterId };
    },
    async close() {
      const s = store;
      store = null;
      if (s) await (await s.catch(() => null))?.close();
    },
  };
}
