import { Worker } from 'node:worker_threads';
import { ExitCode, KensusError } from '../errors.js';
import { log } from '../log.js';
import type { ImageReport } from '../model/report.js';
import type { ScanReply, ScanWorkerData } from './scan-worker.js';

export interface WorkerScannerOptions extends ScanWorkerData {
  /** A scan taking longer is stopped (its worker terminated) and fails; the next gets a new worker. */
  timeoutMs: number;
}

export interface WorkerScanner {
  scan(ref: string): Promise<ImageReport>;
  close(): Promise<void>;
}

/** The worker's file beside this module: scan-worker.js in dist/ and in the CLI bundle (its own entry point there). */
export function scanWorkerUrl(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './scan-worker.ts' : './scan-worker.js', here);
}

/**
 * Image scans for `kensus serve` in a worker thread with a time budget each (issue 19): a scan
 * is CPU work (inflating layers, matching signatures), and on the server's event loop one slow
 * image kept every admission review, /healthz and /metrics waiting. One scan at a time, as the
 * server queues them; a scan past its budget is stopped by terminating its worker.
 */
export function workerImageScanner(options: WorkerScannerOptions): WorkerScanner {
  let worker: Worker | null = null;
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: ImageReport) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const ready = new WeakMap<Worker, Promise<void>>();

  const start = (): Worker => {
    const w = new Worker(scanWorkerUrl(), { workerData: { signatures: options.signatures, cacheDir: options.cacheDir } satisfies ScanWorkerData });
    w.unref();
    let markReady!: () => void;
    ready.set(w, new Promise<void>((r) => (markReady = r)));
    w.on('exit', () => markReady());
    w.on('message', (reply: ScanReply) => {
      if ('ready' in reply) return markReady();
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.report);
      else p.reject(new KensusError(reply.message, reply.exitCode === ExitCode.badInput ? ExitCode.badInput : ExitCode.unreachable));
    });
    w.on('error', (err) => {
      log.warn({ err: err.message }, 'image scan worker failed');
      if (worker === w) worker = null;
      failAll(new KensusError(`the image scan worker failed: ${err.message}`, ExitCode.unreachable));
    });
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll(new KensusError('the image scan worker stopped', ExitCode.unreachable));
    });
    return w;
  };

  return {
    async scan(ref) {
      worker ??= start();
      const w = worker;
      // The budget is the scan's: starting a worker (loading the signatures) is not counted.
      await ready.get(w);
      if (worker !== w) throw new KensusError('the image scan worker stopped before the scan', ExitCode.unreachable);
      const id = nextId++;
      return new Promise<ImageReport>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new KensusError(`the scan of ${ref} took longer than ${Math.round(options.timeoutMs / 1000)} s and was stopped`, ExitCode.unreachable, 'the image is very large or hostile; scan it with kensus scan image to see why'));
          // the only way to stop work in progress in a thread
          if (worker === w) worker = null;
          void w.terminate();
        }, options.timeoutMs);
        timer.unref();
        pending.set(id, {
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        w.postMessage({ id, ref });
      });
    },
    async close() {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
