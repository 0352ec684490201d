import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, copyFileSync, readdirSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFixtures } from '../../src/fixtures/load.js';
import { writeDockerArchive, writeOciArchive } from '../../src/fixtures/image-writer.js';
import { validateReport } from '../support/validate-report.js';
import type { Fixture } from '../../src/fixtures/format.js';

/** Runs the CLI exactly as users do: `node bin/kensus.js ...` (compiled by the test setup). */
function kensus(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/kensus.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit code, exactly one line on stderr that says what and how, nothing on stdout, no stack. */
function expectCleanFailure(r: ReturnType<typeof kensus>, code: number, message: RegExp) {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kensus: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

let dir: string;
let fixtures: Fixture[];
let oracleTar: string;
let temurinTar: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kensus-cli-'));
  fixtures = await loadFixtures();
  const find = (sig: string, name: string) => {
    const f = fixtures.find((x) => x.signature === sig && x.name === name);
    if (!f) throw new Error(`fixture ${sig}/${name} is gone: update this test`);
    return f;
  };
  oracleTar = join(dir, 'oracle.tar');
  await writeDockerArchive(find('oracle-database', 'ee-19c'), oracleTar);
  temurinTar = join(dir, 'temurin.tar');
  await writeOciArchive(find('oracle-java-se', 'temurin-21'), temurinTar, { compression: 'gzip' });
});

