/**
 * `npm run bench:shards [-- --pods N] [--images N]`: sharded sweeps (issue 15).
 *
 * The history store benchmark's cluster (10,000 pods over 1,000 images on 200 nodes, every tenth
 * pod an IBM MQ queue manager) with real images: each of the 1,000 is pushed to the loopback
 * registry (test/support/registry.ts) as an OCI image, built from a vendor-layout fixture
 * (src/fixtures) plus a file of its own, so every digest differs and a tenth of them hold a
 * product. Then the built CLI sweeps the snapshot into PostgreSQL (test/support/postgres.ts)
 * reading every image from the registry: once unsharded, and once as four
 * `kensus sweep --shard I/4` processes at once (an Indexed Job's pods), into another database.
 * Both must give the same peaks (checked). Writes bench/shards-results.md.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import type { Fixture } from '../src/fixtures/format.js';
import { loadFixtures } from '../src/fixtures/load.js';
import { writeOciLayout } from '../src/fixtures/image-writer.js';
import { rawNode, rawPod, type NodeSpec, type PodSpec } from '../test/support/cluster-objects.js';
import { ensurePostgres, freshPostgresDatabase } from '../test/support/postgres.js';
import { ensureRegistry } from '../test/support/registry.js';
import { IBM_MQ } from '../test/support/stores.js';
import { sq, timeShell, type Sample } from './measure.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (m: string) => process.stderr.write(`[bench:shards] ${m}\n`);

function parseArgs(argv: string[]): { pods: number; images: number } {
  const o = { pods: 10_000, images: 1_000 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--pods') o.pods = Number(argv[++i]);
    else if (argv[i] === '--images') o.images = Number(argv[++i]);
    else throw new Error(`bench:shards: unknown argument ${argv[i]} (use --pods N, --images N)`);
  }
  if (!Number.isInteger(o.pods) || !Number.isInteger(o.images) || o.images < 1 || o.pods < o.images) throw new Error('bench:shards: --pods and --images need integers, pods ≥ images ≥ 1');
  return o;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Pushes one OCI layout directory's image to the registry (blob uploads, then the manifest): its manifest digest. */
