import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli } from '../support/daemons.js';
import { ensureNodeBaseImage } from './node-image.js';
import { REPO, type K } from './render.js';

/**
 * The Dockerfile built with `docker build` on the test dockerd, on a Node base made from this
 * machine (node-image.ts); the image then runs as deploy/kubernetes runs it — non-root, read-only
 * root filesystem, no network, volumes for the cache and /tmp — and scans the demo's archives
 * exactly as the CLI of the checkout does.
 */

const IMAGE = `kensus-test/kensus:image-test-${process.pid}`;
const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;
let buildLog = '';

function docker(args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(dockerCli(), args, { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** As deploy/kubernetes runs it: the image's user, read-only root, emptyDirs at /var/cache and /tmp, no network. */
const runArgs = ['run', '--rm', '--network', 'none', '--read-only', '--tmpfs', '/tmp:mode=1777', '--tmpfs', '/var/cache:uid=65532,gid=0', '--security-opt', 'no-new-privileges', '--cap-drop', 'ALL'];

beforeAll(async () => {
  const base = await ensureNodeBaseImage();
  // --network host: the build step installs the dependencies from the npm registry (the test
  // dockerd runs without a bridge). The base image is local, so nothing is pulled.
  const built = await docker(['build', '--network', 'host', '--build-arg', `BASE_IMAGE=${base}`, '-t', IMAGE, REPO], 900_000);
  buildLog = built.stdout + built.stderr;
  if (built.code !== 0) throw new Error(`docker build failed (${built.code}):\n${buildLog.slice(-4000)}`);
}, 960_000);

afterAll(async () => {
  await docker(['rmi', '-f', IMAGE]);
});

describe('the kensus image', () => {
  it('is built from a small context', () => {
    const m = /Sending build context to Docker daemon\s+([\d.]+)([kMG]?B)/.exec(buildLog);
    expect(m, buildLog.slice(0, 2000)).not.toBeNull();
    const bytes = Number(m![1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m![2] as 'B' | 'kB' | 'MB' | 'GB'];
    expect(bytes).toBeLessThan(10e6);
  });

  it('runs as a non-root user of group 0 with kensus as its entrypoint', async () => {
    const inspect = await docker(['image', 'inspect', IMAGE]);
    const [config] = JSON.parse(inspect.stdout).map((i: K) => i.Config);
    expect(config.User).toBe('65532:0');
    expect(config.Entrypoint).toEqual(['node', '/app/bin/kensus.js']);
    expect(config.Env).toEqual(expect.arrayContaining(['XDG_CACHE_HOME=/var/cache', 'XDG_STATE_HOME=/var/lib']));
  });

  it('answers --version, also as `kensus` on PATH', async () => {
    const r = await docker([...runArgs, IMAGE, '--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
    const onPath = await docker([...runArgs, '--entrypoint', 'kensus', IMAGE, '--version']);
    expect(onPath.stdout.trim()).toBe(version);
  });

  it('scans the demo archives (docker-archive, OCI gzip and zstd) as the checkout does, writing only to its volumes', async () => {
    // The archives and the reference report from the checkout's CLI (the demo writes each
    // signature fixture as an image archive).
    const dir = mkdtempSync(join(tmpdir(), 'kensus-image-scan-'));
    chmodSync(dir, 0o755); // readable by the image's user
    const demo = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPO, 'bin', 'kensus.js'), 'demo', '--keep', dir, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`demo failed: ${err}`))));
    });
    const expected: K = JSON.parse(demo);
    const refs = expected.images.map((i: K) => i.ref.replace(dir, '/scan'));
    expect(refs.some((r: string) => r.endsWith('.oci-zstd.tar'))).toBe(true);
    const r = await docker([...runArgs, '-v', `${dir}:/scan:ro`, IMAGE, 'scan', 'image', ...refs, '--format', 'json'], 300_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/could not write|EROFS|EACCES/);
    const got: K = JSON.parse(r.stdout);
    const products = (report: K) =>
      Object.fromEntries(report.images.map((i: K) => [basename(i.ref), i.products.map((p: K) => `${p.id} ${p.edition} ${p.version}`).sort()]));
    expect(products(got)).toEqual(products(expected));
    expect(got.images.flatMap((i: K) => i.products).length).toBeGreaterThan(10);
    expect(got.errors).toEqual(expected.errors);
  });
});
