import { ExitCode } from '../errors.js';
import type { Report } from '../model/report.js';
import { scanCluster, type ScanClusterDeps, type ScanClusterOptions } from '../scan/cluster.js';
import { cacheDirOf, type CacheOptions } from './common.js';
import { liveSourceSettings, type LiveSourceOptions } from '../sources/live-config.js';
import { positiveNumber } from './command.js';
import { toolVersion } from './version.js';
import { countBar } from './progress.js';
import { failsOn, type EntitlementResult } from '../licensing/entitlements.js';

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
  const bar = opts.metadataOnly ? undefined : countBar(deps.scanContainer ? 'containers' : 'images');
  let result: Awaited<ReturnType<typeof scanCluster>>;
  try {
    result = await scanCluster({ ...opts, concurrency, htFactor, cacheDir: cacheDirOf(opts), live, version: toolVersion(), progress: bar }, deps);
  } finally {
    bar?.stop();
  }
  const { report, failed } = result;
  if (failed && opts.failOn) for (const line of failureLines(report, opts.failOn)) process.stderr.write(`kensus: ${line}\n`);
  return { report, exitCode: failed ? ExitCode.policyFailed : ExitCode.ok };
}

/**
 * Why `--fail-on` failed, one line per entitlement at or past the status, so the reason is seen
 * whatever the format (Trivy prints its table; with -o json nothing else would say it).
 */
export function failureLines(report: Report, failOn: 'warning' | 'over' | 'unlicensed'): string[] {
  const results = (report.entitlements ?? []) as EntitlementResult[];
  return results
    .filter((r) => failsOn([r], failOn))
    .map((r) => {
      const by = r.owned > 0 ? `, ${r.used > r.owned ? `${round(r.used - r.owned)} over` : `${round(r.owned - r.used)} left`}` : '';
      const pct = r.percentage === null ? '' : ` (${r.percentage}%${r.threshold !== null ? ` of owned, alert at ${r.threshold}%` : ''}${by})`;
      const what = r.status === 'unlicensed' ? `uses ${r.used} with no entitlement` : `uses ${r.used} of ${r.owned} owned${pct}`;
      return `--fail-on ${failOn}: ${r.product} ${r.metric} is ${r.status}: ${what}`;
    });
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
