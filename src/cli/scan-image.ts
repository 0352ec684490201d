import { emptyReport } from '../model/report.js';
import { describeError, exitCodeOf } from '../errors.js';
import { scanImageRef } from '../scan/image.js';
import { log } from '../log.js';
import type { CommandResult } from './command.js';
import { cacheDirOf, type CacheOptions } from './common.js';
import { liveSourceSettings, type LiveSourceOptions } from '../sources/live-config.js';
import { loadSignatureSet } from '../signatures/load.js';
import { toolVersion } from './version.js';
import { mark } from './marks.js';

export interface ScanImageOptions extends CacheOptions, LiveSourceOptions {
  signatures?: string;
  platform?: string;
  verify?: boolean;
}

/**
 * `kensus scan image REF...`: every image is scanned; one that cannot be read becomes an
 * `errors` row and the others go on. If none could be read there is no report, only the error
 * lines (never half a document), and the exit code says why (2 bad input, 3 unreachable).
 */
export async function runScanImage(refs: string[], opts: ScanImageOptions): Promise<CommandResult> {
  const live = liveSourceSettings(opts);
  const set = await loadSignatureSet(opts.signatures);
  mark('signatures loaded');
  const report = emptyReport(toolVersion());
  // The bar (cli-progress, string-width) is drawn only on a terminal, so only then loaded.
  const bars = process.stderr.isTTY ? (await import('./progress.js')).layerBar() : undefined;
  const ctx = { set, cacheDir: cacheDirOf(opts), platform: opts.platform, verify: opts.verify, live, onLayer: bars?.onLayer };
  let worst = 0;
  for (const ref of refs) {
    try {
      report.images.push(await scanImageRef(ref, ctx));
      bars?.stop();
    } catch (err) {
      bars?.stop();
      const message = describeError(err);
      log.debug({ ref, err }, 'image scan failed');
      report.errors.push({ target: ref, message });
      worst = Math.max(worst, exitCodeOf(err));
      if (refs.length > 1) process.stderr.write(`kensus: ${ref}: ${message}\n`);
      else process.stderr.write(`kensus: ${message}\n`);
    }
  }
  mark('images scanned');
  if (report.images.length === 0) return { report: null, exitCode: worst };
  return { report, exitCode: worst };
}
