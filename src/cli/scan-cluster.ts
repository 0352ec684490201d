import { ExitCode } from '../errors.js';
import type { Report } from '../model/report.js';
import { scanCluster, type ScanClusterDeps, type ScanClusterOptions } from '../scan/cluster.js';
import { cacheDirOf, type CacheOptions } from './common.js';
import { liveSourceSettings, type LiveSourceOptions } from '../sources/live-config.js';
import { positiveNumber } from './command.js';
import { toolVersion } from './version.js';

export type { ScanClusterDeps } from '../scan/cluster.js';

/** The flags of `kensus scan cluster` (numbers as commander gives them). */
export interface ScanClusterCommandOptions extends Omit<ScanClusterOptions, 'concurrency' | 'htFactor' | 'cacheDir' | 'version' | 'live'>, CacheOptions, LiveSourceOptions {
  concurrency?: string | number;
  htFactor?: string | number;
}

/**
 * `kensus scan cluster`: flags → scan/cluster.ts. Exit code 1 when --fail-on is reached.
 */
export async function runScanCluster(opts: ScanClusterCommandOptions, deps: ScanClusterDeps = {}): Promise<{ report: Report; exitCode: number }> {
  const live = liveSourceSettings(opts);
  const concurrency = positiveNumber('--concurrency', opts.concurrency, 4);
  const htFactor = opts.htFactor === undefined ? undefined : positiveNumber('--ht-factor', opts.htFactor, 2);
  const { report, failed } = await scanCluster({ ...opts, concurrency, htFactor, cacheDir: cacheDirOf(opts), live, version: toolVersion() }, deps);
  return { report, exitCode: failed ? ExitCode.policyFailed : ExitCode.ok };
}
