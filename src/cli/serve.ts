import { readFile } from 'node:fs/promises';
import parseDuration from 'parse-duration';
import { badInput } from '../errors.js';
import { entitlementCovers, loadEntitlements } from '../licensing/entitlements.js';
import { defaultPolicy, loadPolicy } from '../server/policy.js';
import { startServer } from '../server/app.js';
import { scanImageRef } from '../scan/image.js';
import { log } from '../log.js';
import { toolVersion } from './version.js';
import type { CommandResult } from './command.js';
import { cacheDirOf, type CacheOptions } from './common.js';
import { loadSignatureSet } from '../signatures/load.js';

export interface ServeCommandOptions extends CacheOptions {
  port: string;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  signatures?: string;
  snapshot?: string;
  kubeconfig?: string;
  context?: string;
  policy?: string;
  entitlements?: string;
  interval?: string;
  sweep?: boolean;
  metadataOnly?: boolean;
}

/**
 * `--interval`: a duration as Prometheus and Go users type it (30m, 6h, 1h30m, 1d), through
 * parse-duration; a bare number has no unit and is refused rather than read as milliseconds.
 */
export function parseInterval(text: string): number {
  const ms = /[a-z]/i.test(text) ? parseDuration(text.trim()) : null;
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 1000) {
    throw badInput(`--interval '${text}' is not a duration of a second or more`, 'give a number with a unit, e.g. 30m, 6h, 1h30m or 1d');
  }
  // Node's timers hold at most 2^31-1 ms (24.8 days); a longer one would fire at once.
  if (ms > 2_147_483_647) throw badInput(`--interval '${text}' is longer than 24 days`, 'give at most 24d');
  return ms;
}

/**
 * `kensus serve`: sweeps the cluster on an interval (or reads a snapshot), answers admission
 * reviews from what it knows, exposes metrics, a web page and the report. Runs until SIGTERM.
 */
export async function runServe(opts: ServeCommandOptions): Promise<CommandResult> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw badInput(`--port '${opts.port}' is not a port number`, 'give 0-65535');
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw badInput('--tls-cert and --tls-key go together', 'give both, or neither for plain HTTP');
  const tls = opts.tlsCert && opts.tlsKey ? { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey) } : undefined;
  const set = await loadSignatureSet(opts.signatures);
  const policy = opts.policy ? await loadPolicy(opts.policy) : defaultPolicy;
  const entitlements = opts.entitlements ? await loadEntitlements(opts.entitlements) : [];
  const cacheDir = cacheDirOf(opts);
  const intervalMs = parseInterval(opts.interval ?? '24h');

  const { scanCluster } = await import('../scan/cluster.js');
  const sweep =
    opts.sweep === false
      ? undefined
      : async () =>
          (
            await scanCluster({
              snapshot: opts.snapshot,
              kubeconfig: opts.kubeconfig,
              context: opts.context,
              entitlements: opts.entitlements,
              signatures: opts.signatures,
              cacheDir,
              metadataOnly: opts.metadataOnly,
              version: toolVersion(),
            })
          ).report;

  const server = await startServer({
    host: opts.host,
    port,
    tls,
    intervalMs,
    sweep,
    admission: { set, policy, entitled: (p, ns) => entitlementCovers(entitlements, p, ns) },
    scanImage: (ref) => scanImageRef(ref, { set, cacheDir }),
  });
  // The signal handlers go in before the line that says it is up: whoever waits for that line may stop it at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  process.stderr.write(`kensus: serving on ${server.url} (admission: POST /validate, metrics: /metrics, page: /, report: /api/v1/report)\n`);
  await stopped;
  log.info('shutting down');
  await server.close();
  return { report: null, exitCode: 0 };
}
