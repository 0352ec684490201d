import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSnapshot } from '../cluster/snapshot.js';
import { emptyReport, type Report } from '../model/report.js';
import { badInput, describeError, ExitCode } from '../errors.js';
import { demoClusterList } from '../fixtures/demo-cluster.js';
import { loadFixtures } from '../fixtures/load.js';
import { writeDockerArchive, writeOciArchive } from '../fixtures/image-writer.js';
import { scanCluster } from '../scan/cluster.js';
import { scanImageRef } from '../scan/image.js';
import type { CommandResult } from './command.js';
import { loadSignatureSet } from '../signatures/load.js';
import { toolVersion } from './version.js';

export interface DemoOptions {
  keep?: string;
  /** Entitlements to reconcile the demo cluster against (default: the shipped docs/entitlements.yaml). */
  entitlements?: string;
  /** Only the image part. */
  imagesOnly?: boolean;
}

/** The shipped example entitlements file, found from the package root (src/cli, dist/cli or dist/cli-bundle). */
export function exampleEntitlementsFile(): string {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'entitlements.yaml');
  if (!existsSync(file)) throw badInput(`the example entitlements file ${file} is missing`, 'reinstall Kensus, or give one with --entitlements FILE');
  return file;
}

/**
 * The whole job on an embedded default, no cluster and no Docker needed:
 * 1. every signature fixture becomes a real image archive (cycling through docker-archive, OCI
 *    gzip and OCI zstd), scanned exactly as `kensus scan image` scans user images;
 * 2. the fixture cluster (src/fixtures/demo-cluster.ts) is scanned as a snapshot from its metadata,
 *    as `kensus scan cluster --snapshot --metadata-only` does, reconciled against the example
 *    docs/entitlements.yaml: NODES, LICENCE USAGE, GPU SKUS and ENTITLEMENTS.
 * One report holds both: the images of part 1, everything else from part 2 (the cluster's own
 * image rows are metadata echoes of its containers, so they are left out of the demo's IMAGES).
 */
export async function runDemo(opts: DemoOptions): Promise<CommandResult> {
  const entitlements = opts.imagesOnly ? undefined : (opts.entitlements ?? exampleEntitlementsFile());
  const set = await loadSignatureSet();
  const fixtures = await loadFixtures();
  const dir = opts.keep ?? (await mkdtemp(join(tmpdir(), 'kensus-demo-')));
  await mkdir(dir, { recursive: true });
  let report: Report = emptyReport(toolVersion());
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
  if (!opts.imagesOnly) {
    const snapshot = JSON.stringify(demoClusterList());
    const cluster = await scanCluster(
      { metadataOnly: true, entitlements, cacheDir: null, clusterId: 'kensus-demo-cluster', version: toolVersion() },
      { loadModel: async () => parseSnapshot(snapshot, 'the demo cluster') },
    );
    report = { ...cluster.report, images: report.images, errors: [...report.errors, ...cluster.report.errors] };
  }
  return { report, exitCode: report.errors.length ? ExitCode.unreachable : ExitCode.ok };
}
