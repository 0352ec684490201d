/**
 * Faults of the live sources against the real daemons (and a fault-injecting proxy in front of
 * the real registry where the registry cannot be told to fail): each ends in one clear
 * KensusError line with the right exit code, and a multi-target scan goes on past it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from '../../src/fixtures/format.js';
import { KensusError } from '../../src/errors.js';
import { loadSignatureSet, type SignatureSet } from '../../src/signatures/load.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { scanImageRef } from '../../src/scan/image.js';
import { writeDockerArchive, writeMultiArch } from '../../src/fixtures/image-writer.js';
import { openImage } from '../../src/sources/index.js';
import { TestLiveSettings } from '../support/live-settings.js';
import { runScanImage } from '../../src/cli/scan-image.js';
import { dockerCli } from '../support/daemons.js';
import { startFaultProxy, pushOciLayout, type FaultProxy } from '../support/fault-proxy.js';
import { startLiveEnv, writePullSecret, type LiveEnv } from '../support/live-images.js';

const live = new TestLiveSettings();
const work = mkdtempSync(join(tmpdir(), 'kensus-faults-'));
let env: LiveEnv;
let set: SignatureSet;
let proxy: FaultProxy;
const repo = 'kensus-faults/app';

// A real positive fixture, plus a filler file so its layer blob is big enough to cut half-way.
const base = (await loadFixtures()).find((f) => f.signature === 'oracle-java-se' && f.expect.length > 0)!;
const product = base.expect[0]!.id;
const fixture: Fixture = {
  ...base,
  image: { ...base.image, refs: ['kensus-faults/app:1'] },
  layers: [...base.layers, { files: [{ path: '/var/filler.bin', size: 400_000 }] }],
};

/** The error an async call ends in, asserted to be a KensusError. */
async function failure(p: Promise<unknown>): Promise<KensusError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KensusError);
    return err as KensusError;
  }
  throw new Error('expected a failure');
}

function line(err: KensusError): string {
  return err.hint ? `${err.message} (${err.hint})` : err.message;
}

