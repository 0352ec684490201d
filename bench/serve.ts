/**
 * The `kensus serve` benchmarks of issue 17:
 * - admission latency: 50 concurrent AdmissionReviews of images the server knows (from its
 *   sweep of the test cluster's snapshot), over HTTPS with kept-alive connections as the API
 *   server sends them; p50 / p99 (goal p99 < 50 ms);
 * - the dashboard's time to first render with a 10,000-pod cluster and 90 days of history, in
 *   Debian's Chromium: from navigation to the overview's status cards and entitlement rows;
 * - admission latency again while the server sweeps a large snapshot back to back (issue 19:
 *   sweeps run in their own thread, so reviews keep their latency).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { testClusterList } from '../test/support/cluster-objects.js';
import type { Report } from '../src/model/report.js';
import { makeTls } from '../test/cluster/tls.js';

type AdmissionFigures = { reviews: number; concurrency: number; p50Ms: number; p99Ms: number; maxMs: number; perSecond: number; loadAverage: number } | { error: string };

export interface ServeBench {
  admission: AdmissionFigures;
  /** The same reviews while the server sweeps a large snapshot over and over (in its sweep thread). */
  duringSweep?: AdmissionFigures & { pods?: number };
  page: { pods: number; days: number; runs: number; firstRenderMs: { cold: number; median: number; max: number }; reportBytes: number } | { error: string };
}

type Say = (m: string) => void;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/**
 * 50 concurrent reviews of the test cluster's images. With `sweeping`, the server's snapshot is
 * that many pods (bigSnapshot) and its interval 1 s, so sweeps follow each other in the sweep
 * thread for the whole measurement: what admission costs beside a sweep of a large cluster.
 */
async function admission(root: string, quick: boolean, say: Say, sweeping?: number): Promise<AdmissionFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'kensus-bench-serve-'));
  const tls = makeTls(['localhost'], ['127.0.0.1'], 'kensus-bench');
  writeFileSync(join(dir, 'tls.crt'), tls.cert);
  writeFileSync(join(dir, 'tls.key'), tls.key);
  const list = testClusterList() as { items: Array<{ kind: string; spec?: { containers?: Array<{ image: string }> } }> };
  writeFileSync(join(dir, 'snapshot.json'), JSON.stringify(sweeping ? bigSnapshot(sweeping) : list));
  const images = [...new Set(list.items.filter((o) => o.kind === 'Pod').flatMap((p) => p.spec!.containers!.map((c) => c.image)))];
  const child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'),
    '--snapshot', join(dir, 'snapshot.json'), '--metadata-only', '--interval', sweeping ? '1s' : '24h', '--no-api-auth', '--cache-dir', join(dir, 'cache')], { cwd: root, env: { ...process.env, KENSUS_LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let err = '';
    const url = await new Promise<URL>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /serving on (https:\/\/\S+)/.exec(err);
        if (m) (clearTimeout(t), resolve(new URL(m[1])));
      });
      child.once('exit', (c) => reject(new Error(`serve exited with ${c}: ${err}`)));
    });
    const concurrency = 50;
    const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca: tls.caCert });
    const post = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `b-${i}`, operation: 'CREATE', namespace: 'mq', object: { kind: 'Pod', metadata: { name: `p-${i}`, annotations: {} }, spec: { containers: [{ name: 'c', image: images[i % images.length] }] } } } });
        const t0 = performance.now();
        const req = https.request({ host: url.hostname, port: url.port, path: '/validate?timeout=5s', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    for (let end = Date.now() + 120_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      const ready = await new Promise<number>((resolve) => https.get(new URL('/readyz', url), { ca: tls.caCert }, (r) => (r.resume(), resolve(r.statusCode ?? 0))).on('error', () => resolve(0)));
      if (ready === 200) break;
    }
    const run = async (n: number) => {
      let next = 0;
      const times: number[] = [];
      const t0 = performance.now();
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < n) times.push(await post(next++));
      }));
      return { times, ms: performance.now() - t0 };
    };
    await run(2000); // connections open, JIT warm: a server that has run a while (500 left quick runs measuring the warm-up)
    const n = quick ? 2000 : 10_000;
    say(`admission: ${n} reviews at ${concurrency} concurrent${sweeping ? `, sweeping ${sweeping} pods meanwhile` : ''}`);
    const loadAverage = loadavg()[0];
    const { times, ms } = await run(n);
    agent.destroy();
    return { reviews: n, concurrency, p50Ms: pct(times, 50), p99Ms: pct(times, 99), maxMs: Math.max(...times), perSecond: (n / ms) * 1000, loadAverage };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The test cluster with its pods copied until there are `pods` of them, over 100 namespaces and 60 more worker nodes. */
