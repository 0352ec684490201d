/**
 * The worker threads behind `kensus serve`'s background work: image scans of images met in
 * admission (image-scans.ts) and the scheduled cluster sweeps (sweep-thread.ts). One file, so
 * that the CLI bundle has one worker entry point; `workerData.sweep` says which job a thread
 * does. Nothing here runs on the server's event loop, so a slow or hostile image, or a sweep
 * of a large cluster, cannot stall admission, /healthz or /metrics.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, exitCodeOf } from '../errors.js';
import type { ImageReport } from '../model/report.js';
import { scanImageRef } from '../scan/image.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { mergeFindings } from '../inventory/merge.js';
import { sweepRunner, type SweepJob, type SweepOutcome } from './sweep-job.js';

export interface ScanWorkerData {
  signatures?: string;
  cacheDir: string | null;
  /** Present: this thread runs the server's sweeps, not image scans. */
  sweep?: SweepJob;
}

export type ScanRequest = { id: number; ref: string };
/** `close`: close the store and end the thread (a terminate would not let it close). */
export type SweepRequest = { id: number; sweep: true } | { id: number; close: true };
export type ScanReply =
  | { id: number; ok: true; report: ImageReport }
  | { id: number; ok: false; message: string; exitCode: number }
  /** Sent once the thread is ready (id 0): scans' time budgets start from here. */
  | { id: 0; ready: true };
export type SweepReply = { id: number; ok: true; outcome: SweepOutcome } | { id: number; ok: false; message: string; exitCode: number } | { id: 0; ready: true };

const data = workerData as ScanWorkerData;
const fail = (id: number, err: unknown) => ({ id, ok: false as const, message: describeError(err), exitCode: exitCodeOf(err) });

if (data.sweep) {
  const runner = sweepRunner(data.sweep);
  parentPort?.postMessage({ id: 0, ready: true } satisfies SweepReply);
  parentPort?.on('message', (req: SweepRequest) => {
    if ('close' in req) {
      void runner.close().finally(() => parentPort!.close());
      return;
    }
    void runner.run().then(
      (outcome) => parentPort!.postMessage({ id: req.id, ok: true, outcome } satisfies SweepReply),
      (err: unknown) => parentPort!.postMessage(fail(req.id, err) satisfies SweepReply),
    );
  });
} else {
  const set = loadSignatureSet(data.signatures);
  // A signature set that does not load fails the first scan with its message (below).
  set.then(
    () => parentPort?.postMessage({ id: 0, ready: true } satisfies ScanReply),
    () => parentPort?.postMessage({ id: 0, ready: true } satisfies ScanReply),
  );
  parentPort?.on('message', (req: ScanRequest) => {
    void (async () => {
      try {
        // The image's content, and of its names only the one scanned: other tags of the same
        // digest (a docker engine lists them all) are not this reference's (issue 13).
        const signatures = await set;
        const report = await scanImageRef(req.ref, { set: signatures, cacheDir: data.cacheDir, names: false });
        const byName = matchSubject(signatures, { files: new Map(), packages: [], labels: {}, env: {}, refs: [req.ref] });
        parentPort!.postMessage({ id: req.id, ok: true, report: { ...report, products: mergeFindings(report.products, byName) } } satisfies ScanReply);
      } catch (err) {
        parentPort!.postMessage(fail(req.id, err) satisfies ScanReply);
      }
    })();
  });
}
