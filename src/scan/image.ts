import type { ImageReport } from '../model/report.js';
import type { ScanSubject } from '../model/entry.js';
import type { SignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { extractPackages } from '../packages/index.js';
import { openImage } from '../sources/index.js';
import { readImage, type LayerProgress } from '../image/read.js';
import type { LiveSourceSettings } from '../image/types.js';
import { log } from '../log.js';

export interface ScanContext {
  set: SignatureSet;
  /** Layer cache directory; null disables the cache. */
  cacheDir: string | null;
  platform?: string;
  verify?: boolean;
  /** Where the live sources are (CLI flags); their defaults where not given. */
  live?: LiveSourceSettings;
  /** Progress of the layer reads of one image (the CLI draws it on a terminal). */
  onLayer?: (ref: string, progress: LayerProgress) => void;
  /**
   * Match the image's names (its refs) too; default true. The cluster scan says false: a name
   * belongs to the containers started from it, not to every name of the digest.
   */
  names?: boolean;
}

/**
 * One image, end to end: resolve the reference, read only the bytes the probe plan asks for,
 * parse package databases, match signatures. The same function serves the CLI, sweeps and the
 * long-running server.
 */
export async function scanImageRef(ref: string, ctx: ScanContext): Promise<ImageReport> {
  const handle = await openImage(ref, { platform: ctx.platform, verify: ctx.verify, live: ctx.live });
  try {
    const onLayer = ctx.onLayer;
    const image = await readImage(handle, ctx.set.plan, { cacheDir: ctx.cacheDir, verify: ctx.verify, onLayer: onLayer && ((p) => onLayer(ref, p)) });
    const subject: ScanSubject = {
      files: image.files,
      packages: await extractPackages(image.files),
      labels: image.labels,
      env: image.env,
      refs: ctx.names === false ? [] : image.refs,
    };
    const report: ImageReport = { ref, digest: handle.digest, source: handle.source, products: matchSubject(ctx.set, subject) };
    // Entries the reader refused (names escaping the root, ...) are said, not silently dropped.
    if (image.warnings.length) {
      report.warnings = image.warnings;
      log.warn({ ref, warnings: image.warnings }, 'image has entries that were not used');
    }
    return report;
  } finally {
    await handle.close();
  }
}

/**
 * What an image's config says (labels, env), without reading a layer: what an exec scan of a
 * container cannot see from inside it.
 */
export async function readImageConfig(ref: string, ctx: Pick<ScanContext, 'platform' | 'verify' | 'live'>): Promise<{ digest: string; labels: Record<string, string>; env: Record<string, string> }> {
  const handle = await openImage(ref, { platform: ctx.platform, verify: ctx.verify, live: ctx.live });
  try {
    return { digest: handle.digest, labels: handle.config.labels, env: handle.config.env };
  } finally {
    await handle.close();
  }
}
