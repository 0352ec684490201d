import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fixture, FixtureLayer } from '../../src/fixtures/format.js';
import { writeDockerArchive } from '../../src/fixtures/image-writer.js';
import { dockerCli, requireBinary } from './daemons.js';

/**
 * Docker images made from signature fixtures, with a shell: a first layer holding Debian's
 * static busybox (as /bin/busybox plus the applets the tracker uses), then the fixture's own
 * layers (whiteouts and all, since the image is `docker load`ed from a real docker-archive).
 * The same archive serves the image scan, so exec and image scans look at identical bytes.
 */
export const trackerApplets = ['sh', 'head', 'stat', 'readlink', 'date', 'wc', 'sed', 'tr', 'id', 'ls', 'kill', 'renice', 'ionice', 'sleep', 'cat', 'cp', 'mkdir', 'chmod', 'ps', 'rm', 'touch', 'mkfifo', 'ln', 'echo', 'true'];

export function busyboxLayer(applets = trackerApplets): FixtureLayer {
  const busybox = readFileSync(requireBinary('busybox', 'busybox-static'));
  return {
    files: [
      { path: '/bin/busybox', base64: busybox.toString('base64'), mode: 0o755 },
      ...applets.map((a) => ({ path: `/bin/${a}`, symlink: 'busybox' })),
      { path: '/tmp', dir: true, mode: 0o1777 },
    ],
  };
}

export function docker(args: string[], input?: Buffer | string): string {
  return execFileSync(dockerCli(), args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 }).trim();
}

export interface BuiltImage {
  tag: string;
  /** docker-archive:PATH of the very archive that was loaded. */
  archiveRef: string;
  cleanup(): void;
}

/** Writes the fixture (with a busybox layer first unless `shell: false`) as a docker-archive and loads it as `tag`. */
export async function buildFixtureImage(fixture: Fixture, tag: string, options: { shell?: boolean; extraLayers?: FixtureLayer[] } = {}): Promise<BuiltImage> {
  const dir = mkdtempSync(join(tmpdir(), 'kensus-fixture-image-'));
  const archive = join(dir, 'image.tar');
  const layers = [...(options.shell === false ? [] : [busyboxLayer()]), ...fixture.layers, ...(options.extraLayers ?? [])];
  await writeDockerArchive({ ...fixture, image: { ...fixture.image, refs: [tag] }, layers }, archive);
  docker(['load', '-q', '-i', archive]);
  return {
    tag,
    archiveRef: `docker-archive:${archive}`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A minimal fixture: only what `layers` says (no expectations; for tests that build their own images). */
export function plainFixture(name: string, layers: FixtureLayer[], env: Record<string, string> = {}): Fixture {
  return { name, signature: 'test', description: name, image: { shell: true, env }, layers, expect: [], absent: [] };
}

/** Runs a container that just sleeps (busybox as PID 1), with extra `docker run` flags. */
export function runSleeper(image: string, name: string, flags: string[] = []): string {
  try {
    docker(['rm', '-f', name]);
  } catch {
    /* not there */
  }
  return docker(['run', '-d', '--name', name, ...flags, '--entrypoint', '/bin/busybox', image, 'sleep', '1000000']);
}

/** The container's processes (docker top: PID and command line), sorted. */
export function processes(container: string): string[] {
  return docker(['top', container, '-o', 'pid,args']).split('\n').slice(1).filter(Boolean).map((l) => l.trim()).sort();
}

/** Paths the container changed (docker diff; slow on big trees) and its processes. */
export function footprint(container: string): { diff: string[]; processes: string[] } {
  const diff = docker(['diff', container]).split('\n').filter(Boolean).sort();
  return { diff, processes: processes(container) };
}

export function removeContainer(name: string): void {
  try {
    docker(['rm', '-f', name]);
  } catch {
    /* gone */
  }
}

export function requireDockerCli(): void {
  dockerCli();
}
