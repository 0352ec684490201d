import { Worker } from 'node:worker_threads';
import { ExitCode, KensusError } from '../errors.js';
import { log } from '../log.js';
import type { SweepReply, SweepRequest, ScanWorkerData } from './scan-worker.js';
import type { SweepJob, SweepOutcome } from './sweep-job.js';
import { scanWorkerUrl } from './image-scans.js';

export interface SweepThread {
  /** One sweep in the thread; a second call while one runs waits for it (one sweep at a time). */
  run(): Promise<SweepOutcome>;
  close(): Promise<void>;
}

/**
 * The scheduled sweeps of `kensus serve` in a worker thread (issue 19): a sweep is CPU work
 * (listing and modelling the cluster, reading images, matching signatures, licence figures) and
 * on the server's event loop a large cluster kept admission reviews and /healthz waiting for
 * seconds. Only the finished report crosses back. The thread lives as long as the server, so
 * its store connection and caches serve every sweep; if it dies, the next sweep starts another.
 * A sweep past `timeoutMs` is stopped (its thread terminated) and fails, so one stuck sweep (a
 * hung API server, an endless image) does not keep the figures stale for ever.
 */
export function sweepThread(job: SweepJob, options: Pick<ScanWorkerData, 'signatures' | 'cacheDir'> & { timeoutMs?: number }): SweepThread {
  let worker: Worker | null = null;
  let ready: Promise<void> = Promise.resolve();
  let nextId = 1;
  let queue: Promise<unknown> = Promise.resolve();
  const pending = new Map<number, { resolve: (o: SweepOutcome) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const start = (): Worker => {
    const w = new Worker(scanWorkerUrl(), { workerData: { signatures: options.signatures, cacheDir: options.cacheDir, sweep: job } satisfies ScanWorkerData });
    w.unref();
    let markReady!: () => void;
    ready = new Promise<void>((r) => (markReady = r));
    w.on('message', (reply: SweepReply) => {
      if ('ready' in reply) return markReady();
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.outcome);
      else p.reject(new KensusError(reply.message, reply.exitCode === ExitCode.badInput ? ExitCode.badInput : ExitCode.unreachable));
    });
    w.on('error', (err) => {
      log.warn({ err: err.message }, 'sweep worker failed');
      if (worker === w) worker = null;
      failAll(new KensusError(`the sweep worker failed: ${err.message}`, ExitCode.unreachable));
    });
    w.on('exit', () => {
      markReady();
      if (worker === w) worker = null;
      failAll(new KensusError('the sweep worker stopped', ExitCode.unreachable));
    });
    return w;
  };

  const once = async (): Promise<SweepOutcome> => {
    worker ??= start();
    const w = worker;
    await ready;
    if (worker !== w) throw new KensusError('the sweep worker stopped before the sweep', ExitCode.unreachable);
    const id = nextId++;
    return new Promise<SweepOutcome>((resolve, reject) => {
      const budget = options.timeoutMs;
      const timer =
        budget === undefined
          ? undefined
          : setTimeout(() => {
              pending.delete(id);
              reject(new KensusError(`the sweep took longer than ${budget >= 60_000 ? `${Math.round(budget / 60_000)} min` : `${Math.round(budget / 1000)} s`} and was stopped`, ExitCode.unreachable, 'a larger cluster needs a longer --sweep-timeout; a hung API server or registry shows in the log'));
              if (worker === w) worker = null;
              void w.terminate(); // the only way to stop work in progress in a thread
            }, budget);
      timer?.unref();
      const done = () => timer && clearTimeout(timer);
      pending.set(id, { resolve: (o) => (done(), resolve(o)), reject: (e) => (done(), reject(e)) });
      w.postMessage({ id, sweep: true } satisfies SweepRequest);
    });
  };

  return {
    run() {
      const next = queue.then(once, once);
      queue = next.catch(() => undefined);
      return next;
    },
    async close() {
      const w = worker;
      worker = null;
      if (!w) return;
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage({ id: 0, close: true } satisfies SweepRequest);
      // A sweep in progress is not waited for: the store's writes are transactions.
      const timer = setTimeout(() => void w.terminate(), 5_000);
      timer.unref();
      await exited;
      clearTimeout(timer);
    },
  };
}