describe('kensus CLI', () => {
  it('prints its version', () => {
    const r = kensus(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('scan image --format json: one schema-valid JSON document on stdout, logs apart', () => {
    const r = kensus(['scan', 'image', `docker-archive:${oracleTar}`, '--format', 'json', '--no-cache']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(validateReport(report)).toEqual([]);
    expect(report.images).toHaveLength(1);
    expect(report.images[0].ref).toBe(`docker-archive:${oracleTar}`);
    expect(report.images[0].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const oracle = report.images[0].products.find((p: { id: string }) => p.id === 'oracle-database');
    expect(oracle).toMatchObject({ vendor: 'Oracle', edition: 'Enterprise Edition', licensable: true });
    expect(oracle.evidence.length).toBeGreaterThan(0);
    for (const key of ['containers', 'nodes', 'usage', 'gpuSkus', 'errors']) expect(report[key]).toEqual([]);
  });

  it('scan image without --format prints a readable table', () => {
    const r = kensus(['scan', 'image', `docker-archive:${oracleTar}`, `oci-archive:${temurinTar}`, '--no-cache']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^IMAGES\nIMAGE\s+PRODUCT\s+EDITION\s+VERSION/);
    expect(r.stdout).toMatch(/oracle\.tar\s+Oracle Database\s+Enterprise Edition/);
    expect(r.stdout).toMatch(/temurin\.tar\s+\(no licensed product found\)/);
  });

  it('a target that cannot be read becomes an errors row and the others go on', () => {
    const r = kensus(['scan', 'image', `docker-archive:${join(dir, 'missing.tar')}`, `docker-archive:${oracleTar}`, '--format', 'json', '--no-cache']);
    const report = JSON.parse(r.stdout);
    expect(validateReport(report)).toEqual([]);
    expect(report.images.map((i: { ref: string }) => i.ref)).toEqual([`docker-archive:${oracleTar}`]);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0].target).toBe(`docker-archive:${join(dir, 'missing.tar')}`);
    expect(r.code).not.toBe(0);
  });

  it('bad usage and bad input: right exit code, one clear line, no stack, nothing on stdout', () => {
    expectCleanFailure(kensus(['scan', 'image', 'ftp://example/x']), 2, /ftp|REF|form/i);
    expectCleanFailure(kensus(['scan', 'image', `docker-archive:${join(dir, 'missing.tar')}`, '--no-cache']), kensus(['scan', 'image', `docker-archive:${join(dir, 'missing.tar')}`, '--no-cache']).code!, /missing\.tar/);
    const garbage = join(dir, 'garbage.tar');
    writeFileSync(garbage, Buffer.alloc(4096, 0x41));
    expectCleanFailure(kensus(['scan', 'image', `docker-archive:${garbage}`, '--no-cache']), 2, /garbage\.tar/);
    const r = kensus(['scan', 'image']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/missing required argument/);
    expect(kensus(['scan', 'image', 'x', '--format', 'yml']).code).toBe(2);
    expect(kensus(['frobnicate']).code).toBe(2);
  });

  it('a broken signature file is named with its field and the fix', () => {
    const sigDir = join(dir, 'sigs');
    mkdirSync(sigDir, { recursive: true });
    for (const f of readdirSync('signatures')) if (f.endsWith('.json')) copyFileSync(join('signatures', f), join(sigDir, f));
    writeFileSync(
      join(sigDir, 'broken.yaml'),
      'id: broken-product\nvendor: Acme\nproduct: Broken\nlicenseMetric: per-core\nlicensable: true\nevidence:\n  - id: v\n    kind: content\n    path: /opt/acme/version\n    pattern: "(?<version>[0-9+"\n',
    );
    expectCleanFailure(kensus(['scan', 'image', `docker-archive:${oracleTar}`, '--signatures', sigDir, '--no-cache']), 2, /broken\.yaml/);
  });

  it('signatures check warns about a rule that cites no source, and still passes', () => {
    const sigDir = join(dir, 'uncited');
    mkdirSync(join(sigDir, 'fixtures'), { recursive: true });
    copyFileSync(join('signatures', 'signature.schema.json'), join(sigDir, 'signature.schema.json'));
    writeFileSync(
      join(sigDir, 'acme.yaml'),
      'id: acme-db\nvendor: Acme\nproduct: Acme DB\nlicenseMetric: per-core\nsources: [https://example.com/acme]\nevidence:\n  - { id: bare, kind: file, glob: /opt/acme/bin/acmed }\n',
    );
    const r = kensus(['signatures', 'check', sigDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: .*acme\.yaml: evidence\[0\] \(rule bare\): no source: cite the public file or document/m);
    expect(r.stdout).toMatch(/1 signatures and 0 fixtures are valid .*; 1 rules cite no source\./);
  });

  it('an unreadable archive is a clear error too', () => {
    if (process.getuid?.() === 0) {
      // root reads everything: a directory in place of a file stands in for "cannot read".
      expectCleanFailure(kensus(['scan', 'image', `docker-archive:${dir}`, '--no-cache']), 2, /directory|not a file/i);
    } else {
      const locked = join(dir, 'locked.tar');
      copyFileSync(oracleTar, locked);
      chmodSync(locked, 0);
      expectCleanFailure(kensus(['scan', 'image', `docker-archive:${locked}`, '--no-cache']), 2, /locked\.tar/);
    }
  });

  it('a reader that stops early gets no stack trace', () => {
    const r = spawnSync('sh', ['-c', `node bin/kensus.js scan image docker-archive:${oracleTar} --format json --no-cache | head -c 1`], { encoding: 'utf8' });
    expect(r.stdout).toBe('{');
    expect(r.stderr).toBe('');
  });

  it('the build bundle of the shipped signatures loads exactly what parsing the files gives, and never hides an edit', async () => {
    const { loadSignatureSet } = await import('../../src/signatures/load.js');
    const parsed = await loadSignatureSet();
    const shape = (set: Awaited<ReturnType<typeof loadSignatureSet>>) => JSON.stringify({ v: set.version, s: set.signatures.map((x) => [x.id, x.product, x.evidence.map((e) => e.id)]) });
    const fromDist = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { loadSignatureSet } = await import('./dist/signatures/load.js');
      const set = await loadSignatureSet();
      console.log(JSON.stringify({ v: set.version, s: set.signatures.map((x) => [x.id, x.product, x.evidence.map((e) => e.id)]) }));`], { encoding: 'utf8' });
    expect(fromDist.stderr).toBe('');
    expect(fromDist.stdout.trim()).toBe(shape(parsed));
    // A copy with one edit does not match the bundle's key: the edit is what gets loaded.
    const edited = join(dir, 'edited-sigs');
    mkdirSync(edited, { recursive: true });
    for (const f of readdirSync('signatures')) if (/\.(ya?ml|json)$/.test(f)) copyFileSync(join('signatures', f), join(edited, f));
    const mq = join(edited, 'ibm-mq.yaml');
    writeFileSync(mq, readFileSync(mq, 'utf8').replace(/^product: .*$/m, 'product: IBM MQ (edited)'));
    const r = kensus(['signatures', 'list', edited]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ibm-mq\s+IBM\s+IBM MQ \(edited\)/);
  });

  it('demo scans every fixture without a cluster or Docker, finding each positive and no negative', () => {
    const r = kensus(['demo', '--format', 'json'], { DOCKER_HOST: 'unix:///nonexistent.sock' });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(validateReport(report)).toEqual([]);
    expect(report.images).toHaveLength(fixtures.length);
    fixtures.forEach((f, i) => {
      const ids = report.images[i].products.map((p: { id: string }) => p.id);
      for (const e of f.expect) expect(ids, `${f.signature}/${f.name}`).toContain(e.id);
      for (const a of f.absent ?? []) expect(ids, `${f.signature}/${f.name}`).not.toContain(a);
    });
  });
});
