/**
 * The worker thread behind `kensus serve`'s background image scans (image-scans.ts): it loads
 * the signatures once, then scans one image per message. Nothing here runs on the server's
 * event loop, so a slow or hostile image cannot stall admission, /healthz or /metrics.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, exitCodeOf } from '../errors.js';
import { scanImageRef } from '../scan/image.js';
import { loadSignatureSet } from '../signatures/load.js';

export interface ScanWorkerData {
  signatures?: string;
  cacheDir: string | null;
}

export type ScanRequest = { id: number; ref: string };
export type ScanReply =
  | { id: number; ok: true; report: import('../model/report.js').ImageReport }
  | { id: number; ok: false; message: string; exitCode: number }
  /** Sent once the signatures are loaded (id 0): scans' time budgets start from here. */
  | { id: 0; ready: true };

const data = workerData as ScanWorkerData;
const set = loadSignatureSet(data.signatures);
// A signature set that does not load fails the first scan with its message (below).
set.then(
  () => parentPort?.postMessage({ id: 0, ready: true } satisfies ScanReply),
  () => parentPort?.postMessage({ id: 0, ready: true } satisfies ScanReply),
);

parentPort?.on('message', (req: ScanRequest) => {
  void (async () => {
    try {
      const report = await scanImageRef(req.ref, { set: await set, cacheDir: data.cacheDir });
      parentPort!.postMessage({ id: req.id, ok: true, report } satisfies ScanReply);
    } catch (err) {
      parentPort!.postMessage({ id: req.id, ok: false, message: describeError(err), exitCode: exitCodeOf(err) } satisfies ScanReply);
    }
  })();
});
