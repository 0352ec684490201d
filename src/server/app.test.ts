import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadSignatureSet } from '../signatures/load.js';
import { runScanCluster } from '../cli/scan-cluster.js';
import { testClusterList } from '../../test/support/cluster-objects.js';
import { validateReport } from '../../test/support/validate-report.js';
import { startServer, type RunningServer } from './app.js';
import { parsePolicy } from './policy.js';
import { tokenFileAccess } from './auth.js';

let server: RunningServer;
const token = 'test-token-0123456789abcdef';
const auth = { headers: { authorization: `Bearer ${token}` } };

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-'));
  const snapshot = join(dir, 'snapshot.json');
  writeFileSync(snapshot, JSON.stringify(testClusterList()));
  const set = await loadSignatureSet();
  writeFileSync(join(dir, 'tokens'), `${token}\n`);
  server = await startServer({
    auth: tokenFileAccess(join(dir, 'tokens')),
    host: '127.0.0.1',
    port: 0,
    admission: { set, policy: parsePolicy('mode: deny'), entitled: () => false },
    sweep: async () => (await runScanCluster({ snapshot, metadataOnly: true, now: new Date('2026-11-23T02:00:00Z') })).report,
  });
  for (let i = 0; i < 100 && !server.current(); i++) await new Promise((r) => setTimeout(r, 50));
});

afterAll(async () => {
  await server?.close();
});

describe('kensus serve', () => {
  it('serves the latest sweep as a schema-valid report, a page and metrics promtool accepts', async () => {
    expect((await fetch(`${server.url}/api/v1/report`)).status).toBe(401);
    const report = (await (await fetch(`${server.url}/api/v1/report`, auth)).json()) as any;
    expect(validateReport(report)).toEqual([]);
    expect(report.gpuSkus.length).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const gpus = (await (await fetch(`${server.url}/api/v1/views/gpus`, auth)).json()) as any;
    expect(gpus.items.map((g: { sku: string | null }) => g.sku)).toEqual(report.gpuSkus.map((s: { sku: string | null }) => s.sku));

    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/kensus_gpu_sku_gpus\{sku="NVAIE-H100",cluster="[^"]*"\} \d+/);
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('answers AdmissionReviews over HTTP and counts them', async () => {
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'abc',
        operation: 'CREATE',
        namespace: 'mq',
        object: { kind: 'Pod', metadata: { name: 'qm' }, spec: { containers: [{ name: 'qm', image: 'cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0-r1' }] } },
      },
    };
    const res = await fetch(`${server.url}/validate`, { method: 'POST', body: JSON.stringify(review), headers: { 'content-type': 'application/json' } });
    const answer = (await res.json()) as any;
    expect(answer.kind).toBe('AdmissionReview');
    expect(answer.response).toMatchObject({ uid: 'abc', allowed: false, status: { code: 403 } });
    const bad = await fetch(`${server.url}/validate`, { method: 'POST', body: 'not json' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/expected an admission\.k8s\.io\/v1 AdmissionReview/);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/kensus_admission_reviews_total\{result="denied"\} 1/);
  });
});
