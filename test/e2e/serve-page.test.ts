import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runScanCluster } from '../../src/cli/scan-cluster.js';
import { testClusterList } from '../support/cluster-objects.js';
import type { Report } from '../../src/model/report.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { parsePolicy } from '../../src/server/policy.js';
import { loadSignatureSet } from '../../src/signatures/load.js';

/**
 * The web page of `kensus serve` as a browser renders it: Debian's headless Chromium
 * (scripts/setup.sh installs it) takes a screenshot and dumps the DOM it built.
 */

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-page-'));
let server: RunningServer;
let report: Report;

/**
 * Runs headless Chromium on one URL. Asynchronous on purpose: the server answers from this
 * process, so a blocking spawnSync would never let the page load. Every host name but
 * 127.0.0.1 resolves to nothing and no proxy is used, so the browser stays on loopback.
 */
function chromium(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh (Debian package chromium)`);
  const profile = mkdtempSync(join(dir, 'profile-'));
  const child = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-domain-reliability', '--no-pings', '--no-proxy-server',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', `--user-data-dir=${profile}`, ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chromium ${args.join(' ')} took over 30 s; stderr: ${Buffer.concat(err).toString().slice(-2000)}`));
    }, 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Decodes an 8-bit RGB(A) non-interlaced PNG (what Chromium writes) into its pixels. */
function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Buffer } {
  let pos = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`PNG bit depth ${depth}, colour type ${colour}, interlace ${interlace}: extend decodePng`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      if (predictor === undefined) throw new Error(`PNG filter type ${filter} in row ${y}`);
      pixels[y * stride + x] = (line[x] + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The body rows of the table under the <h2> with this title, as cell texts. */
function tableRows(dom: string, title: string): string[][] {
  const section = new RegExp(`<h2>${title}</h2>\\s*<table>([\\s\\S]*?)</table>`).exec(dom);
  if (!section) return [];
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(section[1])?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1].matchAll(/<td>([\s\S]*?)<\/td>/g)].map((c) => decode(c[1])));
}

beforeAll(async () => {
  const snapshot = join(dir, 'snapshot.json');
  writeFileSync(snapshot, JSON.stringify(testClusterList()));
  const entitlements = join(dir, 'entitlements.yaml');
  writeFileSync(entitlements, stringify({
    entitlements: [
      { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, 'alert-threshold': 85 },
      { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 32, namespaces: ['ai-inference', 'ml-training'], 'alert-threshold': 80 },
    ],
  }));
  const now = new Date('2026-11-23T02:00:00Z');
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    admission: { set: await loadSignatureSet(), policy: parsePolicy('mode: warn'), entitled: () => false },
    sweep: async () => (await runScanCluster({ snapshot, metadataOnly: true, entitlements, now })).report,
  });
  // The first sweep starts with the server; wait for it rather than for a fixed time.
  for (const until = Date.now() + 20_000; !server.current() && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
  if (!server.current()) throw new Error('the first sweep did not finish within 20 s');
  report = server.current()!;
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kensus serve web page in a browser', () => {
  it('renders a screenshot of the page with text and tables on it', async () => {
    const file = join(dir, 'page.png');
    const r = await chromium([`--screenshot=${file}`, '--window-size=1280,1600', `${server.url}/`]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(existsSync(file), r.stderr.slice(-2000)).toBe(true);
    // To look at it: KENSUS_TEST_ARTIFACTS=DIR npx vitest run test/e2e/serve-page.test.ts
    if (process.env.KENSUS_TEST_ARTIFACTS) {
      mkdirSync(process.env.KENSUS_TEST_ARTIFACTS, { recursive: true });
      copyFileSync(file, join(process.env.KENSUS_TEST_ARTIFACTS, 'serve-page.png'));
    }
    const png = readFileSync(file);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(png.length).toBeGreaterThan(30_000); // a blank 1280×1600 page compresses to a few KB
    const { width, height, channels, pixels } = decodePng(png);
    expect([width, height]).toEqual([1280, 1600]);
    // Text and table borders are dark or grey; the page background is white. Count per band so a
    // page that rendered only its heading (or nothing) fails.
    const inkIn = (y0: number, y1: number) => {
      let ink = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < width; x++) {
        const i = (y * width + x) * channels;
        if (pixels[i] + pixels[i + 1] + pixels[i + 2] < 600) ink++;
      }
      return ink / ((y1 - y0) * width);
    };
    const top = inkIn(0, 400);
    const middle = inkIn(400, 1200);
    expect(top).toBeGreaterThan(0.005);
    expect(top).toBeLessThan(0.5);
    expect(middle).toBeGreaterThan(0.005);
    expect(middle).toBeLessThan(0.5);
  });

  it('builds a DOM holding the GPU SKU and entitlement rows of the latest sweep', async () => {
    const r = await chromium(['--dump-dom', `${server.url}/`]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const dom = r.stdout;
    expect(dom).toContain('<title>Kensus — software census</title>');
    expect(dom).toContain(`Scanned at ${report.scannedAt}`);

    const skus = tableRows(dom, 'GPU SKUs');
    expect(skus).toEqual(report.gpuSkus.map((s) => [s.sku ?? 'unknown', String(s.gpus), s.nodes.join(', ')]));
    expect(skus.map((row) => row[0])).toContain('NVAIE-H100');

    const ents = tableRows(dom, 'Entitlements');
    const results = report.entitlements as Array<{ product: string; metric: string; used: number; owned: number; percentage: number | null; status: string }>;
    expect(ents).toEqual(results.map((e) => [e.product, e.metric, String(e.used), String(e.owned), e.percentage === null ? '' : String(e.percentage), e.status]));
    // 9 of 10 MQ cores against an 85 % threshold (src/cli/scan-cluster.test.ts works it out).
    expect(ents).toContainEqual(['IBM MQ Advanced', 'VIRTUAL_PROCESSOR_CORE', '9', '10', '90', 'warning']);
    expect(ents.find((row) => row[0] === 'NVIDIA AI Enterprise')?.slice(1, 2)).toEqual(['per-gpu']);
  });
});
