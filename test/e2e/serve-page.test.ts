import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/report/csv.js';
import type { Report } from '../../src/model/report.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { tokenFileAccess } from '../../src/server/auth.js';
import { createMemoryHistory } from '../../src/server/history.js';
import { parsePolicy } from '../../src/server/policy.js';
import { loadSignatureSet } from '../../src/signatures/load.js';
import { axeViolations, launchBrowser, type Browser } from '../support/browser.js';
import { simulatedReports } from '../support/dashboard-history.js';

/**
 * The dashboard of `kensus serve` in Debian's Chromium (playwright-core): a server filled with
 * sweeps of the test cluster over five simulated days (test/support/dashboard-history.ts, where
 * the figures below are worked out), read as a licence manager would, mouse-free where it
 * matters. Screenshots of each view go to test-artifacts/dashboard/.
 */

/** The browser's globals inside page.evaluate (this file is type-checked without the DOM library). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Dom = { document: any };

const artifacts = join(import.meta.dirname, '..', '..', 'test-artifacts', 'dashboard');
const dir = mkdtempSync(join(tmpdir(), 'kensus-dashboard-'));
const token = 'dashboard-test-token-7f3a9c2e';
let server: RunningServer;
let browser: Browser;
let page: Page;
let reports: Report[];

async function shot(name: string, p: Page = page): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await p.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Cell texts of the body rows of the table of one read-API view (columns by data-col). */
async function tableRows(view: string, p: Page = page): Promise<Array<Record<string, string>>> {
  return p.$$eval(`table[data-view="${view}"] tbody tr`, (trs) =>
    trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col ?? '', (td.textContent ?? '').replace(/\s+/g, ' ').trim()]))).filter((r) => !('' in r)),
  );
}

/** Waits until the table of a view shows rows for which `ok` holds (the API answers asynchronously). */
async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, label: string): Promise<T> {
  let last: T | undefined;
  for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    last = await what();
    if (ok(last)) return last;
  }
  throw new Error(`${label}: still ${JSON.stringify(last)} after 15 s`);
}

const rowsOf = (view: string, ok: (rows: Array<Record<string, string>>) => boolean, p: Page = page) => until(() => tableRows(view, p), ok, `table ${view}`);

