import { readFile } from 'node:fs/promises';
import parseDurationText from 'parse-duration';
import { badInput, describeError } from '../errors.js';
import { entitlementCovers, loadEntitlements, type Entitlement } from '../licensing/entitlements.js';
import { defaultPolicy, loadPolicy } from '../server/policy.js';
import { startServer } from '../server/app.js';
import { workerImageScanner } from '../server/image-scans.js';
import type { HistoryProvider } from '../server/history.js';
import { storeHistory } from '../server/store-history.js';
import { anyOf, kubernetesAccess, openAccess, tokenFileAccess, type Authenticator } from '../server/auth.js';
import { reloadOnChange } from '../server/reload.js';
import { metadataPatternIds } from '../inventory/metadata.js';
import { log } from '../log.js';
import { toolVersion } from './version.js';
import type { CommandResult } from './command.js';
import type { ServeIntegrationOptions } from './ibm-license-service.js';
import { cacheDirOf, type CacheOptions } from './common.js';
import { loadSignatureSet } from '../signatures/load.js';
import type { Report } from '../model/report.js';
import type { ScanClusterOptions } from '../scan/cluster.js';
import { sweepThread, type SweepThread } from '../server/sweep-thread.js';
import { latestReport } from '../store/current.js';
import { recordPodEvents } from '../store/events.js';
import { openStore, type Store } from '../store/open.js';
import { resolveClusters } from '../store/report.js';
import { ibmNinetyDayRule } from '../store/license-service.js';
import { ibmNinetyDayGauges } from '../server/metrics.js';
import type { IbmNinetyDayStatus } from '../model/usage-report.js';
import { parseRetention } from '../store/retention.js';
import { headroomFor, podFigures } from '../store/headroom.js';
import type { LicenceCheck } from '../server/admission-licence.js';
import { loadKubeConfig } from '../cluster/live.js';
import { watchPods, type PodWatch } from '../cluster/pod-watch.js';

export interface ServeCommandOptions extends CacheOptions, ServeIntegrationOptions {
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
  /** Seconds one background image scan may take (it runs in a worker thread). */
  scanTimeout?: string;
  /** Time one sweep may take (it runs in its own worker thread), a duration such as 6h. */
  sweepTimeout?: string;
  sweep?: boolean;
  metadataOnly?: boolean;
  /** IBM's literal no-limit rule for the sweeps, as `scan cluster --ibm-strict-no-limit`. */
  ibmStrictNoLimit?: boolean;
  apiTokenFile?: string;
  /** 'kubernetes', or false for --no-api-auth. */
  apiAuth?: 'kubernetes' | false;
  maxConnections?: string;
  /** History store (`--store` alone: the embedded default): sweeps recorded, served after a restart, pods watched between sweeps. */
  store?: string | boolean;
  clusterId?: string;
  retention?: string;
}

/**
 * `--interval`: a duration as Prometheus and Go users type it (30m, 6h, 1h30m, 1d), through
 * parse-duration; a bare number has no unit and is refused rather than read as milliseconds.
 */
export function parseInterval(text: string): number {
  return parseDuration('--interval', text);
}

/** A duration flag (`--interval`, `--sweep-timeout`): a second up to 24 days. */
function parseDuration(flag: string, text: string): number {
  const ms = /[a-z]/i.test(text) ? parseDurationText(text.trim()) : null;
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 1000) {
    throw badInput(`${flag} '${text}' is not a duration of a second or more`, 'give a number with a unit, e.g. 30m, 6h, 1h30m or 1d');
  }
  // Node's timers hold at most 2^31-1 ms (24.8 days); a longer one would fire at once.
  if (ms > 2_147_483_647) throw badInput(`${flag} '${text}' is longer than 24 days`, 'give at most 24d');
  return ms;
}