export function bigSnapshot(pods: number): Record<string, unknown> {
  const list = testClusterList() as { items: Array<Record<string, any>> };
  const nodes = list.items.filter((o) => o.kind === 'Node');
  const templates = list.items.filter((o) => o.kind === 'Pod');
  const extraNodes = Array.from({ length: 60 }, (_, i) => ({ ...structuredClone(nodes.find((n) => n.metadata.name === 'plain-1')), metadata: { ...nodes[3].metadata, name: `worker-${i}`, uid: `uid-node-worker-${i}`, labels: { ...nodes[3].metadata.labels, 'kubernetes.io/hostname': `worker-${i}` } } }));
  const out: Array<Record<string, any>> = [];
  for (let i = 0; out.length < pods; i++) {
    const t = structuredClone(templates[i % templates.length]);
    const copy = Math.floor(i / templates.length);
    t.metadata.name = `${t.metadata.name}-${copy}`;
    t.metadata.uid = `${t.metadata.uid}-${copy}`;
    t.metadata.namespace = `${t.metadata.namespace}-${copy % 100}`;
    // Spread the copies over the extra workers, keeping GPU pods on their GPU nodes.
    if (!/gpu/.test(t.spec.nodeName)) t.spec.nodeName = `worker-${copy % 60}`;
    out.push(t);
  }
  return { ...list, items: [...nodes, ...extraNodes, ...out] };
}

