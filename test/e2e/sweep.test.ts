import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { BUSYBOX_IMAGE, kubectl, startTestCluster, type TestCluster } from '../support/k8s.js';
import { freshStore, IBM_MQ, storeKinds, type TestStore } from '../support/stores.js';
import { crashCluster } from '../support/store-crash-cluster.js';
import { rawNode, rawPod, testClusterList } from '../support/cluster-objects.js';
import { parseCsv } from '../../src/report/csv.js';

/**
 * `kensus sweep` and `kensus report usage` as users run them (the built bin/kensus.js), on both
 * stores: sweeps of snapshots of the test API server over simulated days, incremental image
 * reads, two clusters in one store, and a real sweep process killed with SIGKILL.
 */
function kensus(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/kensus.js', ...args], { encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T = any>(r: ReturnType<typeof kensus>): T {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const dir = mkdtempSync(join(tmpdir(), 'kensus-sweep-e2e-'));
let cluster: TestCluster;
const snapshots: string[] = [];

function mqPodObject(name: string, cores: number) {
  return {
    metadata: { name, namespace: 'team-a', annotations: IBM_MQ, labels: { app: name } },
    spec: { nodeName: 'worker-1', containers: [{ name: 'qmgr', image: BUSYBOX_IMAGE, command: ['sleep', '3600'], resources: { limits: { cpu: String(cores) } } }] },
  };
}

async function snapshot(name: string): Promise<string> {
  const r = await kubectl(cluster, ['get', 'nodes,pods', '-A', '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, r.stdout);
  return file;
}

beforeAll(async () => {
  cluster = await startTestCluster();
  // Day 1: one queue manager of 8 cores on worker-1 (16 vCPU). Day 2: a second one of 4: 12.
  // Day 3: the second is gone: 8. IBM's rule: capped per node, summed, rounded up.
  await cluster.createPod(mqPodObject('qm-a', 8));
  snapshots.push(await snapshot('day1'));
  await cluster.createPod(mqPodObject('qm-b', 4));
  snapshots.push(await snapshot('day2'));
  await cluster.deletePod('team-a', 'qm-b');
  snapshots.push(await snapshot('day3'));
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
});

const days = ['2026-11-01T02:00:00Z', '2026-11-02T02:00:00Z', '2026-11-03T02:00:00Z'];
const mqOf = (doc: any) => doc.peaks.find((p: any) => p.productName === 'IBM MQ Advanced' && p.scope === 'cluster');

describe.each(storeKinds)('kensus sweep and report usage on %s', (kind) => {
  let t: TestStore;
  afterEach(async () => t?.cleanup());

  it('records snapshots of the test API server over three days: daily peaks and the high-water mark, images read once', async () => {
    t = await freshStore(kind);
    const results = days.map((at, i) =>
      json(kensus(['sweep', '--store', t.url, '--snapshot', snapshots[i], '--observed-at', at, '--cluster-id', 'test-cluster', '--format', 'json', '--no-cache'])),
    );
    expect(results[0]).toMatchObject({ schemaVersion: '1', clusterId: 'test-cluster', observedAt: '2026-11-01T02:00:00.000Z', figured: true });
    // Every pod of the test cluster runs the busybox image: read on the first day, then reused.
    expect(results[0].imagesScanned).toBe(1);
    expect(results[1]).toMatchObject({ imagesScanned: 0, imagesReused: 1 });
    expect(results[2]).toMatchObject({ imagesScanned: 0, imagesReused: 1 });
    expect(results[1].usage.find((u: any) => u.productName === 'IBM MQ Advanced').quantity).toBe(12);

    const q = json(kensus(['report', 'usage', '--store', t.url, '--quarter', '2026Q4', '--format', 'json']));
    expect(q.schemaVersion).toBe('1');
    expect(q.period).toEqual({ from: '2026-10-01', to: '2027-01-01' });
    expect(q.errors).toEqual([]);
    const mq = mqOf(q);
    expect(mq).toMatchObject({ clusterId: 'test-cluster', metric: 'VIRTUAL_PROCESSOR_CORE', scope: 'cluster', sku: null, cloudpakId: null, quantity: 12, pvu: 840, day: '2026-11-02' });
    expect(mq.daily).toEqual([
      { day: '2026-11-01', quantity: 8 },
      { day: '2026-11-02', quantity: 12 },
      { day: '2026-11-03', quantity: 8 },
    ]);
    // --to is exclusive.
    expect(mqOf(json(kensus(['report', 'usage', '--store', t.url, '--from', '2026-11-01', '--to', '2026-11-02', '--format', 'json']))).quantity).toBe(8);

    const table = kensus(['report', 'usage', '--store', t.url, '--quarter', '2026Q4']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/IBM MQ Advanced\s+VIRTUAL_PROCESSOR_CORE\s+cluster\s+-\s+12\s+840\s+2026-11-02\s+2026-11-01\s+3/);

    const csvDir = join(dir, `csv-${kind}`);
    expect(kensus(['report', 'usage', '--store', t.url, '--quarter', '2026Q4', '--format', 'csv', '--output-file', csvDir]).code).toBe(0);
    expect(readdirSync(csvDir).sort()).toEqual(['ibm-use-report-2026Q4.csv', 'usage-daily.csv', 'usage-peaks.csv']);
    const ibm = parseCsv(readFileSync(join(csvDir, 'ibm-use-report-2026Q4.csv'), 'utf8'));
    expect(ibm[0]).toEqual(['quarter', 'cluster_id', 'kind', 'product_id', 'product_name', 'cloudpak_id', 'cloudpak_name', 'metric', 'peak_quantity', 'peak_pvu', 'peak_day', 'reporting_from', 'reporting_to']);
    // The deployment began on 1 November: reported from that day, not from the quarter's first.
    expect(ibm.slice(1)).toContainEqual(['2026Q4', 'test-cluster', 'program', IBM_MQ.productID, 'IBM MQ Advanced', '', '', 'VIRTUAL_PROCESSOR_CORE', '12', '840', '2026-11-02', '2026-11-01', '2026-12-31']);

    const ndiDir = join(dir, `ndi-${kind}`);
    expect(kensus(['report', 'usage', '--store', t.url, '--quarter', '2026Q4', '--format', 'ndi', '--output-file', ndiDir]).code).toBe(0);
    const [ndi] = readdirSync(ndiDir);
    expect(ndi).toMatch(/^k8s-ibm-licensing-testclus-2026Q4\.ndi$/);
    const xml = readFileSync(join(ndiDir, ndi), 'utf8');
    expect(xml).toContain('<ServiceProvider Type="IBM License Service"');
    expect(xml).toContain('<Property Name="StartDate" Value="2026-10-01"/>');
    expect(xml).toContain(`<Product date="2026-11-02T00:00:00Z" id="${IBM_MQ.productID}" name="IBM MQ Advanced" metricName="VIRTUAL_PROCESSOR_CORE" metricQuantity="12" clusterid="test-cluster"/>`);
    expect(xml.match(/<Product /g)).toHaveLength(3);

    const inst = json(kensus(['report', 'installations', '--store', t.url, '--format', 'json']));
    const qmb = inst.installations.find((i: any) => i.workload === 'Pod/qm-b');
    expect(qmb).toMatchObject({ clusterId: 'test-cluster', namespace: 'team-a', container: 'qmgr', firstSeen: '2026-11-02T02:00:00.000Z', lastSeen: '2026-11-02T02:00:00.000Z', current: false });
    expect(inst.ibmPrograms).toContainEqual(expect.objectContaining({ productName: 'IBM MQ Advanced', firstDay: '2026-11-01', lastDay: '2026-11-03' }));
    // IBM's 90-day rule: License Service is due 90 days after 1 November; no longer deployed, no warning.
    expect(inst.ibmPrograms).toContainEqual(expect.objectContaining({ productName: 'IBM MQ Advanced', dueDay: '2027-01-30', status: 'due', warning: null }));
  });

  it('keeps two clusters in one store apart, side by side and pooled', async () => {
    t = await freshStore(kind);
    json(kensus(['sweep', '--store', t.url, '--snapshot', snapshots[1], '--observed-at', days[0], '--cluster-id', 'prod-cluster-1', '--metadata-only', '--format', 'json']));
    json(kensus(['sweep', '--store', t.url, '--snapshot', snapshots[0], '--observed-at', days[0], '--cluster-id', 'prod-cluster-2', '--metadata-only', '--format', 'json']));
    const both = kensus(['report', 'usage', '--store', t.url, '--quarter', '2026Q4', '--format', 'json']);
    expect(both.code).toBe(2);
    expect(both.stderr.trim()).toMatch(/^kensus: the store .* holds 2 clusters \(prod-cluster-1, prod-cluster-2\) \(choose one with --cluster ID, or --all-clusters\)$/);
    expect(mqOf(json(kensus(['report', 'usage', '--store', t.url, '--quarter', '2026Q4', '--cluster', 'prod-cluster-2', '--format', 'json']))).quantity).toBe(8);
    const all = json(kensus(['report', 'usage', '--store', t.url, '--quarter', '2026Q4', '--all-clusters', '--format', 'json']));
    expect(all.peaks.filter((p: any) => p.productName === 'IBM MQ Advanced' && p.scope === 'cluster').map((p: any) => [p.clusterId, p.quantity])).toEqual([
      ['prod-cluster-1', 12],
      ['prod-cluster-2', 8],
    ]);
    expect(all.pooled.find((p: any) => p.productName === 'IBM MQ Advanced')).toMatchObject({ quantity: 20, pvu: 1400, clusters: ['prod-cluster-1', 'prod-cluster-2'] });
    const ents = join(dir, `ents-${kind}.yaml`);
    writeFileSync(ents, 'entitlements:\n  - product: IBM MQ Advanced\n    metric: VIRTUAL_PROCESSOR_CORE\n    quantity: 16\n    clusters: [prod-cluster-1, prod-cluster-2]\n');
    const withEnts = json(kensus(['report', 'usage', '--store', t.url, '--quarter', '2026Q4', '--all-clusters', '--entitlements', ents, '--format', 'json']));
    expect(withEnts.entitlements).toEqual([expect.objectContaining({ product: 'IBM MQ Advanced', used: 20, owned: 16, status: 'over', day: '2026-11-01' })]);
  });

  it('refuses bad usage with exit 2 and one line', () => {
    const bad = (args: string[], message: RegExp) => {
      const r = kensus(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    };
    bad(['sweep', '--store', 'mysql://u@h/db', '--snapshot', snapshots[0], '--observed-at', days[0]], /store URL scheme 'mysql:' is not supported \(use sqlite:PATH/);
    bad(['sweep', '--store', `sqlite:${join(dir, 'x.db')}`, '--snapshot', snapshots[0]], /--snapshot needs --observed-at TIME/);
    bad(['sweep', '--store', `sqlite:${join(dir, 'x.db')}`, '--snapshot', snapshots[0], '--observed-at', 'yesterday'], /'yesterday' is not a time/);
    bad(['sweep', '--store', `sqlite:${join(dir, 'x.db')}`, '--snapshot', snapshots[0], '--observed-at', days[0], '--shard', '3/3'], /--shard '3\/3' is not I\/N/);
    bad(['report', 'usage', '--store', `sqlite:${join(dir, 'x.db')}`, '--quarter', '2026Q5'], /--quarter '2026Q5' is not a quarter/);
    bad(['report', 'usage', '--store', `sqlite:${join(dir, 'x.db')}`, '--from', '2026-07-01'], /needs a period/);
    bad(['report', 'usage', '--store', `sqlite:${join(dir, 'x.db')}`, '--from', '2026-07-01', '--to', '2026-06-01'], /--to 2026-06-01 is not after --from 2026-07-01/);
  });
});

/** `kensus serve` in the background until its 'serving on' line. */
async function startServe(args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', ...args], { env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kensus serve did not start in 60 s; stderr: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /kensus: serving on (https?:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kensus serve exited with ${code}; stderr: ${err}`));
    });
  });
  return { url, stop: async () => void (child.kill('SIGTERM'), await exited) };
}

describe.each(storeKinds)("IBM's 90-day rule on %s: report installations, report usage and /metrics", (kind) => {
  let t: TestStore;
  afterEach(async () => t?.cleanup());

  it('warns of an IBM program that has run more than 90 days without IBM License Service', async () => {
    t = await freshStore(kind);
    // The rule runs on today's date: MQ first swept 120 days ago and again yesterday, no License Service.
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    for (const d of [day(-120), day(-1)]) json(kensus(['sweep', '--store', t.url, '--snapshot', snapshots[0], '--observed-at', `${d}T02:00:00Z`, '--cluster-id', 'test-cluster', '--metadata-only', '--format', 'json']));
    const expected = new RegExp(`^IBM MQ Advanced has run in cluster test-cluster for 120 days \\(since ${day(-120)}\\) without IBM License Service; IBM requires it within 90 days of the first deployment \\(due ${day(-30)}\\)`);

    const inst = json(kensus(['report', 'installations', '--store', t.url, '--format', 'json']));
    expect(inst.ibmPrograms.map((p: any) => [p.productName, p.status, p.daysSinceFirst, p.licenseServiceLastDay, p.licenseServiceRunning])).toEqual([['IBM MQ Advanced', 'overdue', 120, null, false]]);
    expect(inst.warnings).toHaveLength(1);
    expect(inst.warnings[0]).toMatch(expected);
    const table = kensus(['report', 'installations', '--store', t.url]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/\nWARNING: IBM MQ Advanced has run in cluster test-cluster for 120 days/);

    const usage = json(kensus(['report', 'usage', '--store', t.url, '--from', day(-130), '--to', day(1), '--format', 'json']));
    expect(usage.warnings).toHaveLength(1);
    expect(usage.warnings[0]).toMatch(expected);
    expect(usage.licenseService).toEqual({ clusters: [], peaks: [], comparison: [] });

    const serve = await startServe(['--store', t.url, '--snapshot', snapshots[0], '--no-sweep', '--no-api-auth', '--cluster-id', 'test-cluster']);
    try {
      const series = `{product_id="${IBM_MQ.productID}",product="IBM MQ Advanced",cluster="test-cluster"}`;
      let text = '';
      // The gauges are set from the store just after the server is up.
      for (let i = 0; i < 50 && !text.includes(`kensus_ibm_license_service_overdue${series} 1`); i++) {
        text = await (await fetch(`${serve.url}/metrics`)).text();
        if (!text.includes(`kensus_ibm_license_service_overdue${series} 1`)) await new Promise((r) => setTimeout(r, 100));
      }
      expect(text).toContain(`kensus_ibm_license_service_overdue${series} 1`);
      expect(text).toContain(`kensus_ibm_program_days_since_first_deployment${series} 120`);
      // The admission check warns of it for a new pod of that program (whatever the policy's mode).
      const body = {
        apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
        request: { uid: 'mq-new', operation: 'CREATE', namespace: 'mq', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'mq-new', namespace: 'mq', annotations: IBM_MQ }, spec: { containers: [{ name: 'qmgr', image: 'icr.io/ibm-messaging/mq:9.4.0.0-r1' }] } } },
      };
      const answer = (await (await fetch(`${serve.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { response: { allowed: boolean; warnings?: string[] } };
      expect(answer.response.allowed).toBe(true);
      expect((answer.response.warnings ?? []).map((w) => w.replace(/^kensus: /, ''))).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    } finally {
      await serve.stop();
    }
  }, 180_000);
});

describe('kensus report headroom: licence-aware admission from the store (built CLI)', () => {
  it('per entitlement the figure, the entitlement and the headroom; a pod that would go over is exit 1 with the figures', () => {
    const d = mkdtempSync(join(tmpdir(), 'kensus-headroom-'));
    const store = `sqlite:${join(d, 'k.db')}`;
    const snap = join(d, 'cluster.json');
    writeFileSync(snap, JSON.stringify(testClusterList()));
    json(kensus(['sweep', '--store', store, '--snapshot', snap, '--observed-at', '2026-11-01T02:00:00Z', '--cluster-id', 'prod', '--metadata-only', '--format', 'json']));
    const ents = join(d, 'ents.yaml');
    writeFileSync(ents, 'entitlements:\n  - product: NVIDIA AI Enterprise\n    metric: per-gpu\n    quantity: 12\n  - product: IBM MQ Advanced\n    metric: VIRTUAL_PROCESSOR_CORE\n    quantity: 10\n');

    const all = kensus(['report', 'headroom', '--store', store, '--entitlements', ents]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/NVIDIA AI Enterprise\s+per-gpu\s+10\s+2026-11-01\s+12\s+2\n/);
    expect(all.stdout).toMatch(/IBM MQ Advanced\s+VIRTUAL_PROCESSOR_CORE\s+9\s+2026-11-01\s+10\s+1\n/);

    const pod = join(d, 'nim.yaml');
    writeFileSync(pod, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: nim-new\n  namespace: ai-inference\nspec:\n  containers:\n    - name: nim\n      image: nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3\n      resources:\n        limits:\n          nvidia.com/gpu: "4"\n');
    const over = kensus(['report', 'headroom', '--store', store, '--entitlements', ents, '--pod', pod, '--format', 'json']);
    expect(over.code, over.stderr).toBe(1);
    const doc = JSON.parse(over.stdout);
    expect(doc.headroom.map((h: any) => [h.product, h.figure, h.pod, h.withPod, h.entitlement, h.headroom, h.headroomAfter, h.fits])).toEqual([['NVIDIA AI Enterprise', 10, 4, 14, 12, 2, -2, false]]);
    const table = kensus(['report', 'headroom', '--store', store, '--entitlements', ents, '--pod', pod]);
    expect(table.code).toBe(1);
    expect(table.stdout).toContain('kensus: NVIDIA AI Enterprise per-gpu: this pod adds 4 to 10 in use (peak of 2026-11-01) of 12 entitled, 2 left: 14 would exceed the entitlement by 2');

    const notPod = join(d, 'deploy.yaml');
    writeFileSync(notPod, 'kind: Deployment\nspec: {}\n');
    const bad = kensus(['report', 'headroom', '--store', store, '--entitlements', ents, '--pod', notPod]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^kensus: --pod .*deploy\.yaml is not a Pod manifest/);
  }, 120_000);
});

describe('kensus serve --store: admission answers from the store whether a pod fits its entitlements', () => {
  it('denies (policy deny) or warns (policy warn) a pod that would take NVIDIA AI Enterprise over, with the figures; a pod that fits passes', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kensus-licence-admission-'));
    const store = `sqlite:${join(d, 'k.db')}`;
    const snap = join(d, 'cluster.json');
    writeFileSync(snap, JSON.stringify(testClusterList()));
    // 10 NVAIE GPUs in use on 2026-11-01 (the fixture cluster's nodes rule: H100 8 + A100 2), 12 owned.
    json(kensus(['sweep', '--store', store, '--snapshot', snap, '--observed-at', '2026-11-01T02:00:00Z', '--cluster-id', 'prod', '--metadata-only', '--format', 'json']));
    const ents = join(d, 'ents.yaml');
    writeFileSync(ents, 'entitlements:\n  - product: NVIDIA AI Enterprise\n    metric: per-gpu\n    quantity: 12\n');
    const nimPod = (gpus: number) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `nim-${gpus}`, namespace: 'ai-inference' },
      spec: { containers: [{ name: 'nim', image: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] },
    });
    const review = async (url: string, gpus: number) => {
      const body = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `u-${gpus}`, operation: 'CREATE', namespace: 'ai-inference', object: nimPod(gpus) } };
      const res = await fetch(`${url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { response: { allowed: boolean; warnings?: string[]; status?: { message: string } } }).response;
    };
    const OVER = 'kensus: NVIDIA AI Enterprise per-gpu: this pod adds 4 to 10 in use (peak of 2026-11-01) of 12 entitled, 2 left: 14 would exceed the entitlement by 2';
    for (const mode of ['deny', 'warn'] as const) {
      const policy = join(d, `policy-${mode}.yaml`);
      writeFileSync(policy, `mode: ${mode}\nrequireIbmAnnotations: false\n`);
      const child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--store', store, '--cluster-id', 'prod', '--no-sweep', '--no-api-auth', '--entitlements', ents, '--policy', policy], { env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let err = '';
          const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30_000);
          child.stderr!.on('data', (b: Buffer) => {
            err += b.toString();
            const m = /serving on (http\S+)/.exec(err);
            if (m) {
              clearTimeout(timer);
              resolve(m[1]);
            }
          });
        });
        const over = await review(url, 4);
        if (mode === 'deny') {
          expect(over.allowed).toBe(false);
          expect(over.status?.message).toBe(OVER);
        } else {
          expect(over.allowed).toBe(true);
          expect(over.warnings).toContain(OVER);
        }
        // Two more GPUs still fit: 12 of 12.
        const fits = await review(url, 2);
        expect(fits.allowed).toBe(true);
        expect((fits.warnings ?? []).filter((w) => /entitle|headroom/.test(w))).toEqual([]);
      } finally {
        child.kill('SIGTERM');
      }
    }
  }, 120_000);
});

