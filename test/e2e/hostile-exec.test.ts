/**
 * Containers that lie to the tracker's coordinator (issue 19): their `sh` is not a shell but a
 * program that answers the tracker script with a stream of its own. Run through the built CLI
 * (`kensus scan container NAME --runtime docker`): every one ends, within its time bound, in one
 * clear `errors` row (exit 3: nothing could be scanned), and nothing of it stays running.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/daemons.js';
import { busyboxLayer, buildFixtureImage, docker, plainFixture, processes, removeContainer, runSleeper, type BuiltImage } from '../support/fixture-images.js';

const prefix = `kensus-hostile-${process.pid}`;
const images: BuiltImage[] = [];
const containers: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `node bin/kensus.js ARGS`, killed after `timeoutMs` (then code is null). */
function kensus(args: string[], timeoutMs: number): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['bin/kensus.js', ...args], { env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
}

/**
 * A container whose /bin/sh is `body` run by busybox: `docker exec … sh -c …` (how the tracker is
 * started) runs it instead of a shell. It first sends the tracker's hello frame, as a real one does.
 */
async function buildLiar(name: string, body: string): Promise<string> {
  const script = ['#!/bin/busybox sh', 'h="pid=$$ nice=0 uid=0"', "printf 'KENSUS1 H 0 %d\\n%s' \"${#h}\" \"$h\"", body, ''].join('\n');
  const img = await buildFixtureImage(plainFixture(name, [busyboxLayer(), { files: [{ path: '/bin/sh', content: script, mode: 0o755 }] }]), `${prefix}-${name}:test`, { shell: false });
  images.push(img);
  const container = `${prefix}-${name}`;
  containers.push(container);
  runSleeper(img.tag, container);
  return container;
}

/** One `errors` row for the container, exit 3, one stderr line naming it and matching `message`. */
function expectOneError(r: Run, container: string, message: RegExp): void {
  expect(r.code, `exit code (null: killed after its time bound)\n${r.stderr}`).toBe(3);
  const report = JSON.parse(r.stdout);
  expect(report.containers).toEqual([]);
  expect(report.errors).toEqual([{ target: container, message: expect.stringMatching(message) }]);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^kensus: ${container}: `));
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

afterAll(() => {
  for (const c of containers) removeContainer(c);
  for (const i of images) {
    try {
      docker(['rmi', '-f', i.tag]);
    } catch {
      /* gone */
    }
    i.cleanup();
  }
});

/** The container's processes are back to PID 1 alone: the liar was reaped. */
async function settled(container: string): Promise<void> {
  await waitFor(`${container}: only PID 1 left`, () => processes(container).length === 1, 30_000);
}

describe('exec into containers that lie', () => {
  it('seven 64 MiB frames: cut off at the first frame past the byte budget, in seconds, not buffered', async () => {
    const name = await buildLiar(
      'frames64',
      ['i=0', 'while [ $i -lt 7 ]; do', "  printf 'KENSUS1 F 21 67108864 67108864 81a4\\n/var/lib/rpm/Packages'", '  /bin/busybox head -c 67108864 /dev/zero', '  i=$((i+1))', 'done', "printf 'KENSUS1 X 0 0 0 7\\n'"].join('\n'),
    );
    const r = await kensus(['scan', 'container', name, '--runtime', 'docker', '--format', 'json', '--no-cache'], 40_000);
    expectOneError(r, name, /content frames exceed the 67108864-byte budget the tracker was given/);
    await settled(name);
  });

  it('another program’s output: rejected at its first line', async () => {
    const name = await buildLiar('garbage', "echo 'total 0'; /bin/busybox ls -l /");
    // the hello frame came first; what follows is not a frame header
    const r = await kensus(['scan', 'container', name, '--runtime', 'docker', '--format', 'json', '--no-cache'], 30_000);
    expectOneError(r, name, /malformed at byte \d+: expected a 'KENSUS1' header/);
    await settled(name);
  });

  it('a path that climbs out of the root: rejected, never used', async () => {
    const name = await buildLiar('climb', "printf 'KENSUS1 F 16 4 4 81a4\\n../../etc/passwdroot'; printf 'KENSUS1 X 0 0 0 1\\n'");
    const r = await kensus(['scan', 'container', name, '--runtime', 'docker', '--format', 'json', '--no-cache'], 30_000);
    expectOneError(r, name, /entry path "\.\.\/\.\.\/etc\/passwd" is not an absolute normalised path/);
    await settled(name);
  });

  it('endless progress frames: cut at the time budget, and the liar is reaped', async () => {
    const name = await buildLiar('endless', "while :; do printf 'KENSUS1 P 0 0 1 1\\n'; done");
    const r = await kensus(['scan', 'container', name, '--runtime', 'docker', '--format', 'json', '--no-cache', '--timeout', '3'], 30_000);
    expectOneError(r, name, /did not finish within 3 s/);
    await settled(name);
  });

  it('endless bytes without a newline: rejected at the header cap', async () => {
    const name = await buildLiar('zeros', 'exec /bin/busybox cat /dev/zero');
    const r = await kensus(['scan', 'container', name, '--runtime', 'docker', '--format', 'json', '--no-cache'], 30_000);
    expectOneError(r, name, /header line longer than 256 bytes/);
    await settled(name);
  });
});