/** Who may read the page and the read API, from --api-token-file, --api-auth and --no-api-auth. */
async function authenticatorOf(opts: ServeCommandOptions): Promise<Authenticator | undefined> {
  if (opts.apiAuth === false) {
    if (opts.apiTokenFile) throw badInput('--no-api-auth and --api-token-file contradict each other', 'give one of them');
    log.warn('the page and the read API are open to anyone who reaches this server (--no-api-auth)');
    return openAccess();
  }
  const list: Authenticator[] = [];
  if (opts.apiTokenFile) list.push(tokenFileAccess(opts.apiTokenFile));
  if (opts.apiAuth === 'kubernetes') {
    const [{ loadKubeConfig }, { kubeReviews }] = await Promise.all([import('../cluster/live.js'), import('../server/kube-reviews.js')]);
    list.push(kubernetesAccess(kubeReviews(loadKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.context }))));
  }
  return list.length ? anyOf(list) : undefined;
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
  // deny:/warn: may name only ids findings can carry: a typo would deny nothing
  const knownIds = new Set([...set.signatures.map((s) => s.id), ...metadataPatternIds()]);
  // One object for the server's lifetime: a reload replaces its fields, so admission reads the new ones.
  const policy = { ...(opts.policy ? await loadPolicy(opts.policy, knownIds) : defaultPolicy) };
  let entitlements = opts.entitlements ? await loadEntitlements(opts.entitlements) : [];
  const cacheDir = cacheDirOf(opts);
  const intervalMs = parseInterval(opts.interval ?? '24h');
  const maxConnections = Number(opts.maxConnections ?? '1024');
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw badInput(`--max-connections '${opts.maxConnections}' is not a positive whole number`, 'e.g. --max-connections 1024');
  const auth = await authenticatorOf(opts);
  const scanTimeout = Number(opts.scanTimeout ?? '300');
  if (!(scanTimeout > 0)) throw badInput(`--scan-timeout '${opts.scanTimeout}' is not a number of seconds`, 'give a positive number, e.g. 300');
  // Background scans of images met in admission run in a worker thread, never on the event loop.
  const scanner = workerImageScanner({ signatures: opts.signatures, cacheDir, timeoutMs: scanTimeout * 1000 });

  const clusterOptions = {
    snapshot: opts.snapshot,
    kubeconfig: opts.kubeconfig,
    context: opts.context,
    entitlements: opts.entitlements,
    signatures: opts.signatures,
    cacheDir,
    metadataOnly: opts.metadataOnly,
    ibmStrictNoLimit: opts.ibmStrictNoLimit,
    clusterId: opts.clusterId,
    version: toolVersion(),
  };
  // Sweeps run in a worker thread (issue 19): a large cluster's scan never holds up admission or /healthz.
  const sweepTimeoutMs = parseDuration('--sweep-timeout', opts.sweepTimeout ?? '6h');
  const sweeper = opts.sweep === false ? null : sweepThread({ cluster: clusterOptions, ...(opts.store !== undefined ? { store: { url: storeUrlOf(opts), retention: opts.retention } } : {}) }, { signatures: opts.signatures, cacheDir, timeoutMs: sweepTimeoutMs });
  const history = opts.store !== undefined ? await openHistory(opts, sweeper) : null;
  // The IBM License Service collection and the beacon uploader, when their flags are given.
  const { startServeIntegrations, recordCollection } = await import('./ibm-license-service.js');
  // With --store, each License Service run's rows are recorded beside the sweeps' IBM figures.
  const integrations = await startServeIntegrations(opts, history
    ? (r) => recordCollection(history.store, r, Date.now(), opts.clusterId).then(
        () => undefined,
        (err: unknown) => log.warn({ err: describeError(err) }, 'License Service rows not recorded in the store; the .ndi file has them'),
      )
    : undefined);
  const sweep = !sweeper ? undefined : history ? history.sweep : async () => (await sweeper.run()).report;
  const sweepAndUpload = sweep && integrations ? async () => { const report = await sweep(); await integrations.onReport(report); return report; } : sweep;

  const server = await startServer({
    initialReport: history?.initialReport ?? null,
    // Without a store the dashboard's history is this process's sweeps, kept in memory.
    history: history?.provider,
    host: opts.host,
    port,
    tls,
    intervalMs,
    sweep: sweepAndUpload,
    auth,
    limits: { maxConnections },
    version: toolVersion(),
    admission: { set, policy, entitled: (p, ns) => entitlementCovers(entitlements, p, ns) },
    // With a store and entitlements: would this pod take a figure over what is owned?
    ...(history ? { licence: licenceCheck(history, () => entitlements) } : {}),
    scanImage: (ref) => scanner.scan(ref),
  }).catch(async (err) => {
    await integrations?.stop(); // their timers would keep the process alive
    throw err;
  });
  // IBM's 90-day rule in /metrics, from the store, after each recorded sweep (and now).
  if (history) history.onNinetyDay(ibmNinetyDayGauges(server.metrics.registry));
  const policyFile = opts.policy;
  const entitlementsFile = opts.entitlements;
  const stopWatching = reloadOnChange([
    ...(policyFile ? [{ file: policyFile, what: 'policy', apply: async () => void Object.assign(policy, await loadPolicy(policyFile, knownIds)) }] : []),
    ...(entitlementsFile ? [{ file: entitlementsFile, what: 'entitlements', apply: async () => void (entitlements = await loadEntitlements(entitlementsFile)) }] : []),
  ]);
  // The signal handlers go in before the line that says it is up: whoever waits for that line may stop it at once.
  const stopped = new Promise<Error | null>((resolve) => {
    const stop = () => resolve(null);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    void integrations?.fatal.then(resolve);
  });
  process.stderr.write(`kensus: serving on ${server.url} (admission: POST /validate, metrics: /metrics, page: /, report: /api/v1/report)\n`);
  // After the line that says it is up, which scripts wait for.
  if (!auth) log.warn('the read API and the page answer 401 until serve has --api-token-file FILE, --api-auth kubernetes or --no-api-auth');
  const fatal = await stopped;
  log.info('shutting down');
  stopWatching();
  await Promise.all([server.close(), integrations?.stop()]);
  await sweeper?.close();
  await history?.close();
  await scanner.close();
  if (fatal) throw fatal;
  return { report: null, exitCode: 0 };
}

