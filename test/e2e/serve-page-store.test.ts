import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { recordHeartbeat } from '../../src/store/agents.js';
import { openStore } from '../../src/store/open.js';
import { launchBrowser, type Browser } from '../support/browser.js';
import { dashboardEntitlements, simulatedDays, snapshotWithout } from '../support/dashboard-history.js';

/**
 * The dashboard over the history store: the simulated days of test/support/dashboard-history.ts
 * recorded by the real CLI (`kensus sweep --snapshot … --observed-at …` into SQLite), served by
 * `kensus serve --store` (the latest recorded sweep and the store's `report usage`), read in
 * Debian's Chromium. Two node agents have reported into the store: plain-1 ten minutes before the
 * server starts (covered), gpu-h100 three hours before (stale past the 75-minute bound: not
 * covered), so coverage is 1 of the 5 nodes the sweeps recorded.
 */

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'kensus-dashboard-store-'));
const store = `sqlite:${join(dir, 'kensus.db')}`;
const token = 'dashboard-store-token-31c7a9';
let child: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;

function kensus(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/kensus.js', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, timeout: 120_000 });
  return { code: r.status, stderr: r.stderr };
}

beforeAll(async () => {
  writeFileSync(join(dir, 'entitlements.yaml'), stringify(dashboardEntitlements));
  writeFileSync(join(dir, 'tokens'), `${token}\n`);
  for (const d of simulatedDays) {
    const snapshot = join(dir, `${d.day}.json`);
    writeFileSync(snapshot, JSON.stringify(snapshotWithout(d.without)));
    const r = kensus(['sweep', '--store', store, '--snapshot', snapshot, '--observed-at', `${d.day}T02:00:00Z`, '--metadata-only', '--entitlements', join(dir, 'entitlements.yaml'), '--cluster-id', 'dash']);
    expect(r.code, r.stderr).toBe(0);
  }
  const db = await openStore(store);
  const beat = (node: string, minutesAgo: number) =>
    recordHeartbeat(db, { clusterId: 'dash', node, at: new Date(Date.now() - minutesAgo * 60_000), toolVersion: 'test', containers: 7, containersRead: 7, errorCount: 0 });
  await beat('plain-1', 10);
  await beat('gpu-h100', 180);
  await db.close();
  child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--store', store, '--cluster-id', 'dash', '--no-sweep', '--api-token-file', join(dir, 'tokens'), '--entitlements', join(dir, 'entitlements.yaml')], {
    cwd: root,
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kensus serve did not start in 60 s: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /kensus: serving on (http:\/\/\S+)/.exec(err);
      if (m) (clearTimeout(timer), resolve(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`kensus serve exited with ${code}: ${err}`)));
  });
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto(`${url}/`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Licence compliance' }).waitFor();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (child?.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

const cells = (view: string) =>
  page.$$eval(`table[data-view="${view}"] tbody tr`, (trs) => trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col ?? '', (td.textContent ?? '').trim()]))));

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (ok((last = await what()))) return last;
  throw new Error(`still ${JSON.stringify(last)}`);
}

describe('the dashboard served from the history store', () => {
  it('shows the latest recorded sweep and the store cluster, with the same entitlement figures', async () => {
    expect(await page.textContent('[data-role=sweeps]')).toContain('Cluster dash (store)');
    const ents = await until(() => cells('entitlements'), (r) => r.length === 7);
    expect(ents[0]).toMatchObject({ status: 'warning', product: 'IBM MQ Advanced', used: '9', owned: '10', percentage: '90 %' });
  });

  it("shows the quarter's peaks from the store's report usage: IBM MQ 9 VPC first on 2026-11-02", async () => {
    await page.goto(`${url}/#/history?from=2026-10-01&to=2027-01-01`);
    const peaks = await until(() => cells('peaks'), (r) => r.some((p) => p.productName === 'IBM MQ Advanced'));
    expect(peaks.find((p) => p.productName === 'IBM MQ Advanced')).toMatchObject({ quantity: '9', pvu: '630', day: '2026-11-02' });
    expect(peaks.find((p) => p.productName === 'IBM App Connect Enterprise')).toMatchObject({ quantity: '140', day: '2026-10-20' });
    const mq = page.locator('figure[data-chart="IBM MQ Advanced VIRTUAL_PROCESSOR_CORE"]');
    await mq.getByText('Daily figures as a table').click();
    const daily = Object.fromEntries((await mq.locator('details tbody tr').allTextContents()).map((t) => [t.slice(0, 10), t.slice(10)]));
    // The days of the sweeps; the store also carries a figure over the days between sweeps.
    expect([daily['2026-10-05'], daily['2026-10-20'], daily['2026-11-02'], daily['2026-11-23']]).toEqual(['6', '7', '9', '9']);
    await page.screenshot({ path: join(root, 'test-artifacts', 'dashboard', 'history-store.png'), fullPage: true });
  });

  it("shows coverage from the agents' heartbeats in the store: 1 of 5 nodes, the other four named", async () => {
    await page.goto(`${url}/#/overview`);
    await page.getByRole('heading', { level: 1, name: 'Licence compliance' }).waitFor();
    await until(() => page.textContent('[data-role=coverage] .big'), (t) => t === '1/5');
    expect(await page.textContent('[data-role=coverage] .label')).toBe("nodes with the node agent (4 without), from the agents' heartbeats");
    expect(await page.textContent('[data-role=nodes-without-agent]')).toBe('Without a node agent (their containers are seen by sweeps only): cp-1, gpu-h100, gpu-mig, gpu-nolabel.');
  });

  it("shows every installation with its first and last seen from the store's report installations", async () => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Installations', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Installations' }).waitFor();
    await page.locator('select[data-filter=product]').selectOption('IBM App Connect Enterprise');
    // ace-1..3 ran in every sweep but 10-05, when ace-3 was not there: all first seen on the first
    // sweep (09-20) and last seen on the latest (11-23), running now.
    const ace = await until(() => cells('installations'), (r) => r.length === 3 && r.every((i) => i.product === 'IBM App Connect Enterprise'));
    expect(ace.map((i) => [i.workload, i.firstSeen, i.lastSeen, i.current])).toEqual([
      ['ReplicaSet/ace-1-rs', '2026-09-20 02:00 UTC', '2026-11-23 02:00 UTC', 'yes'],
      ['ReplicaSet/ace-2-rs', '2026-09-20 02:00 UTC', '2026-11-23 02:00 UTC', 'yes'],
      ['ReplicaSet/ace-3-rs', '2026-09-20 02:00 UTC', '2026-11-23 02:00 UTC', 'yes'],
    ]);
    // oracle-done (Succeeded) never ran in a sweep: not an installation.
    await page.locator('select[data-filter=product]').selectOption('Oracle Database');
    const oracle = await until(() => cells('installations'), (r) => r.length > 0 && r.every((i) => i.product === 'Oracle Database'));
    expect(oracle.map((i) => i.workload)).toEqual(['ReplicaSet/oracle-0-rs', 'ReplicaSet/oracle-1-rs']);
    await page.screenshot({ path: join(root, 'test-artifacts', 'dashboard', 'installations-store.png'), fullPage: true });
  });
});