async function pushLayout(dir: string, registry: string, repo: string, tag: string): Promise<string> {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const blob = (digest: string) => readFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  const manifestBytes = blob(index.manifests[0].digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { mediaType?: string; config: { digest: string }; layers: Array<{ digest: string }> };
  for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
    const start = await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`registry: upload of ${repo} answered ${start.status}`);
    const location = new URL(start.headers.get('location')!, `http://${registry}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', body: blob(digest), headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`registry: blob ${digest} of ${repo} answered ${put.status}: ${await put.text()}`);
  }
  const put = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: manifestBytes,
    headers: { 'content-type': manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (put.status !== 201) throw new Error(`registry: manifest of ${repo} answered ${put.status}: ${await put.text()}`);
  return sha256(manifestBytes);
}

interface Run {
  label: string;
  processes: number;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  imagesScanned: number;
}

function cpuOf(file: string): number {
  const [user, sys] = readFileSync(file, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return user + sys;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'kensus-bench-shards-'));
  const loadStart = loadavg()[0];
  try {
    say('building dist/ (scripts/build.mjs)');
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
    process.env.KENSUS_TEST_POSTGRES_URL = (await ensurePostgres()).url;
    const registry = (await ensureRegistry('anon')).host;

    // A tenth of the images hold a product as its vendor lays it out; the rest an application only.
    const fixtures = await loadFixtures();
    const products = ['oracle-java-se:oracle-jdk-21', 'redis-enterprise:redis-enterprise-7.4', 'mongodb-enterprise:enterprise-7.0', 'oracle-database:ee-19c'].map((id) => {
      const [signature, name] = id.split(':');
      const fx = fixtures.find((f) => f.signature === signature && f.name === name);
      if (!fx) throw new Error(`fixture ${id} is missing`);
      return fx;
    });
    say(`pushing ${o.images} images to ${registry}`);
    const run = `${process.pid}`;
    const digests: string[] = new Array(o.images);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < o.images) {
          const i = next++;
          const base: Fixture | null = i % 10 === 0 ? products[(i / 10) % products.length] : null;
          const app = { files: [{ path: '/srv/app/build-id', content: `bench image ${i} of run ${run}\n` }] };
          const fixture: Fixture = base
            ? { ...base, image: { ...base.image, refs: [] }, layers: [...base.layers, app] }
            : { name: `app-${i}`, signature: 'bench', description: 'an application image', image: {}, layers: [app], expect: [] };
          const dir = join(work, `img-${i}`);
          await writeOciLayout(fixture, dir);
          digests[i] = await pushLayout(dir, registry, `kensus-bench-shards/img-${i}`, '1.0');
          rmSync(dir, { recursive: true, force: true });
        }
      }),
    );

    // 200 nodes of 16 vCPU; pod i runs image i % images; every tenth an MQ queue manager of 1 core.
    const nodes: NodeSpec[] = Array.from({ length: 200 }, (_, i) => ({ name: `node-${i}`, cpu: '16' }));
    const pods: PodSpec[] = Array.from({ length: o.pods }, (_, i) => ({
      namespace: `ns-${i % 7}`,
      name: `app-${i}`,
      node: `node-${i % 200}`,
      ...(i % 10 === 0 ? { annotations: IBM_MQ } : {}),
      containers: [{ name: 'main', image: `${registry}/kensus-bench-shards/img-${i % o.images}:1.0`, digest: digests[i % o.images], limits: { cpu: '1' } }],
    }));
    const snapshot = join(work, 'snapshot.json');
    writeFileSync(snapshot, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...nodes.map(rawNode), ...pods.map(rawPod)] }));

    const observedAt = '2026-11-10T02:00:00Z';
    const sweep = (url: string, out: string, extra = '') =>
      `/usr/bin/time -f '%U %S' -o ${sq(`${out}.cpu`)} ${sq(process.execPath)} bin/kensus.js sweep --store ${sq(url)} --snapshot ${sq(snapshot)} --observed-at ${observedAt} --cluster-id bench --insecure-registry ${registry} --no-cache --format json${extra} > ${sq(out)}`;
    const runs: Run[] = [];
    const peaks: string[] = [];
    for (const shards of [1, 4]) {
      const db = await freshPostgresDatabase();
      try {
        say(`sweeping with ${shards} shard(s)`);
        const outs = Array.from({ length: shards }, (_, i) => join(work, `sweep-${shards}-${i}.json`));
        const started = process.hrtime.bigint();
        const samples: Sample[] = await Promise.all(outs.map((out, i) => timeShell(sweep(db.url, out, shards > 1 ? ` --shard ${i}/${shards} --run-id bench-job` : ''), 1_800_000, root)));
        const wallS = Number(process.hrtime.bigint() - started) / 1e9;
        for (const s of samples) if (!s.ok) throw new Error(`kensus sweep failed: ${s.error}`);
        const results = outs.map((out) => JSON.parse(readFileSync(out, 'utf8')) as { imagesScanned: number; errors: unknown[]; figured: boolean });
        for (const r of results) if (r.errors.length) throw new Error(`the sweep reported errors: ${JSON.stringify(r.errors).slice(0, 500)}`);
        if (!results.some((r) => r.figured)) throw new Error('no shard recorded the figures');
        runs.push({
          label: shards === 1 ? 'unsharded' : `${shards} shards at once`,
          processes: shards,
          wallS,
          cpuS: outs.reduce((n, out) => n + cpuOf(`${out}.cpu`), 0),
          peakRssMb: Math.round(Math.max(...samples.map((s) => s.rssKb ?? 0)) / 1024),
          imagesScanned: results.reduce((n, r) => n + r.imagesScanned, 0),
        });
        const usage = execFileSync(process.execPath, ['bin/kensus.js', 'report', 'usage', '--store', db.url, '--from', '2026-11-10', '--to', '2026-11-11', '--format', 'json'], { cwd: root, encoding: 'utf8' });
        peaks.push(JSON.stringify(JSON.parse(usage).peaks));
      } finally {
        await db.drop();
      }
    }
    if (peaks[0] !== peaks[1]) throw new Error('4 shards gave other peaks than one sweep');
    const mq = (JSON.parse(peaks[0]) as Array<{ productName: string; scope: string; quantity: number }>).find((p) => p.productName === 'IBM MQ Advanced' && p.scope === 'cluster');

    const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 1024 ** 3)} GB RAM; Linux ${release()}; Node ${process.versions.node}`;
    const lines = [
      '# Kensus sharded sweep benchmark',
      '',
      `Generated by \`npm run bench:shards\` on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. Do not edit: run it again.`,
      '',
      `Machine: ${machine}. Load average (1 min) at start ${loadStart.toFixed(1)}, at end ${loadavg()[0].toFixed(1)}: other work shares these cores, so wall times are the machine's as much as Kensus's.`,
      '',
      `Cluster: ${o.pods} pods on 200 nodes over ${o.images} images, each pushed to a loopback registry (a tenth hold Oracle Java, Redis Enterprise, MongoDB Enterprise or Oracle Database as their vendors lay them out); every tenth pod IBM MQ. \`kensus sweep --snapshot FILE\` of the built CLI into PostgreSQL, every image read from the registry (--no-cache). The 4 shards run as 4 processes at once, as an Indexed Job's pods would (here on one machine of ${cpus().length} cores; in a cluster each has its own node).`,
      '',
      '| sweep | processes | wall s | CPU s (all processes) | peak RSS MB (largest process) | images read |',
      '|---|--:|--:|--:|--:|--:|',
      ...runs.map((r) => `| ${r.label} | ${r.processes} | ${r.wallS.toFixed(1)} | ${r.cpuS.toFixed(1)} | ${r.peakRssMb} | ${r.imagesScanned} |`),
      '',
      `Both gave the same peaks (checked); IBM MQ Advanced: ${mq?.quantity ?? '?'} VPC for the cluster.`,
    ];
    writeFileSync(join(root, 'bench', 'shards-results.md'), `${lines.join('\n')}\n`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:shards: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