describe.each(storeKinds)('a real kensus sweep killed with SIGKILL on %s', (kind) => {
  let t: TestStore | undefined;
  const reached: string[] = [];
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  // 3,000 pods on 20 nodes (test/support/store-crash-cluster.ts), recorded from a snapshot.
  const PODS = 3000;
  const big = join(dir, 'big.json');
  beforeAll(() => {
    const { nodes, pods } = crashCluster(300, PODS);
    writeFileSync(big, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...nodes.map(rawNode), ...pods.map(rawPod)] }));
  });

  function sweepKilledAfter(url: string, delayMs: number): Promise<{ signal: NodeJS.Signals | null; code: number | null }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['bin/kensus.js', 'sweep', '--store', url, '--snapshot', big, '--observed-at', '2026-06-01T02:00:00Z', '--cluster-id', 'crash', '--metadata-only', '--format', 'json', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let armed = false;
      createInterface({ input: child.stderr }).on('line', (line) => {
        // The model is loaded: the run row is next, then the observations, then the figures.
        if (!armed && line.includes('cluster model loaded')) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      });
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  it.each([0, 400, 900, 1600])('killed %i ms after the cluster is loaded: a sound store, all or nothing per step, and the next sweep completes it', async (delayMs) => {
    const ts = (t = await freshStore(kind));
    const killed = await sweepKilledAfter(ts.url, delayMs);
    expect(killed.signal === 'SIGKILL' || killed.code === 0).toBe(true);
    const store = await ts.open();
    if (kind === 'sqlite') expect((await sql<{ integrity_check: string }>`pragma integrity_check`.execute(store.db)).rows).toEqual([{ integrity_check: 'ok' }]);
    const runs = await store.db.selectFrom('sweep_runs').select('status').execute();
    const observations = Number((await sql<{ n: string }>`select count(*) as n from observations`.execute(store.db)).rows[0].n);
    const days = await store.db.selectFrom('usage_days').selectAll().execute();
    if (!runs.length || runs[0].status === 'running') expect([observations, days.length]).toEqual([0, 0]);
    else expect(observations).toBe(PODS);
    if (runs[0]?.status === 'complete') expect(days).toHaveLength(1);
    reached.push(killed.signal ? (runs[0]?.status ?? 'no run') : 'finished');
    await store.close();

    const next = json(kensus(['sweep', '--store', ts.url, '--snapshot', big, '--observed-at', '2026-06-02T02:00:00Z', '--cluster-id', 'crash', '--metadata-only', '--format', 'json']));
    expect(next.figured).toBe(true);
    const q = json(kensus(['report', 'usage', '--store', ts.url, '--from', '2026-06-01', '--to', '2026-06-03', '--format', 'json']));
    const mq = mqOf(q);
    const recorded = runs.length && runs[0].status !== 'running' ? ['2026-06-01', '2026-06-02'] : ['2026-06-02'];
    // node-0 and node-10 each run 150 one-core queue managers, capped at their 16 vCPU: 32.
    expect(mq.daily).toEqual(recorded.map((day) => ({ day, quantity: 32 })));
  });

  it('was killed at more than one step', () => {
    // Which step a delay lands in depends on the machine; the kills are only worth something if
    // they did not all land in the same one.
    expect(new Set(reached).size, reached.join(', ')).toBeGreaterThan(1);
  });
});
