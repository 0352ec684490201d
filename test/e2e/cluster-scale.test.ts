/**
 * A real cluster size through the built CLI (issue 19): 50,000 pods, 640 MB of
 * `kubectl get -o json`. Memory is bounded by the cluster model, not by the file: the CLI runs
 * with V8's old space capped at 160 MB (reading the file whole needs more than a JavaScript
 * string can hold; holding it parsed, gigabytes), so holding the document, or the report as one
 * string, fails the run outright instead of making a timing flaky. The time goal lives in
 * bench/cluster.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE, snapshotPod, writeSnapshot } from '../../bench/cluster-snapshot.js';
import { validateReport } from '../support/validate-report.js';

const work = mkdtempSync(join(tmpdir(), 'kensus-scale-'));
const snapshot = join(work, 'cluster.json');
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  const written = await writeSnapshot(snapshot, LARGE);
  expect(written.bytes).toBeGreaterThan(500e6);
}, 180_000);

describe('a 50,000-pod snapshot', () => {
  it('is read as a stream in bounded memory and gives the whole report', () => {
    const out = join(work, 'report.json');
    const r = spawnSync('sh', ['-c', `${JSON.stringify(process.execPath)} --max-old-space-size=160 bin/kensus.js scan cluster --snapshot '${snapshot}' --metadata-only --format json --output-file '${out}'`], {
      encoding: 'utf8',
      env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' },
      timeout: 240_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(validateReport(report)).toEqual([]);
    let containers = 0;
    for (let i = 0; i < LARGE.pods; i++) containers += (snapshotPod(i, LARGE).spec as { containers: unknown[] }).containers.length;
    expect(report.containers).toHaveLength(containers);
    expect(report.nodes).toHaveLength(LARGE.pods / LARGE.podsPerNode);
    expect(report.errors).toEqual([]);
    const products = new Set(report.containers.flatMap((c: { products: Array<{ id: string }> }) => c.products.map((p) => p.id)));
    for (const id of ['ibm-mq', 'oracle-database', 'mongodb-enterprise', 'nvidia-nim']) expect(products).toContain(id);
    expect(report.usage.find((u: { productName: string }) => /MQ/.test(u.productName))?.quantity).toBeGreaterThan(0);
  }, 300_000);

  it('writes the default table as plain aligned columns in the same bounded memory, a row per container', () => {
    const out = join(work, 'report.txt');
    const r = spawnSync('sh', ['-c', `${JSON.stringify(process.execPath)} --max-old-space-size=160 bin/kensus.js scan cluster --snapshot '${snapshot}' --metadata-only --output-file '${out}'`], {
      encoding: 'utf8',
      env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', COLUMNS: '120' },
      timeout: 240_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\n');
    const start = lines.indexOf('CONTAINERS');
    const end = lines.indexOf('', start);
    expect(lines[start + 1]).toMatch(/^NODE\s+CONTAINER\s+METHOD\s+PRODUCT\s+EDITION\s+VERSION$/);
    let containers = 0;
    for (let i = 0; i < LARGE.pods; i++) containers += (snapshotPod(i, LARGE).spec as { containers: unknown[] }).containers.length;
    // one row per container here: each holds at most one product
    expect(end - start - 2).toBe(containers);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(120);
    // columns aligned: every row's METHOD column starts where the header's does
    const at = lines[start + 1].indexOf('METHOD');
    for (const line of lines.slice(start + 2, end)) expect(line.slice(at, at + 6)).toBe('image ');
    expect(lines).toContain('LICENCE USAGE');
  }, 300_000);
});
