import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { demoClusterList } from '../../src/fixtures/demo-cluster.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { writeDockerArchive } from '../../src/fixtures/image-writer.js';
import { validateReport } from '../support/validate-report.js';

/**
 * The kubectl habits of issue 18 on the built CLI (`node bin/kensus.js`), as a user types them:
 * -o FORMAT and --output-file, --log-level choices, version, completion, Examples in --help,
 * --fail-on reasons, --field-selector on a snapshot, --interval durations.
 */
const repo = resolve(import.meta.dirname, '../..');
const bin = join(repo, 'bin/kensus.js');

function kensus(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: opts.cwd ?? repo, env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...opts.env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let oracleTar: string;
let snapshot: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kensus-habits-'));
  const fx = (await loadFixtures()).find((f) => f.signature === 'oracle-database' && f.name === 'ee-19c');
  if (!fx) throw new Error('fixture oracle-database/ee-19c is gone: update this test');
  oracleTar = join(dir, 'oracle.tar');
  await writeDockerArchive(fx, oracleTar);
  snapshot = join(dir, 'cluster.json');
  writeFileSync(snapshot, JSON.stringify(demoClusterList()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('-o is the format, as in kubectl', () => {
  it('-o json prints JSON and writes no file named json', () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const r = kensus(['scan', 'image', `docker-archive:${oracleTar}`, '-o', 'json', '--no-cache'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(validateReport(JSON.parse(r.stdout))).toEqual([]);
    expect(readdirSync(cwd)).toEqual([]);
    // --format is the same option; the two names must agree.
    expect(JSON.parse(kensus(['scan', 'image', `docker-archive:${oracleTar}`, '--format', 'json', '--no-cache']).stdout).images).toEqual(JSON.parse(r.stdout).images);
    const clash = kensus(['scan', 'image', `docker-archive:${oracleTar}`, '-o', 'json', '--format', 'yaml', '--no-cache']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/-o json and --format yaml disagree/);
  });

  it('-o yaml, -o name, -o wide and the narrow default', () => {
    const ref = `docker-archive:${oracleTar}`;
    const yaml = kensus(['scan', 'image', ref, '-o', 'yaml', '--no-cache']);
    expect(yaml.code, yaml.stderr).toBe(0);
    const doc = parseYaml(yaml.stdout);
    expect(validateReport(doc)).toEqual([]);
    expect(doc.images[0].products.map((p: { id: string }) => p.id)).toContain('oracle-database');
    const names = kensus(['scan', 'image', ref, '-o', 'name', '--no-cache']);
    expect(names.stdout.trim().split('\n')).toContain('product/oracle-database');
    expect(names.stdout).toMatch(/^(product\/[a-z0-9-]+\n)+$/);
    const wide = kensus(['scan', 'image', ref, '-o', 'wide', '--no-cache']);
    expect(wide.stdout).toMatch(/^IMAGES\nIMAGE\s+PRODUCT\s+EDITION\s+VERSION\s+METRIC\s+LICENSABLE\s+CONFIDENCE/);
    expect(wide.stdout).toContain(ref);
    const narrow = kensus(['scan', 'image', ref, '--no-cache']);
    expect(narrow.stdout).toMatch(/^IMAGES\nIMAGE\s+PRODUCT\s+EDITION\s+VERSION\s+LICENSABLE\n/);
    expect(narrow.stdout).not.toMatch(/CONFIDENCE|METRIC/);
  });

  it('-o FILE is refused with the way to write a file; --output-file writes it', () => {
    const file = join(dir, 'report.json');
    const r = kensus(['scan', 'image', `docker-archive:${oracleTar}`, '-o', file, '--no-cache']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are table, wide, json, yaml, name, csv, cyclonedx, ndi\. \(to write a file, use --output-file /);
    expect(existsSync(file)).toBe(false);
    const ok = kensus(['scan', 'image', `docker-archive:${oracleTar}`, '-o', 'json', '--output-file', file, '--no-cache']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('');
    expect(validateReport(JSON.parse(readFileSync(file, 'utf8')))).toEqual([]);
  });

  it('-o csv on stdout is one table (images for an image scan, usage for a cluster); --output-file DIR gets every table', () => {
    const images = kensus(['scan', 'image', `docker-archive:${oracleTar}`, '-o', 'csv', '--no-cache']);
    expect(images.code, images.stderr).toBe(0);
    const rows = parseCsv(images.stdout) as string[][];
    expect(rows[0]).toEqual(['ref', 'digest', 'productId', 'product', 'edition', 'version', 'licenseMetric', 'licensable', 'confidence']);
    expect(rows.slice(1).map((r) => r[2])).toContain('oracle-database');
    const usage = kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '-o', 'csv']);
    expect(usage.code, usage.stderr).toBe(0);
    expect((parseCsv(usage.stdout) as string[][])[0].slice(0, 4)).toEqual(['productId', 'productName', 'metric', 'quantity']);
    const out = join(dir, 'csv');
    expect(kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '-o', 'csv', '--output-file', out]).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['containers.csv', 'errors.csv', 'gpu-skus.csv', 'images.csv', 'namespaces.csv', 'nodes.csv', 'usage.csv']);
    const ndi = kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '-o', 'ndi']);
    expect(ndi.code).toBe(2);
    expect(ndi.stderr).toMatch(/-o ndi writes several files \(give a directory with --output-file DIR\)/);
  });
});

