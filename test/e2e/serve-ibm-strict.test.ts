import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusterList } from '../support/cluster-objects.js';

/**
 * Issue 13: `kensus serve --ibm-strict-no-limit` sweeps with the reference's literal no-limit
 * rule, through the same cluster-scan options as `scan cluster --ibm-strict-no-limit`. The test
 * cluster's IBM Db2 (test/support/cluster-objects.ts) is where the readings differ:
 *   default (charged containers, as License Service counts): db2-nolimit's charged container has
 *     no limit → plain-1's 8 cores; db2-limited charges its db2 container's limit, 2 (the
 *     istio-proxy sidecar is not charged) → 10 VPC;
 *   strict: a pod with any container without a CPU limit is charged its node's capacity:
 *     db2-nolimit → 8, db2-limited (istio-proxy has no limit) → gpu-mig's 32 → 40 VPC.
 */

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-strict-'));
const snapshot = join(dir, 'snapshot.json');
const children: ChildProcess[] = [];

interface Row { productName: string; metric: string; scope: string; quantity: number; rule: string }

function scanCluster(extra: string[]): Row[] {
  const r = spawnSync(process.execPath, ['bin/kensus.js', 'scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '-o', 'json', ...extra], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { usage: Row[] }).usage;
}

async function serveUsage(extra: string[]): Promise<Row[]> {
  const child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--snapshot', snapshot, '--metadata-only', '--no-api-auth', ...extra], {
    cwd: root,
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kensus serve did not start in 60 s: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /kensus: serving on (http:\/\/\S+)/.exec(err);
      if (m) (clearTimeout(timer), resolve(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`kensus serve exited with ${code}: ${err}`)));
  });
  for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const res = await fetch(`${url}/api/v1/report`);
    if (res.status === 200) return ((await res.json()) as { usage: Row[] }).usage;
  }
  throw new Error(`the first sweep did not finish in 60 s: ${err}`);
}

const db2 = (rows: Row[]) => rows.filter((u) => u.productName === 'IBM Db2').map((u) => ({ metric: u.metric, scope: u.scope, quantity: u.quantity }));
const figures = (rows: Row[]) => rows.map((u) => [u.productName, u.metric, u.scope, u.quantity, u.rule]);

beforeAll(() => {
  writeFileSync(snapshot, JSON.stringify(testClusterList()));
});

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('kensus serve --ibm-strict-no-limit', () => {
  it('sweeps with the same figures as scan cluster --ibm-strict-no-limit, and they differ from the default where a container has no CPU limit', async () => {
    const strictScan = scanCluster(['--ibm-strict-no-limit']);
    const defaultScan = scanCluster([]);
    const [strictServe, defaultServe] = await Promise.all([serveUsage(['--ibm-strict-no-limit']), serveUsage([])]);
    expect(figures(strictServe)).toEqual(figures(strictScan));
    expect(figures(defaultServe)).toEqual(figures(defaultScan));
    // strict: 8 (plain-1) + 32 (gpu-mig) = 40 VPC
    expect(db2(strictServe)).toEqual([{ metric: 'VIRTUAL_PROCESSOR_CORE', scope: 'cluster', quantity: 40 }]);
    expect(db2(defaultServe)).toEqual([{ metric: 'VIRTUAL_PROCESSOR_CORE', scope: 'cluster', quantity: 10 }]);
    expect(strictServe.find((u) => u.productName === 'IBM Db2')!.rule).toMatch(/strict|literal/i);
  }, 240_000);
});