/** Licence-aware admission: the pod's figures against the entitlements, from the store's current day. */
function licenceCheck(history: History, entitlementsNow: () => Entitlement[]): LicenceCheck {
  return async (pod, namespace) => {
    const entitlements = entitlementsNow();
    const cluster = history.currentCluster();
    if (!cluster) return { over: [], notes: [] };
    // IBM's 90-day rule: a pod of an overdue program (by its License Service annotation) is told so.
    const productId = (pod as { metadata?: { annotations?: Record<string, unknown> } }).metadata?.annotations?.productID;
    const notes = history.overdueIbm().filter((r) => r.clusterId === cluster && r.productId === productId && r.warning).map((r) => `kensus: ${r.warning}`);
    if (!entitlements.length) return { over: [], notes };
    const figures = await podFigures(history.store, cluster, pod);
    const over = (await headroomFor(history.store, cluster, figures, entitlements, namespace)).filter((h) => !h.fits).map((h) => `kensus: ${h.message}`);
    return { over, notes };
  };
}

interface History {
  store: Store;
  /** The cluster the store's figures are of: --cluster-id, the store's only one, or the last sweep's. */
  currentCluster(): string | undefined;
  /** IBM programs overdue under the 90-day rule, as of the last refresh. */
  overdueIbm(): IbmNinetyDayStatus[];
  /** Hands the 90-day rule's rows to `set` now and after every recorded sweep. */
  onNinetyDay(set: (rows: IbmNinetyDayStatus[]) => void): void;
  initialReport: Report | null;
  /** The dashboard's history, read from the store. */
  provider: HistoryProvider;
  sweep: () => Promise<Report>;
  close(): Promise<void>;
}

/**
 * `serve --store`: every sweep is recorded (scan/sweep.ts), the latest recorded one is served
 * until the first sweep of this process is done (a restart loses nothing), and after a live
 * sweep the pods are watched, their starts and stops recorded between sweeps.
 */
const storeUrlOf = (opts: ServeCommandOptions) => (typeof opts.store === 'string' ? opts.store : undefined);

async function openHistory(opts: ServeCommandOptions, sweeper: SweepThread | null): Promise<History> {
  if (opts.retention) parseRetention(opts.retention);
  const store = await openStore(storeUrlOf(opts));
  const known = opts.clusterId ? [opts.clusterId] : await resolveClusters(store, undefined).catch(() => []);
  const initialReport = known.length === 1 ? await latestReport(store, known[0], toolVersion()) : null;
  let current = known.length === 1 ? known[0] : undefined;
  let overdue: IbmNinetyDayStatus[] = [];
  let watch: PodWatch | null = null;
  let ninetyDay: ((rows: IbmNinetyDayStatus[]) => void) | null = null;
  const refreshNinetyDay = async (clusters: string[]) => {
    if (!ninetyDay || !clusters.length) return;
    const set = ninetyDay;
    await ibmNinetyDayRule(store, { clusters }).then((rows) => {
      overdue = rows.filter((r) => r.status === 'overdue');
      set(rows);
    }, (err: unknown) => log.warn({ err: describeError(err) }, 'the 90-day rule could not be read from the store'));
  };
  return {
    store,
    currentCluster: () => current,
    overdueIbm: () => overdue,
    onNinetyDay(set) {
      ninetyDay = set;
      void refreshNinetyDay(known.length === 1 ? known : []);
    },
    initialReport,
    provider: storeHistory(store),
    async sweep() {
      if (!sweeper) throw new Error('serve --no-sweep has no sweeps');
      // Recorded by the sweep thread over its own connection to the same store.
      const { report, clusterId } = await sweeper.run();
      if (clusterId) current = clusterId;
      if (clusterId) await refreshNinetyDay([clusterId]);
      if (!watch && !opts.snapshot && clusterId) {
        const kc = loadKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.context });
        watch = watchPods(kc, async (changes) => {
          await recordPodEvents(store, changes.map((c) => ({ ...c, clusterId })));
        });
        await watch.ready.catch((err: unknown) => log.warn({ err: describeError(err) }, 'pod watch did not start; sweeps go on'));
      }
      return report;
    },
    async close() {
      await watch?.stop();
      await store.close();
    },
  };
}