async function download(click: () => Promise<void>, p: Page = page): Promise<{ name: string; text: string }> {
  const [dl] = await Promise.all([p.waitForEvent('download'), click()]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

/** A link of the top navigation (other links on a page may have the same name). */
const nav = (name: string, p: Page = page) => p.getByRole('navigation', { name: 'Views' }).getByRole('link', { name, exact: true });

async function signIn(p: Page): Promise<void> {
  await p.goto(`${server.url}/`);
  await p.getByLabel('Token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { level: 1, name: 'Licence compliance' }).waitFor();
}

beforeAll(async () => {
  reports = await simulatedReports();
  const history = createMemoryHistory();
  for (const r of reports.slice(0, -1)) history.record(r);
  writeFileSync(join(dir, 'tokens'), `${token}\n`);
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    auth: tokenFileAccess(join(dir, 'tokens')),
    history,
    admission: { set: await loadSignatureSet(), policy: parsePolicy('mode: warn'), entitled: () => false },
    // The latest sweep; its start (the server's clock) is 2026-11-23 12:00 UTC, the interval 6 h.
    sweep: async () => reports[reports.length - 1],
    intervalMs: 6 * 3600_000,
    now: () => new Date('2026-11-23T12:00:00Z'),
  });
  for (const end = Date.now() + 20_000; !server.current() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
  if (!server.current()) throw new Error('the first sweep did not finish within 20 s');
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the kensus serve dashboard in a browser', () => {
  it('asks for a token first, refuses a wrong one, and signs in with the right one by keyboard alone', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(await page.locator('main p').first().textContent()).toBe('Sign in to see the figures of this cluster.');
    expect(await page.locator('li', { hasText: 'An API token of this server' }).count()).toBe(1);
    await page.getByLabel('Token').focus();
    await page.keyboard.type('not-the-token-of-this-server');
    await page.keyboard.press('Enter');
    await page.getByText('the token is not valid for this server').waitFor();
    await page.getByLabel('Token').fill('');
    await page.getByLabel('Token').focus();
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Licence compliance' }).waitFor();
  });

  it('overview: status counts, used/owned, coverage, licensable vs free, and the quarter peaks with their days', async () => {
    const cards = await until(
      () => page.$$eval('[data-role=status-cards] [data-status]', (els) => Object.fromEntries(els.map((e) => [(e as unknown as { dataset: Record<string, string> }).dataset.status, e.querySelector('.big')?.textContent]))),
      (c) => Object.keys(c).length === 4,
      'status cards',
    );
    // Entitlements: MQ 9 of 10 at an 85 % alert → warning; NVAIE 3 of 32 → ok; five products
    // in use that no entitlement names (ACE, Db2, Cloud Pak for Integration, MongoDB, Oracle).
    expect(cards).toEqual({ over: '0', warning: '1', unlicensed: '5', ok: '1' });
    expect(await page.textContent('[data-role=coverage] .big')).toBe('0/5');
    expect(await page.textContent('[data-role=products]')).toMatch(/^7licensable products; 1 free product, 1 that cannot be told$/);
    const sweeps = await page.textContent('[data-role=sweeps]');
    expect(sweeps).toContain('Last sweep 2026-11-23 02:00 UTC');
    expect(sweeps).toContain('Next sweep 2026-11-23 18:00 UTC');

    const ents = await rowsOf('entitlements', (r) => r.length === 7);
    expect(ents.map((e) => e.status)).toEqual(['warning', 'unlicensed', 'unlicensed', 'unlicensed', 'unlicensed', 'unlicensed', 'ok']);
    expect(ents[0]).toMatchObject({ product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', used: '9', owned: '10', percentage: '90 %' });
    expect(ents.find((e) => e.product === 'NVIDIA AI Enterprise')).toMatchObject({ used: '3', owned: '32', percentage: '9.4 %', namespaces: 'ai-inference, ml-training' });
    expect(ents.find((e) => e.product === 'Oracle Database')).toMatchObject({ used: '18', owned: '—', status: 'unlicensed' });

    const peaks = await rowsOf('peaks', (r) => r.length === 12);
    // MQ: 6 (10-05), 7 (10-20), 9 (11-02), 9 (11-23) → 9 first on 11-02; ACE 70 → 140 PVU on 10-20.
    expect(peaks.find((p) => p.productName === 'IBM MQ Advanced')).toMatchObject({ quantity: '9', pvu: '630', day: '2026-11-02' });
    expect(peaks.find((p) => p.productName === 'IBM App Connect Enterprise')).toMatchObject({ quantity: '140', day: '2026-10-20' });
    const products = await rowsOf('products', (r) => r.length === 9);
    expect(products.filter((p) => p.licence === 'free').map((p) => p.product)).toEqual(['NVIDIA CUDA Toolkit']);
    expect(products.find((p) => p.product === 'IBM MQ')).toMatchObject({ containers: '4', status: 'warning' });
    await shot('overview');
  });

  it('history: the quarter by default, daily figures used vs owned, any other period, at most two years', async () => {
    await nav('History').click();
    await page.getByRole('heading', { level: 1, name: 'History' }).waitFor();
    const mq = page.locator('figure[data-chart="IBM MQ Advanced VIRTUAL_PROCESSOR_CORE"]');
    await mq.waitFor();
    expect(await page.textContent('[data-role=period]')).toMatch(/^2026Q4: 2026-10-01 to 2026-12-31/);
    expect(await mq.locator('figcaption').textContent()).toContain('10 owned');
    expect(await mq.locator('canvas').count()).toBeGreaterThan(0);
    await mq.getByText('Daily figures as a table').click();
    expect(await mq.locator('details tbody tr').allTextContents()).toEqual(['2026-10-056', '2026-10-207', '2026-11-029', '2026-11-239']);
    await shot('history');

    await page.locator('[data-role=from]').fill('2026-07-01');
    await page.locator('[data-role=to]').fill('2026-09-30');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await until(() => page.textContent('[data-role=period]'), (t) => t?.startsWith('2026-07-01 – 2026-09-30') ?? false, 'period');
    const q3 = await rowsOf('peaks', (r) => r.length > 0 && r.every((p) => p.day === '2026-09-20'));
    expect(q3.find((p) => p.productName === 'IBM MQ Advanced')).toMatchObject({ quantity: '9', day: '2026-09-20' });

    await page.locator('[data-role=from]').fill('2024-01-01');
    await page.locator('[data-role=to]').fill('2026-11-30');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'at most two years' }).waitFor();
  });

  it('nodes: filter by GPU SKU, sort by CPU, search, and drill down to a pod and the evidence chain of its finding', async () => {
    await nav('Nodes').click();
    let nodes = await rowsOf('nodes', (r) => r.length === 5);
    expect(nodes.find((n) => n.name === 'gpu-h100')).toMatchObject({ cpu: '64', gpuCount: '8', gpus: '8× NVIDIA-H100-80GB-HBM3 NVAIE-H100', pods: '8', status: 'unlicensed' });
    expect(nodes.find((n) => n.name === 'gpu-nolabel')).toMatchObject({ gpus: '2× unknown model SKU unknown', status: '—' });
    await page.locator('select[data-filter=sku]').selectOption('NVAIE-A100');
    nodes = await rowsOf('nodes', (r) => r.length === 1);
    expect(nodes[0].name).toBe('gpu-mig');
    await page.locator('select[data-filter=sku]').selectOption('');
    await rowsOf('nodes', (r) => r.length === 5);
    await page.locator('button[data-sort=cpu]').click();
    nodes = await rowsOf('nodes', (r) => r.map((n) => n.cpu).join() === '4,8,16,32,64');
    expect(nodes.map((n) => n.name)).toEqual(['cp-1', 'plain-1', 'gpu-nolabel', 'gpu-mig', 'gpu-h100']);
    expect(await page.getAttribute('th:has(button[data-sort=cpu])', 'aria-sort')).toBe('ascending');
    await page.locator('button[data-sort=cpu]').click();
    nodes = await rowsOf('nodes', (r) => r[0]?.name === 'gpu-h100');
    expect(await page.getAttribute('th:has(button[data-sort=cpu])', 'aria-sort')).toBe('descending');
    await page.locator('input[data-role=search]').fill('mongo');
    nodes = await rowsOf('nodes', (r) => r.length === 2);
    expect(nodes.map((n) => n.name)).toEqual(['gpu-mig', 'plain-1']); // still by CPU, descending
    await shot('nodes');

    await page.getByRole('link', { name: 'plain-1' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Node plain-1' }).waitFor();
    // plain-1: mq-1..3, db2-nolimit, oracle-0, mongo-1, nginx.
    const pods = await rowsOf('pods', (r) => r.length === 7);
    expect(pods.map((p) => p.pod).sort()).toEqual(['db2-nolimit', 'mongo-1', 'mq-1', 'mq-2', 'mq-3', 'nginx', 'oracle-0']);
    await page.getByRole('link', { name: 'oracle-0' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Pod oracle-0' }).waitFor();
    const finding = page.locator('article.finding');
    await finding.waitFor();
    expect(await finding.locator('h3').textContent()).toMatch(/^Oracle Database Enterprise Edition 19\.3\.0\.0 licensable unlicensed$/);
    const chain = await finding.locator('ol.evidence li').allTextContents();
    expect(chain[0]).toMatch(/^Image container-registry\.oracle\.com\/database\/enterprise:19\.3\.0\.0-k7test sha256:[0-9a-f]{12}…, read from the image$/);
    expect(chain.slice(1).every((l) => /^imageRef .* matched by rule [\w-]+\/[\w-]+$/.test(l))).toBe(true);
    await shot('pod');
  });

  it('namespaces: running pods and CPU limits of running containers, GPUs by SKU, drill-down to the pending pod', async () => {
    await nav('Namespaces').click();
    const ns = await rowsOf('namespaces', (r) => r.length === 9);
    expect(ns.find((n) => n.namespace === 'mq')).toMatchObject({ runningPods: '4 of 5', cpuLimits: '9.5', status: 'warning' });
    expect(ns.find((n) => n.namespace === 'ai-inference')).toMatchObject({ gpuCount: '2', gpus: '2× NVIDIA-H100-80GB-HBM3 NVAIE-H100', nvaieAllocated: '2' });
    expect(ns.find((n) => n.namespace === 'ml-training')).toMatchObject({ gpuCount: '0', nvaieAllocated: '1' });
    await shot('namespaces');
    await page.getByRole('link', { name: 'mq', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Namespace mq' }).waitFor();
    await page.locator('select[data-filter=phase]').selectOption('Pending');
    const pending = await rowsOf('pods', (r) => r.length === 1);
    expect(pending[0]).toMatchObject({ pod: 'mq-pending', phase: 'Pending' });
  });

  it('findings: filter by product and download the selection as CSV', async () => {
    await nav('Findings').click();
    await rowsOf('findings', (r) => r.length === 24 - 2); // 24 containers, web/nginx and db2's istio-proxy have no product
    await page.locator('select[data-filter=product]').selectOption('Oracle Database');
    const oracle = await rowsOf('findings', (r) => r.length === 3);
    expect(oracle.map((f) => f.pod).sort()).toEqual(['oracle-0', 'oracle-1', 'oracle-done']);
    const csv = await download(() => page.locator('button[data-role=csv]').click());
    expect(csv.name).toBe('kensus-findings-2026-11-23.csv');
    const rows = parseCsv(csv.text);
    expect(rows[0].slice(0, 5)).toEqual(['Product', 'Vendor', 'Edition', 'Version', 'Licence']);
    expect(rows.slice(1).map((r) => r[rows[0].indexOf('Pod')]).sort()).toEqual(['oracle-0', 'oracle-1', 'oracle-done']);
    expect(rows.slice(1).map((r) => r[rows[0].indexOf('Pod phase')]).sort()).toEqual(['Running', 'Running', 'Succeeded']);
  });

  it('licences and GPUs: GPUs on nodes vs allocated to NVAIE-gated pods per SKU', async () => {
    await nav('Licences & GPUs').click();
    const gpus = await rowsOf('gpus', (r) => r.length === 3);
    expect(gpus.map((g) => [g.sku, g.onNodes, g.onGatedNodes, g.allocatedToGated])).toEqual([
      ['NVAIE-A100', '2', '2', '1'],
      ['NVAIE-H100', '8', '8', '2'],
      ['unknown', '2', '0', '0'],
    ]);
    const usage = await rowsOf('usage', (r) => r.length === 12);
    expect(usage.find((u) => u.productName === 'IBM Cloud Pak for Integration')).toMatchObject({ quantity: '7', pvu: '490', scope: 'cloudpak' });
    await shot('licences');
  });

  it('installations: without a store the page says they need one (no store, no first/last seen)', async () => {
    await nav('Installations').click();
    await page.getByRole('heading', { level: 1, name: 'Installations' }).waitFor();
    await until(() => page.textContent('[data-role=installations-source]'), (t) => t?.includes('--store') ?? false, 'installations note');
    expect(await page.textContent('[data-role=installations-source]')).toBe('Installations are kept by the history store: start kensus serve with --store to see when each was first and last seen.');
    // Coverage came from the report (no store): its label does not claim heartbeats.
    await nav('Overview').click();
    expect(await page.locator('[data-role=coverage] .label').textContent()).toBe('nodes with the node agent (5 without)');
  });

  it('downloads: the quarterly usage report, the .ndi files and the report', async () => {
    await nav('Downloads').click();
    await page.locator('ul.files li').first().waitFor();
    await page.locator('[data-role=quarter]').selectOption('2026Q4');
    const q = await download(() => page.locator('[data-role=quarter-json]').click());
    expect(q.name).toBe('kensus-usage-2026Q4.json');
    const usage = JSON.parse(q.text);
    expect(usage.period).toEqual({ from: '2026-10-01', to: '2027-01-01' });
    const mq = usage.peaks.find((p: { productName: string }) => p.productName === 'IBM MQ Advanced');
    expect(mq).toMatchObject({ quantity: 9, pvu: 630, day: '2026-11-02', daily: [{ day: '2026-10-05', quantity: 6 }, { day: '2026-10-20', quantity: 7 }, { day: '2026-11-02', quantity: 9 }, { day: '2026-11-23', quantity: 9 }] });
    const qcsv = parseCsv((await download(() => page.locator('[data-role=quarter-csv]').click())).text);
    expect(qcsv.filter((r) => r[2] === 'IBM MQ Advanced').map((r) => [r[7], r[8]])).toEqual([['2026-10-05', '6'], ['2026-10-20', '7'], ['2026-11-02', '9'], ['2026-11-23', '9']]);

    const names = await page.locator('ul.files li button').allTextContents();
    // IBM licensing, one per node (5) and one per image (11).
    expect(names.length).toBe(1 + 5 + 11);
    const node = names.find((n) => n.includes('-gpu-h100-'))!;
    const xml = await download(() => page.getByRole('button', { name: node }).click());
    expect(xml.name).toBe(node);
    expect(xml.text).toMatch(/^<\?xml/);
    expect(xml.text).toContain('NVIDIA-H100-80GB-HBM3');
    const tar = await download(() => page.locator('[data-role=ndi-tar]').click());
    expect(tar.name).toBe('kensus-ndi-2026-11-23.tar');
    for (const n of names) expect(tar.text).toContain(n);
    const report = JSON.parse((await download(() => page.getByRole('button', { name: 'Report (JSON)' }).click())).text);
    expect(report.scannedAt).toBe('2026-11-23T02:00:00Z');
    await shot('downloads');
  });

  it('reaches every control of every view with the keyboard alone, and Enter works them', async () => {
    const views = ['overview', 'history', 'entitlements', 'licences', 'nodes', 'namespaces', 'pods', 'findings', 'installations', 'downloads', 'nodes/gpu-h100', 'pods/db/oracle-0'];
    for (const v of views) {
      await page.goto(`${server.url}/#/${v}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      // Every control the page shows, tagged so each can be recognised when it has the focus
      // (what a closed <details> holds is not shown until it is opened).
      const total = await page.$$eval('a[href], button:not([disabled]), input, select, summary, [tabindex="0"]', (els) => {
        const shown = els.filter((e) => e.checkVisibility());
        shown.forEach((e, i) => e.setAttribute('data-kid', String(i)));
        return shown.length;
      });
      const reached = new Set<string>();
      // Start where a freshly loaded page starts: the top of the document.
      await page.evaluate(() => {
        (globalThis as unknown as Dom).document.body.tabIndex = -1;
        (globalThis as unknown as Dom).document.body.focus();
        (globalThis as unknown as Dom).document.body.removeAttribute('tabindex');
      });
      // A date input takes one Tab per field (month, day, year): allow for more presses than controls.
      for (let i = 0; i < 2 * total + 10 && reached.size < total; i++) {
        await page.keyboard.press('Tab');
        const kid = await page.evaluate(() => (globalThis as unknown as Dom).document.activeElement?.getAttribute('data-kid'));
        if (kid) reached.add(kid);
      }
      const missed = await page.$$eval('[data-kid]', (els, got) => els.filter((e) => !got.includes(e.getAttribute('data-kid')!)).map((e) => e.outerHTML.slice(0, 120)), [...reached]);
      expect(missed, `view ${v}`).toEqual([]);
    }
    // Enter on a nav link and on a sort button, Space on a filter menu's choice: no mouse.
    await page.goto(`${server.url}/#/overview`);
    await nav('Nodes').focus();
    await page.keyboard.press('Enter');
    await rowsOf('nodes', (r) => r.length === 5);
    await page.locator('button[data-sort=gpuCount]').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    const byGpus = await rowsOf('nodes', (r) => r[0]?.name === 'gpu-h100');
    expect(byGpus.map((n) => n.gpuCount)).toEqual(['8', '2', '2', '0', '0']);
    await page.locator('select[data-filter=status]').focus();
    await page.keyboard.press('ArrowDown'); // the first status in the menu: 'none' (products without an entitlement status)
    const none = await rowsOf('nodes', (r) => r.length === 1);
    expect(none[0].name).toBe('gpu-nolabel'); // only the free CUDA toolkit runs there
  });

  it('passes the axe-core WCAG 2.1 AA checks on every view', async () => {
    for (const v of ['overview', 'history', 'entitlements', 'licences', 'nodes', 'namespaces', 'pods', 'findings', 'installations', 'downloads', 'nodes/gpu-h100', 'namespaces/mq', 'pods/db/oracle-0']) {
      await page.goto(`${server.url}/#/${v}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      expect(await axeViolations(page), `view ${v}`).toEqual([]);
    }
    const p = await browser.context.newPage();
    await p.goto(`${server.url}/`);
    await p.evaluate(() => (globalThis as unknown as Dom).document.defaultView.sessionStorage.clear());
    await p.reload();
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(await axeViolations(p), 'sign-in').toEqual([]);
    await p.close();
  });

  it('works on a narrow window: no page-wide horizontal scrolling, tables scroll in their own region', async () => {
    const narrow = await browser.context.newPage();
    await narrow.setViewportSize({ width: 390, height: 844 });
    await signIn(narrow);
    await rowsOf('entitlements', (r) => r.length === 7, narrow);
    for (const v of ['overview', 'nodes', 'history']) {
      await narrow.goto(`${server.url}/#/${v}`);
      await narrow.locator('main h1').waitFor();
      await narrow.waitForLoadState('networkidle');
      const overflow = await narrow.evaluate(() => (globalThis as unknown as Dom).document.documentElement.scrollWidth - (globalThis as unknown as Dom).document.documentElement.clientWidth);
      expect(overflow, `view ${v}`).toBeLessThanOrEqual(1);
      await shot(`narrow-${v.replace('/', '-')}`, narrow);
    }
    await narrow.close();
  });
});
