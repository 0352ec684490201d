import type { KubeConfig } from '@kubernetes/client-node';
import { log } from '../log.js';
import { licenseServiceClient, LicenseServiceError, type ClientOptions, type LicenseServiceEndpoint } from './client.js';
import { systemClock, type Clock } from '../util/clock.js';
import { collectOnce, CollectionError } from './collect.js';
import { localTimeZone, nextLocalRun } from './days.js';
import { discoverEndpoint, DiscoveryError } from './discovery.js';
import type { IbmLicenseServiceSettings } from './settings.js';
import type { CollectionResult } from './types.js';

/** "alle 5 Minuten" / "a retry loop with a 5 minute back-off". */
export const RETRY_MS = 5 * 60_000;

export interface CollectorOptions {
  settings: IbmLicenseServiceSettings;
  /** For discovery of missing settings; not called when the settings are complete. */
  kubeConfig?: () => KubeConfig;
  clock?: Clock;
  cacheDir: string;
  outputDir: string;
  /** The cluster's id (the .ndi's clusterid), or how to find it once the endpoint is known. */
  clusterId: string | ((kubeConfig: (() => KubeConfig) | undefined, endpointUrl: string) => Promise<string>);
  toolVersion: string;
  /** The cluster-local time zone of the 01:00 run (default: this process's zone). */
  timeZone?: string;
  retryMs?: number;
  client?: ClientOptions;
  /** Each written file, before the cache moves on (the beacon spool). */
  deliver?: (name: string, content: string) => Promise<void>;
  /** Each finished run (the history store, the web page). */
  onResult?: (result: CollectionResult) => void | Promise<void>;
}

export type CollectorState = 'discovering' | 'collecting' | 'waiting' | 'retrying' | 'stopped';

export interface CollectorStatus {
  state: CollectorState;
  /** When the loop wakes next (ms), while waiting or retrying. */
  nextAt: number | null;
  lastError: string | null;
  lastResult: CollectionResult | null;
  endpoint: string | null;
}

export interface Collector {
  readonly status: CollectorStatus;
  stop(): Promise<void>;
  /** Settles when the loop has ended (after stop()). */
  readonly done: Promise<void>;
}

/**
 * The long-running collection of ibm-license-service-inventory.txt: discover the service
 * (retry every 5 minutes while it is absent), check /version (retry every 5 minutes), run at
 * once, then every day at 01:00 cluster-local time. A failed run is retried 5 minutes later;
 * the days it fetched stay cached. A refused token or an unreachable service sends the loop
 * back to discovery, so a rotated token or a moved Service is picked up.
 */
export function startCollector(o: CollectorOptions): Collector {
  const clock = o.clock ?? systemClock;
  const retryMs = o.retryMs ?? RETRY_MS;
  const zone = o.timeZone ?? localTimeZone();
  const abort = new AbortController();
  const status: CollectorStatus = { state: 'discovering', nextAt: null, lastError: null, lastResult: null, endpoint: null };

  const wait = async (ms: number, state: CollectorState) => {
    status.state = state;
    status.nextAt = clock.now() + ms;
    try {
      await clock.sleep(ms, abort.signal);
    } finally {
      status.nextAt = null;
    }
  };

  const loop = async () => {
    let endpoint: LicenseServiceEndpoint | null = null;
    let discovered = false;
    let clusterId: string | null = typeof o.clusterId === 'string' ? o.clusterId : null;
    let mode: 'startup' | 'scheduled' = 'startup';
    while (!abort.signal.aborted) {
      if (!endpoint) {
        status.state = 'discovering';
        try {
          const d = await discoverEndpoint(o.settings, o.kubeConfig);
          endpoint = d.endpoint;
          discovered = d.discovered.length > 0;
          status.endpoint = endpoint.url;
          if (!clusterId && typeof o.clusterId === 'function') clusterId = await o.clusterId(o.kubeConfig, endpoint.url);
        } catch (err) {
          endpoint = null;
          status.lastError = (err as Error).message;
          log.warn({ error: status.lastError, kind: (err as DiscoveryError).kind, retryInMs: retryMs }, 'IBM License Service not found; retrying');
          await wait(retryMs, 'retrying');
          continue;
        }
      }
      status.state = 'collecting';
      try {
        const result = await collectOnce({
          api: licenseServiceClient(endpoint, o.client),
          cacheDir: o.cacheDir,
          outputDir: o.outputDir,
          clusterId: clusterId!,
          now: clock.now(),
          toolVersion: o.toolVersion,
          mode,
          deliver: o.deliver,
        });
        status.lastResult = result;
        status.lastError = null;
        await o.onResult?.(result);
        mode = 'scheduled';
        const next = nextLocalRun(clock.now(), zone);
        log.info({ next: new Date(next).toISOString(), zone }, 'next License Service collection');
        await wait(next - clock.now(), 'waiting');
      } catch (err) {
        if (abort.signal.aborted) break;
        const cause = err instanceof CollectionError ? err.cause : err;
        status.lastError = (err as Error).message;
        if (cause instanceof LicenseServiceError && (cause.kind === 'unauthorized' || cause.kind === 'unreachable') && discovered) {
          endpoint = null; // find the service and its token again
        }
        log.warn({ error: status.lastError, retryInMs: retryMs }, 'IBM License Service collection failed; retrying');
        await wait(retryMs, 'retrying');
      }
    }
  };

  const done = loop()
    .catch((err) => {
      if (!abort.signal.aborted) log.error({ error: (err as Error).message }, 'the License Service collector stopped');
    })
    .finally(() => {
      status.state = 'stopped';
    });
  return {
    status,
    done,
    async stop() {
      abort.abort(new Error('stopped'));
      await done;
    },
  };
}
