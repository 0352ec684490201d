import { badInput } from '../errors.js';
import { textTable } from '../report/table.js';
import type { ScanClusterDeps } from '../scan/cluster.js';
import { recordSweep, type SweepResult } from '../scan/sweep.js';
import { beaconOf, uploadReportNdi, type BeaconCliOptions } from './beacon.js';
import { parseShard } from '../store/record.js';
import { parseRetention } from '../store/retention.js';
import { liveSourceSettings, type LiveSourceOptions } from '../sources/live-config.js';
import type { ScanClusterCommandOptions } from './scan-cluster.js';
import { positiveNumber, type CommandResult } from './command.js';
import { cacheDirOf } from './common.js';
import { formatOf, writeRendered, type OutputOptions } from './output.js';
import { toolVersion } from './version.js';

export interface SweepCommandOptions extends ScanClusterCommandOptions, LiveSourceOptions, OutputOptions, BeaconCliOptions {
  store?: string;
  observedAt?: string;
  shard?: string;
  runId?: string;
  retention?: string;
}

function renderSweep(r: SweepResult): string {
  const lines = [
    `recorded cluster ${r.clusterId} as of ${r.observedAt} in ${r.store}`,
    `run ${r.runId}${r.shard.count > 1 ? ` shard ${r.shard.index}/${r.shard.count}` : ''}: ${r.imagesScanned} image(s) read, ${r.imagesReused} already in the store${r.imagesInOtherShards ? `, ${r.imagesInOtherShards} in other shards` : ''}, ${r.containersObserved} container(s) observed`,
    r.figured ? 'licence figures recorded into the daily peaks' : 'licence figures wait for the other shards of the run',
  ];
  const cov = r.agentCoverage;
  if (cov) lines.push(`node agents cover ${cov.covered} of ${cov.nodes.length} node(s)${cov.uncovered.length ? `; no agent on ${cov.uncovered.join(', ')}` : ''}`);
  if (r.usage.length) lines.push('', textTable(['PRODUCT', 'METRIC', 'SCOPE', 'QUANTITY', 'PVU'], r.usage.map((u) => [u.productName, u.metric, u.scope, String(u.quantity), u.pvu === null ? '-' : String(u.pvu)])).trimEnd());
  if (r.errors.length) lines.push('', textTable(['TARGET', 'ERROR'], r.errors.map((e) => [e.target, e.message])).trimEnd());
  return `${lines.join('\n')}\n`;
}

/** `kensus sweep`: flags → scan/sweep.ts; prints what was recorded (table or JSON). */
export async function runSweep(opts: SweepCommandOptions, deps: ScanClusterDeps = {}): Promise<CommandResult> {
  const format = formatOf(opts);
  if (format !== 'table' && format !== 'json') throw badInput(`kensus sweep prints table or json, not '${format}'`, 'use --format json; the recorded history is read with kensus report usage');
  if (opts.retention) parseRetention(opts.retention);
  const beacon = await beaconOf(opts);
  if (beacon && opts.shard && parseShard(opts.shard).count > 1) {
    throw badInput('--beacon-url with --shard: a shard holds only part of the images and figures', 'upload from an unsharded sweep (or serve --beacon-url), or drop --beacon-url');
  }
  const { summary: result, report } = await recordSweep(
    {
      ...opts,
      concurrency: positiveNumber('--concurrency', opts.concurrency, 4),
      htFactor: opts.htFactor === undefined ? undefined : positiveNumber('--ht-factor', opts.htFactor, 2),
      cacheDir: cacheDirOf(opts),
      live: liveSourceSettings(opts),
      version: toolVersion(),
      shard: opts.shard ? parseShard(opts.shard) : undefined,
    },
    deps,
  );
  // Recorded first: a beacon that is down never costs the history a sweep.
  const beaconResult = beacon ? await uploadReportNdi(beacon, report) : null;
  const doc = beaconResult ? { ...result, beacon: beaconResult } : result;
  await writeRendered(format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderSweep(result) + (beaconResult ? `beacon: ${beaconResult.spooled.length} .ndi file(s) spooled, ${beaconResult.uploaded.length} uploaded, ${beaconResult.waiting} waiting\n` : ''), format, opts);
  return { report: null, exitCode: 0 };
}