async function page(root: string, quick: boolean, say: Say): Promise<ServeBench['page']> {
  const dir = mkdtempSync(join(tmpdir(), 'kensus-bench-page-'));
  const pods = 10_000;
  const days = 90;
  try {
    const [{ runScanCluster }, { startServer }, { createMemoryHistory }, { openAccess }, { parsePolicy }, { loadSignatureSet }, { launchBrowser }] = await Promise.all([
      import('../src/cli/scan-cluster.js'), import('../src/server/app.js'), import('../src/server/history.js'), import('../src/server/auth.js'),
      import('../src/server/policy.js'), import('../src/signatures/load.js'), import('../test/support/browser.js'),
    ]);
    writeFileSync(join(dir, 'snapshot.json'), JSON.stringify(bigSnapshot(pods)));
    writeFileSync(join(dir, 'entitlements.yaml'), stringify({ entitlements: [{ product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 500, 'alert-threshold': 85 }, { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 64 }] }));
    say(`page: a ${pods}-pod report and ${days} days of history`);
    const latest = (await runScanCluster({ snapshot: join(dir, 'snapshot.json'), metadataOnly: true, entitlements: join(dir, 'entitlements.yaml'), now: new Date('2026-11-23T02:00:00Z') })).report;
    const history = createMemoryHistory();
    for (let d = days; d > 0; d--) {
      const day = new Date(Date.parse('2026-11-23T02:00:00Z') - d * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      // Figures that vary day by day, as a cluster's do.
      history.record({ ...latest, scannedAt: day, usage: latest.usage.map((u) => ({ ...u, quantity: Math.max(1, Math.round(u.quantity * (0.7 + 0.3 * Math.sin(d / 7) ** 2))) })) } as Report);
    }
    const server = await startServer({ host: '127.0.0.1', port: 0, auth: openAccess(), history, admission: { set: await loadSignatureSet(), policy: parsePolicy('mode: warn'), entitled: () => false }, sweep: async () => latest, intervalMs: 6 * 3600_000, now: () => new Date('2026-11-23T12:00:00Z') });
    for (let end = Date.now() + 30_000; !server.current() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    const browser = await launchBrowser();
    const times: number[] = [];
    try {
      const runs = quick ? 3 : 7;
      for (let i = 0; i < runs; i++) {
        const p = await browser.context.newPage();
        await p.goto(`${server.url}/`, { waitUntil: 'commit' });
        // The page's own clock, from navigation start to the first frame showing the figures.
        const ms = await p.waitForFunction(
          () => {
            const d = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document;
            return d.querySelector('[data-role=status-cards] [data-status]') && d.querySelector('table[data-view=entitlements] tbody tr td') ? performance.now() : null;
          },
          undefined,
          { polling: 'raf', timeout: 30_000 },
        );
        times.push(Number(await ms.jsonValue()));
        await p.close();
      }
    } finally {
      await browser.close();
      await server.close();
    }
    const rest = times.slice(1);
    return { pods, days, runs: times.length, firstRenderMs: { cold: times[0], median: pct(rest, 50), max: Math.max(...rest) }, reportBytes: Buffer.byteLength(JSON.stringify(latest)) };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchServe(root: string, quick: boolean, say: Say): Promise<ServeBench> {
  const sweepPods = quick ? 3_000 : 10_000;
  return {
    admission: await admission(root, quick, say),
    duringSweep: { ...(await admission(root, quick, say, sweepPods)), pods: sweepPods },
    page: await page(root, quick, say),
  };
}

export function serveMarkdown(s: ServeBench): string[] {
  const a = s.admission;
  const w = s.duringSweep;
  const p = s.page;
  return [
    '## kensus serve',
    '',
    '| measure | figure |',
    '| --- | --- |',
    'error' in a
      ? `| admission latency | not measured: ${a.error} |`
      : `| admission latency, ${a.concurrency} concurrent reviews of known images over HTTPS (${a.reviews} reviews) | p50 ${a.p50Ms.toFixed(1)} ms, p99 ${a.p99Ms.toFixed(1)} ms, max ${a.maxMs.toFixed(1)} ms; ${a.perSecond.toFixed(0)} reviews/s (load average ${a.loadAverage.toFixed(1)}) |`,
    ...(w === undefined
      ? []
      : 'error' in w
        ? [`| admission latency while sweeping | not measured: ${w.error} |`]
        : [`| the same, while the server sweeps a ${(w.pods ?? 0).toLocaleString('en')}-pod snapshot back to back (sweep thread) | p50 ${w.p50Ms.toFixed(1)} ms, p99 ${w.p99Ms.toFixed(1)} ms, max ${w.maxMs.toFixed(1)} ms; ${w.perSecond.toFixed(0)} reviews/s (load average ${w.loadAverage.toFixed(1)}) |`]),
    'error' in p
      ? `| dashboard first render | not measured: ${p.error} |`
      : `| dashboard first render, ${p.pods.toLocaleString('en')}-pod cluster (${(p.reportBytes / 1e6).toFixed(1)} MB report), ${p.days} days of history | first visit ${p.firstRenderMs.cold.toFixed(0)} ms; later visits median ${p.firstRenderMs.median.toFixed(0)} ms, max ${p.firstRenderMs.max.toFixed(0)} ms (${p.runs - 1} runs) |`,
    '',
  ];
}

// `node --import tsx bench/serve.ts [--quick]`: these two figures alone (npm run bench has them too).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const s = await benchServe(root, process.argv.includes('--quick'), (m) => process.stderr.write(`[bench serve] ${m}\n`));
  process.stdout.write(serveMarkdown(s).join('\n') + '\n');
  process.exit(0);
}