beforeAll(async () => {
  env = await startLiveEnv();
  set = await loadSignatureSet();
  live.docker({ host: env.docker });
  const archive = join(work, 'app.tar');
  await writeDockerArchive(fixture, archive);
  const docker = (args: string[]) => execFileSync(dockerCli(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  docker(['load', '-i', archive]);
  docker(['tag', 'kensus-faults/app:1', `${env.anon.host}/${repo}:1`]);
  docker(['push', `${env.anon.host}/${repo}:1`]);
  proxy = await startFaultProxy(env.anon.host);
}, 300_000);

afterEach(() => {
  live.resetRegistry();
  live.resetContainerd();
  live.docker({ host: env.docker });
  proxy.fault = { kind: 'none' };
});

afterAll(async () => {
  await proxy?.close();
});

const none = () => join(work, 'no-docker-config.json');

describe('registry faults', () => {
  it('reads through the proxy when nothing is injected (the proxy itself is sound)', async () => {
    live.registry({ dockerConfig: none() });
    const report = await scanImageRef(`registry:${proxy.host}/${repo}:1`, { set, cacheDir: null, live: live.current });
    expect(report.products.map((p) => p.id)).toContain(product);
  });

  it('401 says which credentials were tried and how to give others', async () => {
    live.registry({ dockerConfig: none() });
    const anon = await failure(openImage(`registry:${env.bearer.host}/${repo}:1`, live.options()));
    expect(anon.exitCode).toBe(3);
    expect(line(anon)).toMatch(/401 Unauthorized.*tried: anonymous.*--pull-secret/);
    const secret = join(work, 'bad-secret.yaml');
    writePullSecret(secret, { ...env.basic, password: 'pw-not-this' });
    live.registry({ dockerConfig: none(), pullSecrets: [secret] });
    const wrong = await failure(openImage(`registry:${env.basic.host}/${repo}:1`, live.options()));
    expect(line(wrong)).toContain(`tried: pull secret ${secret} (user kensus)`);
    expect(wrong.exitCode).toBe(3);
    expect(line(wrong)).not.toContain('pw-not-this'); // the origin is named, never the secret
  });

  it('403 is reported as forbidden', async () => {
    live.registry({ dockerConfig: none() });
    proxy.fault = { kind: 'status', status: 403 };
    const err = await failure(openImage(`registry:${proxy.host}/${repo}:1`, live.options()));
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/403 Forbidden/);
  });

  it('404 says whether the repository, the tag or the digest is missing', async () => {
    live.registry({ dockerConfig: none() });
    expect((await failure(openImage(`registry:${env.anon.host}/kensus-faults/nothing:1`, live.options()))).message).toMatch(/repository kensus-faults\/nothing not found/);
    expect((await failure(openImage(`registry:${env.anon.host}/${repo}:2`, live.options()))).message).toMatch(/tag 2 not found in kensus-faults\/app/);
    expect((await failure(openImage(`registry:${env.anon.host}/${repo}@sha256:${'1'.repeat(64)}`, live.options()))).message).toMatch(/digest sha256:1{64} not found/);
  });

  it('429 honours Retry-After and retries a bounded number of times', async () => {
    live.registry({ dockerConfig: none(), maxRetries: 2 });
    proxy.fault = { kind: 'status', status: 429, headers: { 'retry-after': '1' }, times: 2, match: /manifests/ };
    const t0 = Date.now();
    const handle = await openImage(`registry:${proxy.host}/${repo}:1`, live.options());
    expect(handle.layers.length).toBe(fixture.layers.length);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    proxy.fault = { kind: 'status', status: 429, headers: { 'retry-after': '0' }, match: /manifests/ };
    proxy.seen.length = 0;
    const err = await failure(openImage(`registry:${proxy.host}/${repo}:1`, live.options()));
    expect(err.message).toMatch(/429 Too Many Requests.*after 2 retries/);
    expect(proxy.seen.filter((s) => s.includes('/manifests/')).length).toBe(3);
  });

  it('500 is reported with its status', async () => {
    live.registry({ dockerConfig: none() });
    proxy.fault = { kind: 'status', status: 500, match: /manifests/ };
    const err = await failure(openImage(`registry:${proxy.host}/${repo}:1`, live.options()));
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/answered 500/);
  });

  it('a hanging server times out', async () => {
    live.registry({ dockerConfig: none(), timeoutMs: 700 });
    proxy.fault = { kind: 'hang', match: /manifests/ };
    const t0 = Date.now();
    const err = await failure(openImage(`registry:${proxy.host}/${repo}:1`, live.options()));
    expect(err.message).toMatch(/did not answer within 0.7 s/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a manifest whose digest does not match is refused', async () => {
    live.registry({ dockerConfig: none() });
    proxy.fault = { kind: 'corrupt-manifest' };
    const err = await failure(openImage(`registry:${proxy.host}/${repo}:1`, live.options()));
    expect(err.message).toMatch(/digest .* does not match the Docker-Content-Digest/);
    const good = await openImage(`registry:${env.anon.host}/${repo}:1`, live.options());
    const byDigest = await failure(openImage(`registry:${proxy.host}/${repo}@${good.digest}`, live.options()));
    expect(byDigest.message).toMatch(/whose digest is sha256:/);
  });

  it('a blob cut short (clean end) fails with a clear error', async () => {
    live.registry({ dockerConfig: none() });
    proxy.fault = { kind: 'cut-blob', keepContentLength: false };
    const err = await failure(scanImageRef(`registry:${proxy.host}/${repo}:1`, { set, cacheDir: null, live: live.current }));
    expect(err.message).toMatch(/cut short: got \d+ of \d+ bytes/);
  });

  it('a connection dying mid-blob fails with a clear error', async () => {
    live.registry({ dockerConfig: none() });
    proxy.fault = { kind: 'cut-blob', keepContentLength: true };
    const err = await failure(scanImageRef(`registry:${proxy.host}/${repo}:1`, { set, cacheDir: null, live: live.current }));
    expect(err.message).toMatch(/broke off while sending layer \d|cut short/);
  });

  it('a blob that stalls half-way times out', async () => {
    live.registry({ dockerConfig: none(), timeoutMs: 700 });
    proxy.fault = { kind: 'stall-blob' };
    const err = await failure(scanImageRef(`registry:${proxy.host}/${repo}:1`, { set, cacheDir: null, live: live.current }));
    expect(err.message).toMatch(/stalled while sending layer \d/);
  });

  it('plain HTTP to a registry that is not loopback needs --insecure-registry', async () => {
    // A TLS-less server reached by an address that is not loopback by name (0.0.0.0 connects
    // locally on Linux): refused without the flag.
    const port = env.anon.host.split(':')[1];
    live.registry({ dockerConfig: none(), mirrors: { 'plain.example.test': `0.0.0.0:${port}` } });
    const err = await failure(openImage(`registry:plain.example.test/${repo}:1`, live.options()));
    expect(line(err)).toMatch(/does not speak HTTPS.*--insecure-registry/);
    live.registry({ insecureRegistries: [`0.0.0.0:${port}`] });
    const ok = await openImage(`registry:plain.example.test/${repo}:1`, live.options());
    expect(ok.refs[0]).toBe(`plain.example.test/${repo}:1`);
  });

  it('a multi-arch index gives the platform asked for', async () => {
    const withJava: Fixture = { ...fixture, name: 'amd64' };
    const without: Fixture = { ...fixture, name: 'arm64', layers: [{ files: [{ path: '/etc/hostname', content: 'arm\n' }] }] };
    const dir = join(work, 'multi');
    await writeMultiArch({ 'linux/amd64': withJava, 'linux/arm64': without }, dir);
    await pushOciLayout(dir, env.anon.host, 'kensus-faults/multi', 'v1');
    live.registry({ dockerConfig: none() });
    const amd = await scanImageRef(`registry:${env.anon.host}/kensus-faults/multi:v1`, { set, cacheDir: null, live: live.current });
    expect(amd.products.map((p) => p.id)).toContain(product);
    const arm = await scanImageRef(`registry:${env.anon.host}/kensus-faults/multi:v1`, { set, cacheDir: null, platform: 'linux/arm64', live: live.current });
    expect(arm.products.map((p) => p.id)).not.toContain(product);
    const err = await failure(openImage(`registry:${env.anon.host}/kensus-faults/multi:v1`, live.options({ platform: 'linux/s390x' })));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/no image for platform linux\/s390x; it offers linux\/amd64, linux\/arm64/);
  });

  it('a bad reference is bad input (exit 2)', async () => {
    const err = await failure(openImage('registry:127.0.0.1:5000/UPPER/case:1', live.options()));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/not a valid repository name/);
  });
});

