import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyReport } from '../model/report.js';
import { describeError, ExitCode } from '../errors.js';
import { loadFixtures } from '../fixtures/load.js';
import { writeDockerArchive, writeOciArchive } from '../fixtures/image-writer.js';
import { scanImageRef } from '../scan/image.js';
import type { CommandResult } from './command.js';
import { loadSignatureSet } from '../signatures/load.js';
import { toolVersion } from './version.js';

export interface DemoOptions {
  keep?: string;
}

/**
 * The main job on an embedded default: every signature fixture becomes a real image archive
 * (cycling through docker-archive, OCI gzip and OCI zstd), and the archives are scanned exactly
 * as `kensus scan image` scans user images. No cluster and no Docker needed.
 */
export async function runDemo(opts: DemoOptions): Promise<CommandResult> {
  const set = await loadSignatureSet();
  const fixtures = await loadFixtures();
  const dir = opts.keep ?? (await mkdtemp(join(tmpdir(), 'kensus-demo-')));
  await mkdir(dir, { recursive: true });
  const report = emptyReport(toolVersion());
  try {
    let i = 0;
    for (const fixture of fixtures) {
      const base = join(dir, `${fixture.signature}--${fixture.name}`);
      let ref: string;
      switch (i++ % 3) {
        case 0:
          await writeDockerArchive(fixture, `${base}.docker.tar`);
          ref = `docker-archive:${base}.docker.tar`;
          break;
        case 1:
          await writeOciArchive(fixture, `${base}.oci-gzip.tar`, { compression: 'gzip' });
          ref = `oci-archive:${base}.oci-gzip.tar`;
          break;
        default:
          await writeOciArchive(fixture, `${base}.oci-zstd.tar`, { compression: 'zstd' });
          ref = `oci-archive:${base}.oci-zstd.tar`;
      }
      try {
        report.images.push(await scanImageRef(ref, { set, cacheDir: null }));
      } catch (err) {
        report.errors.push({ target: ref, message: describeError(err) });
      }
    }
  } finally {
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
  return { report, exitCode: report.errors.length ? ExitCode.unreachable : ExitCode.ok };
}
