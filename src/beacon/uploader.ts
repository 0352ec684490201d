import { systemClock, type Clock } from '../util/clock.js';
import { log } from '../log.js';
import type { BeaconSettings } from './settings.js';
import { Spool } from './spool.js';
import { upload, UploadError, type UploadOptions } from './upload.js';

export interface FlushResult {
  uploaded: string[];
  failed: { name: string; error: UploadError }[];
  /** Files still waiting. */
  waiting: number;
}

export interface UploaderOptions extends UploadOptions {
  clock?: Clock;
  /** Back-off between sweeps while the beacon fails: doubles from `minMs` up to `maxMs`. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** mustUpload true: the first sweep that cannot upload everything ends the uploader with this call. */
  onFatal?: (err: UploadError) => void;
}

/**
 * Every .ndi file goes to the spool first and leaves it only after the beacon answered 2xx, so
 * nothing is lost across beacon outages and restarts. `start()` keeps sweeping: at once when a
 * file arrives, then with back-off (or the beacon's Retry-After) while uploads fail. With
 * mustUpload (flexera-krm-agent-attributes.de.txt: "führt ein fehlgeschlagenes Hochladen von
 * Inventar dazu, dass der Pod … fehlschlägt") a failed sweep is fatal; without it (the default)
 * the uploader keeps running and retries.
 */
export class BeaconUploader {
  readonly spool: Spool;
  private readonly clock: Clock;
  private running: Promise<FlushResult> | null = null;
  private wake: AbortController | null = null;
  private stopper = new AbortController();
  private loop: Promise<void> | null = null;
  /** A file arrived since the current sweep listed the spool. */
  private pending = false;
  /** The last sweep's outcome. */
  last: FlushResult | null = null;

  constructor(
    readonly settings: BeaconSettings,
    private readonly opts: UploaderOptions = {},
  ) {
    this.spool = new Spool(settings.spoolDir);
    this.clock = opts.clock ?? systemClock;
  }

  /** Spools a file (durably) and wakes the sweeping loop. */
  async enqueue(name: string, content: string | Buffer): Promise<void> {
    await this.spool.put(name, content);
    this.pending = true;
    this.wake?.abort();
  }

  /** One sweep over the spool, oldest first. Sweeps never overlap. */
  flush(): Promise<FlushResult> {
    if (!this.running) {
      this.running = this.sweep().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async sweep(): Promise<FlushResult> {
    const uploaded: string[] = [];
    const failed: FlushResult['failed'] = [];
    const names = await this.spool.list();
    for (const name of names) {
      let body: Buffer;
      try {
        body = await this.spool.read(name);
      } catch {
        continue; // removed meanwhile
      }
      try {
        await upload(this.settings, name, body, this.opts);
        await this.spool.remove(name);
        uploaded.push(name);
        log.info({ file: name }, 'uploaded to the beacon');
      } catch (err) {
        const e = err instanceof UploadError ? err : new UploadError(String((err as Error).message ?? err), 'unreachable');
        failed.push({ name, error: e });
        // The beacon is down or refuses us: the other files would fare no better now.
        if (e.kind !== 'rejected') break;
      }
    }
    const waiting = (await this.spool.list()).length;
    this.last = { uploaded, failed, waiting };
    // The caller reports it (the CLI in one line, the loop below as a warning).
    if (failed.length) log.info({ error: failed[0].error.message, waiting }, 'beacon upload failed; the files stay spooled');
    return this.last;
  }

  /** Sweeps until stopped. */
  start(): void {
    if (this.loop) return;
    const min = this.opts.backoffMinMs ?? 30_000;
    const max = this.opts.backoffMaxMs ?? 5 * 60_000;
    this.loop = (async () => {
      let backoff = min;
      while (!this.stopper.signal.aborted) {
        this.pending = false;
        const r = await this.flush();
        let delay: number | null = null;
        if (r.failed.length) {
          log.warn({ error: r.failed[0].error.message, waiting: r.waiting, mustUpload: this.settings.mustUpload }, 'beacon upload failed; the files stay spooled');
          if (this.settings.mustUpload) {
            this.opts.onFatal?.(r.failed[0].error);
            return;
          }
          delay = Math.max(backoff, ...r.failed.map((f) => f.error.retryAfterMs ?? 0));
          backoff = Math.min(backoff * 2, max);
        } else {
          backoff = min;
          if (this.pending) continue;
        }
        this.wake = new AbortController();
        const signal = AbortSignal.any([this.wake.signal, this.stopper.signal]);
        // Nothing failed: sleep until a file arrives (a day at most, then look again).
        await this.clock.sleep(delay ?? 86_400_000, signal).catch(() => {});
        this.wake = null;
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
    await this.running;
  }
}
