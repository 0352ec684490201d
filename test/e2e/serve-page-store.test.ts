import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { launchBrowser, type Browser } from '../support/browser.js';
import { dashboardEntitlements, simulatedDays, snapshotWithout } from '../support/dashboard-history.js';

/**
 * The dashboard over the history store: the simulated days of test/support/dashboard-history.ts
 * recorded by the real CLI (`kensus sweep --snapshot … --observed-at …` into SQLite), served by
 * `kensus serve --store` (the latest recorded sweep and the store's `report usage`), read in
 * Debian's Chromium.
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
});
