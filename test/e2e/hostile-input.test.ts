/**
 * Hostile input through the built CLI (`node bin/kensus.js`, as users run it; issue 19): every
 * case ends within its time bound with the right exit code and one line that says what is wrong,
 * and where the input is a list of objects, the bad ones become `errors` rows and the rest goes on.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDockerArchive, writeOciLayout } from '../../src/fixtures/image-writer.js';
import type { Fixture } from '../../src/fixtures/format.js';
import { rawNode, rawPod } from '../support/cluster-objects.js';
import { validateReport } from '../support/validate-report.js';

const work = mkdtempSync(join(tmpdir(), 'kensus-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `node bin/kensus.js ARGS`, killed after `timeoutMs` (a hang shows as code null). */
function kensus(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Run {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['bin/kensus.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...opts.env },
    timeout: opts.timeoutMs ?? 30_000,
    maxBuffer: 256 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** A shell pipeline ending in the CLI (`... | kensus ARGS`). */
function piped(producer: string, args: string[], timeoutMs = 30_000): Run {
  const t0 = Date.now();
  const cmd = `${producer} | ${JSON.stringify(process.execPath)} bin/kensus.js ${args.map((a) => `'${a}'`).join(' ')}`;
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** Exit code, nothing on stdout, exactly one `kensus: ` line on stderr matching `message`, no stack. */
function expectOneLineFailure(r: Run, code: number, message: RegExp): void {
  expect(r.code, `exit code (null: killed after its time bound)\n${r.stderr}`).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kensus: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('archives that never end', () => {
  it('docker-archive:/dev/zero ends at its two zero blocks: exit 2, one line', () => {
    const r = kensus(['scan', 'image', 'docker-archive:/dev/zero', '--no-cache'], { timeoutMs: 20_000 });
    expectOneLineFailure(r, 2, /\/dev\/zero holds no tar member/);
  });

  it('endless zeros on a pipe end the same way, and the writer is let go', () => {
    const r = piped('cat /dev/zero', ['scan', 'image', 'docker-archive:/dev/stdin', '--no-cache'], 20_000);
    expectOneLineFailure(r, 2, /\/dev\/stdin holds no tar member/);
  });
});

describe('absurd quantities in a cluster snapshot', () => {
  const MQ = { productID: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', productMetric: 'VIRTUAL_PROCESSOR_CORE', productChargedContainers: 'All' };

  it('each unbelievable field is an errors row naming the object and the field; the figures use the rest (exit 0)', () => {
    const items = [
      rawNode({ name: 'good', cpu: '8' }),
      rawNode({ name: 'infinite', cpu: 'INFINITE_CPU' }),
      rawNode({ name: 'negative', cpu: '-1' }),
      rawNode({ name: 'huge', cpu: '16', memory: '999999999Ei' }),
      rawNode({ name: 'nan', cpu: 'NaN' }),
      rawPod({ namespace: 'mq', name: 'mq-1', node: 'good', annotations: MQ, containers: [{ name: 'qm', image: 'icr.io/ibm-messaging/mq:9.4.0.5-r2', limits: { cpu: '2' } }] }),
      rawPod({ namespace: 'mq', name: 'mq-2', node: 'huge', annotations: MQ, containers: [{ name: 'qm', image: 'icr.io/ibm-messaging/mq:9.4.0.5-r2', limits: { cpu: '1e27' } }] }),
    ];
    // a JSON number too large for a double: JSON.parse makes it Infinity
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items }).replaceAll('"INFINITE_CPU"', '1e309');
    const file = join(work, 'absurd.json');
    writeFileSync(file, text);
    const r = kensus(['scan', 'cluster', '--snapshot', file, '--metadata-only', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(validateReport(report)).toEqual([]);
    const rows = report.errors.map((e: { target: string; message: string }) => `${e.target}: ${e.message}`);
    expect(rows).toEqual(
      expect.arrayContaining([
        'node/infinite: status.capacity.cpu "Infinity" is not a finite number; ignored (counted as 0)',
        'node/negative: status.capacity.cpu "-1" is negative; ignored (counted as 0)',
        expect.stringMatching(/^node\/huge: status\.capacity\.memory "999999999Ei" is more than \d+ bytes \(1 PiB\): not a real machine; ignored/),
        'node/nan: status.capacity.cpu "NaN" is not a finite number; ignored (counted as 0)',
        'mq/mq-2/qm: spec.containers[0].resources.limits.cpu "1e27" is more than 100000 cores: not a real machine; ignored (the container counts as having no CPU limit)',
      ]),
    );
    const cpu = Object.fromEntries(report.nodes.map((n: { name: string; cpu: number }) => [n.name, n.cpu]));
    expect(cpu).toEqual({ good: 8, huge: 16, infinite: 0, nan: 0, negative: 0 });
    const huge = report.nodes.find((n: { name: string }) => n.name === 'huge');
    expect(huge.memoryBytes).toBe(0);
    // MQ: 2 cores on good, and mq-2 without a believable limit counts its node (16): 18 VPC
    const mq = report.usage.find((u: { productName: string }) => /MQ/.test(u.productName));
    expect(mq.quantity).toBe(18);
  });
});

describe('signature regexes on hostile file content (linear-time engine)', () => {
  /** An image with one file of `content` at `path`, written as a docker-archive. */
  async function imageWith(name: string, path: string, content: string): Promise<string> {
    const fixture: Fixture = { name, signature: 'test', description: name, image: { refs: [`example.test/${name}:1`] }, layers: [{ files: [{ path, content }] }], expect: [] };
    const file = join(work, `${name}.tar`);
    await writeDockerArchive(fixture, file);
    return file;
  }

  /** `unit` repeated to `bytes`, then `tail`. */
  const flood = (unit: string, bytes: number, tail = '') => unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes - tail.length) + tail;

  // V8's backtracking took 2.5 s on 32 KB of this and about a day on the 1 MiB the rule reads (cubic).
  it('a registry.xml full of <distribution name="WebLogic Server" is scanned in seconds, and a real entry after it still found', async () => {
    const unit = '<distribution name="WebLogic Server" ';
    const hostile = await imageWith('weblogic-flood', '/u01/oracle/inventory/registry.xml', flood(unit, 1 << 20));
    const r = kensus(['scan', 'image', `docker-archive:${hostile}`, '--format', 'json', '--no-cache'], { timeoutMs: 60_000 });
    expect(r.code, `exit code (null: still matching after 60 s)\n${r.stderr}`).toBe(0);
    expect(JSON.parse(r.stdout).images[0].products.map((p: { id: string }) => p.id)).not.toContain('oracle-weblogic-server');
    const real = await imageWith('weblogic-flood-real', '/u01/oracle/inventory/registry.xml', flood(unit, (1 << 20) - 200, '<distribution status="installed" name="WebLogic Server" version="14.1.1.0.0">'));
    const found = kensus(['scan', 'image', `docker-archive:${real}`, '--format', 'json', '--no-cache'], { timeoutMs: 60_000 });
    expect(found.code, found.stderr).toBe(0);
    const wls = JSON.parse(found.stdout).images[0].products.find((p: { id: string }) => p.id === 'oracle-weblogic-server');
    expect(wls?.version).toBe('14.1.1.0.0');
  });

  // Quadratic under V8: about 10 s on 1 MiB.
  it('an Oracle globalvariables.xml full of NAME="oracle_install_db_InstallType" is scanned in seconds', async () => {
    const hostile = await imageWith('oracle-flood', '/opt/oracle/product/19c/dbhome_1/inventory/globalvariables/oracle.server/globalvariables.xml', flood('NAME="oracle_install_db_InstallType" ', 1 << 20));
    const r = kensus(['scan', 'image', `docker-archive:${hostile}`, '--format', 'json', '--no-cache'], { timeoutMs: 60_000 });
    expect(r.code, `exit code (null: still matching after 60 s)\n${r.stderr}`).toBe(0);
    expect(JSON.parse(r.stdout).errors).toEqual([]);
  });

  it('signatures check rejects a user signature the engine cannot run, naming the file and the field (exit 2)', async () => {
    const dir = join(work, 'user-signatures');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'acme-db.yaml'),
      [
        'id: acme-db',
        'vendor: Acme',
        'product: Acme DB',
        'licenseMetric: per-core',
        'sources: [https://example.com/acme-db/install-guide]',
        '# Acme DB install layout: https://example.com/acme-db/install-guide',
        'evidence:',
        '  - id: version-file',
        '    kind: content',
        '    glob: /opt/acme/VERSION',
        "    pattern: 'Acme DB (?=Enterprise)(?<version>\\d+\\.\\d+)'",
        '    maxBytes: 1024',
        '',
      ].join('\n'),
    );
    const r = kensus(['signatures', 'check', dir]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/acme-db\.yaml: evidence\[0\]\.pattern \(line \d+\): regular expression .*RE2 cannot run it/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('a YAML bomb in a signature file', () => {
  it('is refused with exit 2 naming the file, by signatures check and by a scan that loads it', () => {
    const dir = join(work, 'bomb-signatures');
    mkdirSync(dir, { recursive: true });
    // "billion laughs": nine aliases of nine aliases of ... nine strings
    const lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    let prev = 'a';
    for (const n of 'bcdefghi') {
      lines.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(', ')}]`);
      prev = n;
    }
    writeFileSync(join(dir, 'laughs.yaml'), ['id: laughs', 'vendor: Acme', 'product: Laughs', 'licenseMetric: per-core', ...lines, ''].join('\n'));
    const check = kensus(['signatures', 'check', dir], { timeoutMs: 20_000 });
    expectOneLineFailure(check, 2, /laughs\.yaml: its YAML aliases expand past 100 nodes/);
    const scan = kensus(['scan', 'image', 'docker-archive:/dev/null', '--signatures', dir, '--no-cache'], { timeoutMs: 20_000 });
    expect(scan.code, scan.stderr).toBe(2);
    expect(scan.stderr).toMatch(/laughs\.yaml: its YAML aliases expand past 100 nodes/);
  });
});

describe('a tampered OCI blob behind a warm layer cache', () => {
  it('is trusted on a cache hit (documented), and --verify re-reads and rejects it (exit 2)', async () => {
    const dir = join(work, 'tampered-layout');
    const cache = join(work, 'tamper-cache');
    const fixture: Fixture = { name: 'tamper', signature: 'test', description: 'tamper', image: { refs: ['example.test/tamper:1'] }, layers: [{ files: [{ path: '/opt/app/version', content: 'app 1.2.3\n' }] }], expect: [] };
    await writeOciLayout(fixture, dir, { compression: 'gzip' });
    const cold = kensus(['scan', 'image', `oci:${dir}`, '--cache-dir', cache, '--format', 'json']);
    expect(cold.code, cold.stderr).toBe(0);
    // flip a byte inside the layer blob (its digest was checked and cached by the first scan)
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs', ...index.manifests[0].digest.split(':')), 'utf8'));
    const blob = join(dir, 'blobs', ...manifest.layers[0].digest.split(':'));
    const bytes = readFileSync(blob);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(blob, bytes);
    const warm = kensus(['scan', 'image', `oci:${dir}`, '--cache-dir', cache, '--format', 'json']);
    expect(warm.code, warm.stderr).toBe(0);
    const verified = kensus(['scan', 'image', `oci:${dir}`, '--cache-dir', cache, '--verify', '--format', 'json']);
    expect(verified.code, verified.stderr).toBe(2);
    expect(`${verified.stdout}${verified.stderr}`).toMatch(/hashes to sha256:[0-9a-f]{64}|corrupt|invalid/);
  });
});
