/**
 * One table: every signature fixture × every source must give the same products as the
 * docker-archive baseline (and the baseline the fixture's expectations): Docker engine,
 * containerd (content store), registry (anonymous, basic via a pull secret, bearer via a docker
 * config.json), and the node-local snapshot read of an image whose layers containerd's CRI
 * garbage-collected (discard_unpacked_layers = true).
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProductFinding } from '../../src/model/finding.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { loadSignatureSet, type SignatureSet } from '../../src/signatures/load.js';
import { scanImageRef } from '../../src/scan/image.js';
import { openImage } from '../../src/sources/index.js';
import { parseRegistryRef } from '../../src/sources/registry.js';
import { hostSource } from '../../src/sources/host.js';
import { readImage } from '../../src/image/read.js';
import { extractPackages } from '../../src/packages/index.js';
import { matchSubject } from '../../src/signatures/match.js';
import { dockerCli } from '../support/daemons.js';
import { TestLiveSettings } from '../support/live-settings.js';
import { ctr } from '../support/containerd.js';
import {
  contentNamespace, criNamespace, mirrorsTo, publishAll, startLiveEnv, writeDockerConfig, writePullSecret, type LiveEnv, type LiveFixture,
} from '../support/live-images.js';

const fixtures = await loadFixtures();
const live = new TestLiveSettings();
const work = mkdtempSync(join(tmpdir(), 'kensus-live-'));
let env: LiveEnv;
let set: SignatureSet;
let published: Map<string, LiveFixture>;
let all: LiveFixture[] = [];

beforeAll(async () => {
  env = await startLiveEnv();
  set = await loadSignatureSet();
  live.docker({ host: env.docker });
  const list = await publishAll(env, fixtures, join(work, 'images'));
  all = list;
  published = new Map(list.map((p) => [`${p.fixture.signature}/${p.fixture.name}`, p]));
  writePullSecret(join(work, 'pull-secret.yaml'), env.basic);
  writeDockerConfig(join(work, 'config.json'), env.bearer);
}, 600_000);

afterAll(() => {
  live.resetRegistry();
  live.resetContainerd();
});

function summary(products: ProductFinding[]) {
  return products
    .map((p) => ({ id: p.id, edition: p.edition, version: p.version, licensable: p.licensable, confidence: p.confidence }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

async function scan(ref: string) {
  const report = await scanImageRef(ref, { set, cacheDir: null, live: live.current });
  return { source: report.source, products: summary(report.products) };
}

/** Each source: how to reach one published fixture, with the settings it needs. */
const sources: Array<[string, (p: LiveFixture) => string, () => void, string]> = [
  ['docker engine', (p) => `docker:${p.name}`, () => {}, 'docker'],
  ['containerd (content store)', (p) => `containerd:${p.name}`, () => live.containerd({ address: env.containerd.socket, namespace: contentNamespace, snapshots: 'never' }), 'containerd'],
  ['registry anonymous', (p) => `registry:${p.name}`, () => live.registry({ mirrors: mirrorsTo(all, env.anon.host), dockerConfig: join(work, 'none.json'), pullSecrets: [] }), 'registry'],
  ['registry basic (pull secret)', (p) => `registry:${p.name}`, () => live.registry({ mirrors: mirrorsTo(all, env.basic.host), dockerConfig: join(work, 'none.json'), pullSecrets: [join(work, 'pull-secret.yaml')] }), 'registry'],
  ['registry bearer (docker config)', (p) => `registry:${p.name}`, () => live.registry({ mirrors: mirrorsTo(all, env.bearer.host), dockerConfig: join(work, 'config.json'), pullSecrets: [] }), 'registry'],
  ['node-local snapshots (layers GC\'d)', (p) => `containerd:${p.name}`, () => live.containerd({ address: env.containerd.socket, namespace: criNamespace, snapshots: 'auto' }), 'containerd-snapshot'],
];

describe.each(fixtures.map((f) => [`${f.signature}/${f.name}`, f] as const))('fixture %s', (key, fixture) => {
  let baseline: ReturnType<typeof summary>;

  beforeAll(async () => {
    const p = published.get(key)!;
    baseline = (await scan(`docker-archive:${p.archive}`)).products;
  });

  it('docker-archive baseline meets the fixture', () => {
    const ids = baseline.map((p) => p.id);
    for (const e of fixture.expect) expect(ids, `${key} must find ${e.id}`).toContain(e.id);
    for (const a of fixture.absent ?? []) expect(ids, `${key} must not find ${a}`).not.toContain(a);
  });

  it.each(sources)('%s gives the same products', async (_name, refOf, configure, source) => {
    configure();
    const got = await scan(refOf(published.get(key)!));
    expect(got.source).toBe(source);
    expect(got.products).toEqual(baseline);
  });
});