describe('docker and containerd faults', () => {
  it('a missing Docker socket and a missing image', async () => {
    live.docker({ host: `unix://${join(work, 'no-docker.sock')}` });
    const gone = await failure(openImage('docker:busybox', live.options()));
    expect(gone.exitCode).toBe(3);
    expect(line(gone)).toMatch(/Docker socket .*no-docker.sock does not exist.*DOCKER_HOST/);
    live.docker({ host: env.docker });
    const missing = await failure(openImage('docker:kensus-faults/absent:1', live.options()));
    expect(missing.message).toMatch(/image kensus-faults\/absent:1 is not in the Docker engine/);
  });

  it('a missing containerd socket and an image not in the namespace', async () => {
    live.containerd({ address: join(work, 'no-containerd.sock') });
    const gone = await failure(openImage('containerd:busybox', live.options()));
    expect(line(gone)).toMatch(/containerd socket .* does not exist.*--containerd-address/);
    live.containerd({ address: env.containerd.socket, namespace: 'kensus-empty' });
    const missing = await failure(openImage('containerd:kensus-faults/app:1', live.options()));
    expect(line(missing)).toMatch(/not in containerd namespace kensus-empty.*--containerd-namespace/);
  });

  it('permission denied on the sockets (checked as an unprivileged user)', async () => {
    // Root passes every permission check, so the probe runs as nobody against root-only sockets.
    const sock = join(work, 'root-only.sock');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(sock, () => r()));
    chmodSync(sock, 0o600);
    chmodSync(work, 0o755);
    const probe = join(work, 'probe.mjs');
    writeFileSync(
      probe,
      `const { dockerSource } = await import(${JSON.stringify(new URL('../../src/sources/docker.ts', import.meta.url).pathname)});
const { containerdSource } = await import(${JSON.stringify(new URL('../../src/sources/containerd.ts', import.meta.url).pathname)});
const live = { docker: { host: 'unix://${sock}' }, containerd: { address: '${sock}' } };
for (const s of [dockerSource, containerdSource]) {
  try { await s.open('x', { live }); } catch (e) { console.log(e.exitCode + ' ' + e.message); }
}`
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', probe], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: process.cwd(), env: { ...process.env, HOME: '/tmp' } });
    srv.close();
    expect(r.stdout).toContain(`3 permission denied on Docker socket ${sock}`);
    expect(r.stdout).toContain(`3 permission denied on containerd socket ${sock}`);
  });
});

describe('multi-target runs', () => {
  it('one unreachable image becomes an errors row and the others are scanned', async () => {
    // As `kensus scan image --docker-config FILE` gives it.
    const result = await runScanImage([`registry:${env.anon.host}/kensus-faults/nothing:1`, 'docker:kensus-faults/app:1'], { cache: false, dockerConfig: none() });
    expect(result.exitCode).toBe(3);
    expect(result.report?.images.map((i) => i.ref)).toEqual(['docker:kensus-faults/app:1']);
    expect(result.report?.errors[0]?.message).toMatch(/repository kensus-faults\/nothing not found/);
  });
});
