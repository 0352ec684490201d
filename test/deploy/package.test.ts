import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { minimatch } from 'minimatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../support/daemons.js';
import { kubectl, startTestCluster, type TestCluster } from '../support/k8s.js';
import { REPO, type K } from './render.js';

/**
 * The npm package as users get it: `npm pack` of a copy of the checkout (its prepare step builds
 * dist/), installed from the tarball into an empty folder with dependencies from the npm
 * registry, and run there: `npx kensus demo`, a cluster snapshot, `kubectl kensus` as a kubectl
 * plugin. Then the krew release made from the same tarball, installed as krew installs it.
 */

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'kensus-package-'));
let tarball = '';
let packed: string[] = [];
let app = '';
let cluster: TestCluster;

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The files of the checkout as git sees them (tracked and new, not ignored). */
function checkoutFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter((f) => f && existsSync(join(REPO, f)));
}

beforeAll(async () => {
  // A copy, so that the build of `npm pack` never touches the dist/ other tests are running.
  const copy = join(work, 'checkout');
  for (const f of checkoutFiles()) {
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    cpSync(join(REPO, f), join(copy, f));
  }
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
  const packDir = join(work, 'pack');
  mkdirSync(packDir);
  const pack = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: copy, timeoutMs: 300_000 });
  if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')));
  tarball = join(packDir, info.filename);
  packed = info.files.map((f: K) => f.path);

  // An empty folder, the tarball, the registry for its dependencies.
  app = join(work, 'app');
  mkdirSync(app);
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, timeoutMs: 300_000 });
  if (install.code !== 0) throw new Error(`npm install of the tarball failed: ${install.stderr}`);
  cluster = await startTestCluster();
}, 660_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('npm pack', () => {
  it('ships the built CLI, the signatures with their fixtures, the tracker, every data file of src/, the manifests — and no tests', () => {
    for (const f of ['package.json', 'README.md', 'bin/kensus.js', 'bin/kubectl-kensus', 'bin/package.json', 'dist/cli-bundle/main.js', 'dist/signatures.bundle.json', 'tracker/kensus-tracker.sh', 'deploy/webhook-cert.mjs', 'deploy/prometheus/kensus-rules.yml', 'docs/deployment.md']) {
      expect(packed, f).toContain(f);
    }
    const files = checkoutFiles();
    // Read at run time beside the code (data, protos, signatures, fixtures, manifests).
    const needed = files.filter((f) => minimatch(f, '{src/**/*.{yaml,proto},signatures/**,deploy/kubernetes/**}') && !f.endsWith('.test.ts'));
    expect(needed.length).toBeGreaterThan(50);
    expect(needed.filter((f) => !packed.includes(f))).toEqual([]);
    expect(packed.filter((f) => /\.test\.ts$|^test\/|^bench\/|^scripts\/|node_modules/.test(f))).toEqual([]);
    expect(statSync(tarball).size).toBeLessThan(5 << 20);
  });

  it('declares exactly the packages the shipped code imports as dependencies; test-only ones are devDependencies', () => {
    const shipped = packed.filter((f) => /\.(m?js|ts)$/.test(f) && !f.startsWith('dist/'));
    // The shipped code before bundling: src/ (compiled into dist/), the bin launchers, the Job's script.
    const sources = [...checkoutFiles().filter((f) => f.startsWith('src/') && f.endsWith('.ts') && !f.endsWith('.test.ts') && !/test-fixtures?\.ts$/.test(f)), ...shipped, 'bin/kubectl-kensus'];
    const imported = new Set<string>();
    for (const f of sources) {
      const text = readFileSync(join(REPO, f), 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*|import\s+)['"]([^'"./][^'"]*)['"]/g)) {
        const spec = m[1];
        if (spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
    const deps = Object.keys(pkg.dependencies).sort();
    expect([...imported].filter((d) => !deps.includes(d)).sort(), 'imported by shipped code but not a dependency').toEqual([]);
    expect(deps.filter((d) => !imported.has(d)), 'a dependency no shipped code imports (a devDependency, or unused)').toEqual([]);
    expect(pkg.dependencies.semver).toBeUndefined();
  });
});

describe('the package installed from its tarball in an empty folder', () => {
  it('runs the demo with npx', async () => {
    const version = await run('npx', ['kensus', '--version'], { cwd: app });
    expect(version.stdout.trim()).toBe(pkg.version);
    const demo = await run('npx', ['kensus', 'demo', '--format', 'json'], { cwd: app, timeoutMs: 180_000 });
    expect(demo.code, demo.stderr).toBe(0);
    const report = JSON.parse(demo.stdout);
    expect(report.tool).toEqual({ name: 'kensus', version: pkg.version });
    expect(report.errors).toEqual([]);
    const found = new Set(report.images.flatMap((i: K) => i.products.map((p: K) => p.id)));
    // One product per shipped signature file at least (their positive fixtures).
    const signatures = readdirSync(join(app, 'node_modules', 'kensus', 'signatures')).filter((f) => f.endsWith('.yaml'));
    expect(found.size).toBe(signatures.length);
  });

  it('computes licence figures from a cluster snapshot with its shipped data files', async () => {
    const snap = await kubectl(cluster, ['get', 'nodes,pods', '-A', '-o', 'json']);
    expect(snap.code, snap.stderr).toBe(0);
    const file = join(work, 'snapshot.json');
    writeFileSync(file, snap.stdout);
    const r = await run('npx', ['kensus', 'scan', 'cluster', '--snapshot', file, '--metadata-only', '--format', 'json'], { cwd: app });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    // The default fixture's H100 node: its GPUs mapped to an NVIDIA AI Enterprise SKU by the shipped table.
    expect(report.gpuSkus.find((g: K) => g.nodes.includes('gpu-h100-1'))).toMatchObject({ sku: expect.stringMatching(/\S/), gpus: 8 });
    expect(report.nodes.map((n: K) => n.name).sort()).toEqual(['control-plane-1', 'gpu-a100-mig-1', 'gpu-h100-1', 'worker-1']);
  });

  it('is a kubectl plugin: kubectl finds kubectl-kensus, and connection flags may come first', async () => {
    const env = { ...process.env, PATH: `${join(app, 'node_modules', '.bin')}:${process.env.PATH}` };
    const list = await kubectl(cluster, ['plugin', 'list'], { env });
    expect(list.stdout).toContain(join(app, 'node_modules', '.bin', 'kubectl-kensus'));
    // Plugins are found only when their name is kubectl's first word, so no --kubeconfig before it.
    const version = await run(requireBinary('kubectl', 'kubectl'), ['kensus', '--version'], { env });
    expect(version.stdout.trim()).toBe(pkg.version);
    // kubectl passes the words after `kubectl kensus` as they are; --kubeconfig before the
    // command is a kubectl habit the plugin accepts.
    const r = await run(requireBinary('kubectl', 'kubectl'), ['kensus', '--kubeconfig', cluster.kubeconfigPath, '--context', 'admin', 'scan', 'cluster', '--metadata-only', '--format', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).nodes).toHaveLength(4);
  }, 360_000);
});

describe('the krew release (deploy/krew)', () => {
  it('builds an archive and a manifest krew accepts, and the plugin installed from them runs', async () => {
    const out = join(work, 'krew');
    const rel = await run(process.execPath, [join(REPO, 'deploy', 'krew', 'release.mjs'), '--tarball', tarball, '--uri-base', 'https://downloads.example.org/kensus/v' + pkg.version, '--out', out], { timeoutMs: 300_000 });
    expect(rel.code, rel.stderr).toBe(0);
    const m = parse(readFileSync(join(out, 'kensus.yaml'), 'utf8'));
    const archive = join(out, `kubectl-kensus-v${pkg.version}.tar.gz`);

    // The checks of krew's ValidatePlugin (sigs.k8s.io/krew internal/index/validation/validate.go).
    expect(m.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2');
    expect(m.kind).toBe('Plugin');
    expect(m.metadata.name).toMatch(/^[\w-]+$/);
    expect(m.metadata.name).toBe('kensus'); // = the manifest's file name, plugins/kensus.yaml
    expect(m.spec.shortDescription).toMatch(/^[^\r\n]+$/);
    expect(m.spec.version).toBe(`v${pkg.version}`);
    expect(m.spec.version).toMatch(/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(m.spec.platforms.length).toBeGreaterThan(0);
    for (const p of m.spec.platforms) {
      expect(p.uri).toBe(`https://downloads.example.org/kensus/v${pkg.version}/kubectl-kensus-v${pkg.version}.tar.gz`);
      expect(p.sha256).toMatch(/^[a-f0-9]{64}$/);
      expect(p.bin).toBeTruthy();
      for (const f of p.files ?? []) expect(f.from && f.to).toBeTruthy();
      const sel = p.selector;
      const keys = [...Object.keys(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).map((e: K) => e.key)];
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) expect(['os', 'arch']).toContain(k);
      expect(createHash('sha256').update(readFileSync(archive)).digest('hex')).toBe(p.sha256);
    }

    // Install as `kubectl krew install --manifest --archive` does: unpack, apply `files`, link `bin`.
    const platform = m.spec.platforms[0];
    const unpacked = join(work, 'krew-unpacked');
    const installed = join(work, 'krew-store', 'kensus', m.spec.version);
    const binDir = join(work, 'krew-bin');
    for (const d of [unpacked, installed, binDir]) mkdirSync(d, { recursive: true });
    execFileSync('tar', ['-xzf', archive, '-C', unpacked]);
    for (const f of platform.files) cpSync(join(unpacked, f.from), join(installed, f.to, f.from), { recursive: true, verbatimSymlinks: true });
    expect(existsSync(join(installed, platform.bin))).toBe(true);
    symlinkSync(join(installed, platform.bin), join(binDir, 'kubectl-kensus'));
    const env = { ...process.env, PATH: `${binDir}:${process.env.PATH}` };
    const version = await run(requireBinary('kubectl', 'kubectl'), ['kensus', '--version'], { env });
    expect(version.stdout.trim()).toBe(pkg.version);
    const r = await run(requireBinary('kubectl', 'kubectl'), ['kensus', '--kubeconfig', cluster.kubeconfigPath, 'scan', 'cluster', '--metadata-only', '--format', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).nodes).toHaveLength(4);
  }, 360_000);
});