describe('the GC\'d-content case', () => {
  it('CRI with discard_unpacked_layers really removed the layer blobs, and the image still reads from snapshots', async () => {
    const p = [...published.values()].find((x) => x.fixture.layers.length > 0)!;
    live.registry({ mirrors: mirrorsTo(all, env.anon.host), dockerConfig: join(work, 'none.json'), pullSecrets: [] });
    const pulled = await openImage(`registry:${p.name}`, live.options()); // the blobs CRI pulled
    const content = ctr(env.containerd.socket, criNamespace, ['content', 'ls', '-q']);
    expect(content).toContain(pulled.digest); // the manifest stays
    for (const l of pulled.layers) expect(content).not.toContain(l.digest); // every layer blob is gone
    live.containerd({ address: env.containerd.socket, namespace: criNamespace, snapshots: 'auto' });
    const handle = await openImage(`containerd:${p.name}`, live.options());
    expect(handle.source).toBe('containerd-snapshot');
    expect(handle.digest).toBe(pulled.digest);
    expect(handle.layers.map((l) => l.diffId)).toEqual(pulled.config.diffIds);
  });
});

describe('a running container read from the node (method host)', () => {
  it('scanning /proc/PID/root gives the products of its image', async () => {
    const docker = (args: string[]) => execFileSync(dockerCli(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    const positives = [...published.values()].filter((p) => p.fixture.expect.length > 0).slice(0, 3);
    for (const p of positives) {
      // The fixture image plus busybox, so the container has a process to keep it running.
      const ctx = mkdtempSync(join(work, 'ctx-'));
      copyFileSync('/bin/busybox', join(ctx, 'busybox'));
      writeFileSync(join(ctx, 'Dockerfile'), `FROM ${p.name}\nCOPY busybox /kensus/busybox\nCMD ["/kensus/busybox", "sleep", "600"]\n`);
      const tag = `kensus-host/${p.path.replace(/[:/]/g, '-')}`;
      docker(['build', '-q', '-t', tag, ctx]);
      const id = docker(['run', '-d', '--network', 'none', tag]);
      try {
        const pid = docker(['inspect', '-f', '{{.State.Pid}}', id]);
        const handle = await hostSource.open(pid, {});
        expect(handle.source).toBe('host');
        const image = await readImage(handle, set.plan, { cacheDir: null });
        const subject = { files: image.files, packages: await extractPackages(image.files), labels: image.labels, env: image.env, refs: [p.name] };
        const baseline = (await scan(`docker-archive:${p.archive}`)).products;
        // Labels are image metadata, not in the filesystem: compare products not built on them.
        const got = summary(matchSubject(set, { ...subject, labels: (await openImage(`docker:${p.name}`, live.options())).config.labels }));
        expect(got, p.name).toEqual(baseline);
      } finally {
        docker(['rm', '-f', id]);
      }
    }
  });
});

describe('a bare NAME', () => {
  it('is looked up in the order Docker engine, containerd, registry, and the source is reported', async () => {
    const p = [...published.values()][0]!;
    live.containerd({ address: env.containerd.socket, namespace: contentNamespace, snapshots: 'auto' });
    live.registry({ mirrors: {}, dockerConfig: join(work, 'none.json'), pullSecrets: [] });
    expect((await openImage(p.name, live.options())).source).toBe('docker');
    // Only containerd has this name (imported under a name docker does not know).
    const ctrOnly = `kensus-bare/only-containerd:1`;
    ctr(env.containerd.socket, contentNamespace, ['images', 'tag', '--force', normalise(p.name), `docker.io/${ctrOnly}`]);
    const byName = await openImage(ctrOnly, live.options());
    expect(byName.source).toBe('containerd');
    // Also found by the manifest digest alone, as a pod's imageID names it.
    const byDigest = await openImage(`containerd:kensus-bare/other@${byName.digest}`, live.options());
    expect(byDigest.digest).toBe(byName.digest);
    // Only the registry has this one (pushed under a new repo through the registry API by docker tag+push+rmi).
    const regOnly = `${env.anon.host}/kensus-bare/only-registry:1`;
    execFileSync(dockerCli(), ['tag', p.name, regOnly]);
    execFileSync(dockerCli(), ['push', regOnly], { stdio: 'ignore' });
    execFileSync(dockerCli(), ['rmi', regOnly], { stdio: 'ignore' });
    expect((await openImage(regOnly, live.options())).source).toBe('registry');
  });
});

function normalise(name: string): string {
  const r = parseRegistryRef(name);
  return `${r.host}/${r.repo}:${r.tag}`;
}