describe('small habits', () => {
  it('--log-level is checked against its choices (exit 2), before or after the subcommand', () => {
    for (const args of [['--log-level', 'verbose', 'version'], ['scan', 'image', 'x', '--log-level', 'verbose']]) {
      const r = kensus(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/argument 'verbose' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent/);
      expect(r.stderr).not.toMatch(/custom levels/);
    }
    // After the subcommand, and not a terminal: JSON log lines at debug level, beside the one error line.
    const debug = kensus(['scan', 'image', `docker-archive:${join(dir, 'missing.tar')}`, '--no-cache', '--log-level', 'debug']);
    expect(debug.code).toBe(2);
    const lines = debug.stderr.trim().split('\n');
    const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(json.map((l) => [l.level, l.msg])).toContainEqual([20, 'image scan failed']);
    expect(lines.filter((l) => !l.startsWith('{'))).toEqual([expect.stringMatching(/^kensus: .*missing\.tar: no such file or directory/)]);
    expect(kensus(['scan', 'image', `docker-archive:${join(dir, 'missing.tar')}`, '--no-cache']).stderr).not.toMatch(/^\{/m);
  });

  it('kensus version and kensus --version', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    expect(kensus(['version']).stdout).toBe(`kensus ${pkg.version}\n`);
    expect(JSON.parse(kensus(['version', '-o', 'json']).stdout)).toMatchObject({ name: 'kensus', version: pkg.version });
    expect(kensus(['--version']).stdout).toBe(`${pkg.version}\n`);
  });

  it('kensus completion bash|zsh: scripts the shells accept, completing commands and flags', () => {
    const bash = kensus(['completion', 'bash']);
    expect(bash.code).toBe(0);
    const script = join(dir, 'kensus.bash');
    writeFileSync(script, bash.stdout);
    const complete = (words: string[]) =>
      spawnSync('bash', ['-c', `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _kensus; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    expect(complete(['kensus', 'scan', 'cl']).stdout.trim()).toBe('cluster');
    expect(complete(['kensus', 'scan', 'cluster', '--field']).stdout.trim()).toBe('--field-selector');
    expect(complete(['kensus', 'comp']).stdout.trim()).toBe('completion');
    const zsh = kensus(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef kensus\n/);
    expect(zsh.stdout).toContain('bashcompinit');
    const bad = kensus(['completion', 'fish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Allowed choices are bash, zsh/);
  });

  it('every --help has an Examples section', () => {
    const commands = [[], ['scan'], ['scan', 'image'], ['scan', 'container'], ['scan', 'pod'], ['scan', 'namespace'], ['scan', 'cluster'], ['serve'], ['demo'], ['signatures'], ['signatures', 'list'], ['signatures', 'check'], ['version'], ['completion']];
    for (const c of commands) {
      const r = kensus([...c, '--help']);
      expect(r.code, c.join(' ')).toBe(0);
      expect(r.stdout, c.join(' ')).toMatch(/\nExamples:\n {2}kensus /);
    }
  });

  it('--fail-on says on stderr which entitlement failed and by how much', () => {
    const r = kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--entitlements', 'docs/entitlements.yaml', '--fail-on', 'over', '-o', 'json']);
    expect(r.code).toBe(1);
    expect(validateReport(JSON.parse(r.stdout))).toEqual([]);
    expect(r.stderr).toContain('kensus: --fail-on over: IBM App Connect Enterprise PROCESSOR_VALUE_UNIT is over: uses 140 of 100 owned (140%, 40 over)\n');
    expect(r.stderr).toMatch(/kensus: --fail-on over: IBM Db2 VIRTUAL_PROCESSOR_CORE is unlicensed: uses 10 with no entitlement/);
    const ok = kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--entitlements', 'docs/entitlements.yaml', '-o', 'json']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
  });

  it('--field-selector on a snapshot answers as the API server would', () => {
    const r = kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--field-selector', 'spec.nodeName=gpu-h100,status.phase=Running', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.containers.length).toBeGreaterThan(0);
    expect(new Set(report.containers.map((c: { node: string }) => c.node))).toEqual(new Set(['gpu-h100']));
    const not = JSON.parse(kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--field-selector', 'spec.nodeName!=gpu-h100', '-o', 'json']).stdout);
    expect(not.containers.some((c: { node: string }) => c.node === 'gpu-h100')).toBe(false);
    const bad = kensus(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--field-selector', 'spec.color=red']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/field label not supported: spec\.color/);
  });

  it('serve --interval takes 1d and 1h30m, and refuses a bare number', async () => {
    const bare = kensus(['serve', '--snapshot', snapshot, '--no-sweep', '--port', '0', '--interval', '90']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/--interval '90' is not a duration/);
    for (const interval of ['1d', '1h30m']) {
      const child = spawn(process.execPath, [bin, 'serve', '--snapshot', snapshot, '--no-sweep', '--port', '0', '--interval', interval], { env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' } });
      let err = '';
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`serve --interval ${interval} did not start: ${err}`)), 30_000);
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (/serving on http/.test(err)) {
            clearTimeout(timer);
            done();
          }
        });
        child.on('exit', (code) => fail(new Error(`serve --interval ${interval} exited ${code}: ${err}`)));
      });
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
