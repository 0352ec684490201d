import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBeacon, type TestBeacon } from '../beacon/server.js';
import { startTestCluster, type TestCluster } from '../support/k8s.js';
import { rawNode, rawPod } from '../support/cluster-objects.js';
import { freshStore, storeKinds, type TestStore } from '../support/stores.js';
import { registerLicenseService } from './register.js';
import { startTestLicenseService, type TestLicenseService } from './server.js';

/** The built CLI as users run it (`node bin/kensus.js`), asynchronously: the test servers live in this process. */
function kensus(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/kensus.js', ...args], { env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectCleanFailure(r: Awaited<ReturnType<typeof kensus>>, code: number, message: RegExp) {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kensus: /);
  expect(lines[0]).toMatch(message);
}

let ls: TestLicenseService;
let beacon: TestBeacon;
let tokenFile: string;
let beaconTokenFile: string;
const clusterId = 'd8259158-fdfe-4ba3-ae28-be62a51df7f9';

beforeAll(async () => {
  [ls, beacon] = await Promise.all([startTestLicenseService(), startTestBeacon()]);
  const dir = mkdtempSync(join(tmpdir(), 'kensus-ils-cli-'));
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${ls.token}\n`);
  beaconTokenFile = join(dir, 'beacon-token');
  writeFileSync(beaconTokenFile, beacon.token);
});
afterAll(async () => {
  await Promise.all([ls?.stop(), beacon?.stop()]);
});

describe('kensus ibm-license-service collect (built CLI)', () => {
  it('first run writes the 180-day file and the cache; the next day adds one day', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kensus-ils-out-'));
    ls.requests.length = 0;
    const r = await kensus(['ibm-license-service', 'collect', '--url', ls.url, '--token-file', tokenFile, '--output-dir', out, '--now', '2022-06-30T10:00:00Z', '--cluster-id', clusterId]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `${join(out, 'k8s-ibm-licensing-d8259158-20220630T100000.ndi')}\n` +
        `  License Service 4.2.14 at ${ls.url}; days 2021-12-31 … 2022-06-29: 181 fetched, 7 cached; 362 product rows, 181 bundled product rows\n`,
    );
    expect(readdirSync(out).sort()).toEqual(['k8s-ibm-licensing-d8259158-20220630T100000.ndi', 'kensus-ibm-license-service-cache.json']);
    expect(ls.productDays()).toHaveLength(181);
    const ndi = readFileSync(join(out, 'k8s-ibm-licensing-d8259158-20220630T100000.ndi'), 'utf8');
    expect(ndi).toContain('<ServiceProvider Type="IBM License Service" LastInventoryResult="0" LastInventoryError="" Name="d8259158-fdfe-4ba3-ae28-be62a51df7f9">');
    expect(ndi).toContain('<Property Name="StartDate" Value="2021-12-31"/>');
    expect(ndi).toContain('<Property Name="EndDate" Value="2022-06-30"/>');

    ls.requests.length = 0;
    const next = await kensus(['ibm-license-service', 'collect', '--url', ls.url, '--token-file', tokenFile, '--output-dir', out, '--now', '2022-07-01T01:00:00Z', '--cluster-id', clusterId, '--format', 'json']);
    expect(next.code, next.stderr).toBe(0);
    const doc = JSON.parse(next.stdout);
    expect(doc.fileName).toBe('k8s-ibm-licensing-d8259158-20220701T010000.ndi');
    expect(doc.period).toEqual({ start: '2022-06-24', end: '2022-06-30' });
    expect(doc.fetchedDays).toEqual(['2022-06-30']);
    expect(doc.products).toHaveLength(14);
    expect(doc.products[0]).toEqual({ day: '2022-06-24', clusterId, productId: 'eb9998dcc5d24e3eb5b6fb488f750fe2', productName: 'IBM Cloud Pak for Data', metricName: 'VIRTUAL_PROCESSOR_CORE', metricQuantity: ls.dataFor('2022-06-24').products[0].metricQuantity, metricPeakDate: '2022-06-24' });
    expect(doc.bundledProducts[0].cloudpakName).toBe('IBM Cloud Pak for Data');
    expect(doc.service).toEqual({ version: '4.2.14', buildDate: 'Mon Jul 12 16:45:52 UTC 2021' });
    expect(doc).not.toHaveProperty('content');
    expect(ls.productDays()).toEqual(['2022-06-30']);
  });

  it('bad input and an unreachable service: one line, the right exit code, no stack', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kensus-ils-bad-'));
    const base = ['ibm-license-service', 'collect', '--output-dir', out, '--cluster-id', clusterId];
    expectCleanFailure(await kensus([...base, '--url', ls.url, '--token-file', tokenFile, '--now', 'yesterday']), 2, /--now yesterday is not a time/);
    expectCleanFailure(await kensus([...base, '--url', 'https://u:p@host:8080', '--token-file', tokenFile]), 2, /--url must not carry credentials/);
    expectCleanFailure(await kensus([...base, '--url', ls.url]), 2, /cannot load the kubeconfig to discover token|lack token/);
    const wrong = join(out, 'wrong');
    writeFileSync(wrong, 'not-the-token');
    expectCleanFailure(await kensus([...base, '--url', ls.url, '--token-file', wrong]), 3, /refused the token for \/health \(HTTP 401\) \(check the token/);
    expectCleanFailure(await kensus([...base, '--url', 'http://127.0.0.1:1', '--token-file', tokenFile]), 3, /cannot reach the License Service at http:\/\/127\.0\.0\.1:1 for \/version: ECONNREFUSED/);
    ls.requests.length = 0;
    expectCleanFailure(await kensus([...base, '--url', ls.url, '--token-file', tokenFile, '--store', 'mysql://u@h/db']), 2, /store URL scheme 'mysql:' is not supported/);
    expectCleanFailure(await kensus([...base, '--url', ls.url, '--token-file', tokenFile, '--store-cluster', 'prod']), 2, /--store-cluster without --store/);
    // Refused before any request went out.
    expect(ls.requests).toEqual([]);
    const missing = await kensus(['ibm-license-service', 'collect', '--url', ls.url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--output-dir <dir>' not specified/);
  }, 120_000);

  it('the beacon down for several runs: every file waits in the spool and arrives exactly once afterwards', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kensus-ils-beacon-'));
    beacon.received.clear();
    await beacon.down();
    const args = (now: string) => ['ibm-license-service', 'collect', '--url', ls.url, '--token-file', tokenFile, '--output-dir', out, '--now', now, '--cluster-id', clusterId, '--beacon-url', beacon.url, '--beacon-token-file', beaconTokenFile];
    const runs = ['2022-06-30T10:00:00Z', '2022-07-01T01:00:00Z', '2022-07-02T01:00:00Z'];
    for (const now of runs) {
      const r = await kensus(args(now));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^kensus: warning: beacon upload failed: cannot reach the beacon at http:\/\/127\.0\.0\.1:\d+\/ManageSoftRL\/Inventories\/k8s-ibm-licensing-d8259158-\d{8}T\d{6}\.ndi: ECONNREFUSED \(\d file\(s\) stay in .*beacon-spool and go with the next run\)\n$/);
    }
    expect(readdirSync(join(out, 'beacon-spool')).sort()).toEqual([
      'k8s-ibm-licensing-d8259158-20220630T100000.ndi',
      'k8s-ibm-licensing-d8259158-20220701T010000.ndi',
      'k8s-ibm-licensing-d8259158-20220702T010000.ndi',
    ]);
    await beacon.up();
    const r = await kensus(args('2022-07-03T01:00:00Z'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/; beacon: 4 uploaded, 0 waiting\n$/);
    expect([...beacon.received.keys()].sort()).toEqual([
      'k8s-ibm-licensing-d8259158-20220630T100000.ndi',
      'k8s-ibm-licensing-d8259158-20220701T010000.ndi',
      'k8s-ibm-licensing-d8259158-20220702T010000.ndi',
      'k8s-ibm-licensing-d8259158-20220703T010000.ndi',
    ]);
    expect([...beacon.received.values()].map((v) => v.count)).toEqual([1, 1, 1, 1]);
    // What arrived is what was written.
    expect(beacon.received.get('k8s-ibm-licensing-d8259158-20220630T100000.ndi')!.body).toBe(readFileSync(join(out, 'k8s-ibm-licensing-d8259158-20220630T100000.ndi'), 'utf8'));
    expect(readdirSync(join(out, 'beacon-spool'))).toEqual([]);
  }, 180_000);

  it('--must-upload: a failed upload fails the run (exit 3); the file is written and stays spooled', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kensus-ils-must-'));
    await beacon.down();
    try {
      const r = await kensus(['ibm-license-service', 'collect', '--url', ls.url, '--token-file', tokenFile, '--output-dir', out, '--now', '2022-06-30T10:00:00Z', '--cluster-id', clusterId, '--beacon-url', beacon.url, '--beacon-token-file', beaconTokenFile, '--must-upload']);
      expectCleanFailure(r, 3, /beacon upload failed: cannot reach the beacon .*ECONNREFUSED \(mustUpload is set; 1 file\(s\) stay in .*beacon-spool for the next run\)/);
      expect(readdirSync(out)).toContain('k8s-ibm-licensing-d8259158-20220630T100000.ndi');
      expect(readdirSync(join(out, 'beacon-spool'))).toEqual(['k8s-ibm-licensing-d8259158-20220630T100000.ndi']);
    } finally {
      await beacon.up();
    }
  }, 120_000);

  it('settings from a config file (the KRM resource shape) and a wrong beacon token', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kensus-ils-config-'));
    const config = join(out, 'krm.yaml');
    const u = new URL(ls.url);
    writeFileSync(config, [
      'apiVersion: agents.flexera.com/v1', 'kind: KRM', 'metadata: { name: instance }', 'spec:', '  ibmLicensing:', '    enable: true',
      `    url: ${u.origin}`, `    tokenFile: ${tokenFile}`, '    tlsVerify: false', '  beacon:', `    url: ${beacon.url}`, '    method: POST', `    tokenFile: ${tokenFile}`, '  node:', '    mustUpload: true', '',
    ].join('\n'));
    const r = await kensus(['ibm-license-service', 'collect', '--config', config, '--output-dir', out, '--now', '2022-06-30T10:00:00Z', '--cluster-id', clusterId]);
    expectCleanFailure(r, 3, /beacon upload failed: the beacon at http:\/\/127\.0\.0\.1:\d+\/ManageSoftRL\/Inventories refused the token \(HTTP 401\)/);
    writeFileSync(config, 'spec:\n  ibmLicensing:\n    enabel: true\n');
    expectCleanFailure(await kensus(['ibm-license-service', 'collect', '--config', config, '--output-dir', out]), 2, /unknown setting ibmLicensing\.enabel \(known settings: enable, namespace/);
  }, 120_000);
});

describe.each(storeKinds)('kensus ibm-license-service collect --store on %s (built CLI)', (kind) => {
  let t: TestStore;
  afterEach(async () => t?.cleanup());

  it("records License Service's rows beside Kensus's IBM figures; report usage shows both and their difference per product and day", async () => {
    t = await freshStore(kind);
    const dir = mkdtempSync(join(tmpdir(), 'kensus-ils-store-'));
    // Kensus's side: IBM MQ annotated in PVU, 2 cores on a 16-core node: 140 PVU on each of three days.
    const snapshot = join(dir, 'cluster.json');
    const mq = { productID: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', productMetric: 'PROCESSOR_VALUE_UNIT', productChargedContainers: 'All' };
    const items = [rawNode({ name: 'worker-1', cpu: '16' }), rawPod({ namespace: 'mq', name: 'qm-a', node: 'worker-1', annotations: mq, containers: [{ name: 'qmgr', image: 'icr.io/ibm-messaging/mq:9.4.0.0-r1', limits: { cpu: '2' } }] })];
    writeFileSync(snapshot, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    // License Service's generated MQ figure moves with the day: 140 PVU on 26 June only.
    const days = ['2022-06-26', '2022-06-27', '2022-06-28'];
    for (const day of days) {
      const r = await kensus(['sweep', '--store', t.url, '--snapshot', snapshot, '--observed-at', `${day}T02:00:00Z`, '--metadata-only', '--cluster-id', 'prod', '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
    }

    const out = join(dir, 'out');
    const c = await kensus(['ibm-license-service', 'collect', '--url', ls.url, '--token-file', tokenFile, '--output-dir', out, '--now', '2022-06-30T10:00:00Z', '--cluster-id', clusterId, '--store', t.url, '--format', 'json']);
    expect(c.code, c.stderr).toBe(0);
    // The first run's 181 days go into the store's only cluster (License Service names the kube-system uid).
    expect(JSON.parse(c.stdout).stored).toEqual({ clusterId: 'prod', days: 181, rows: 181 * 3 });

    const r = await kensus(['report', 'usage', '--store', t.url, '--from', '2022-06-26', '--to', '2022-06-29', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.peaks.find((p: any) => p.productName === 'IBM MQ Advanced').quantity).toBe(140);
    expect(doc.licenseService.clusters).toEqual([{ clusterId: 'prod', licenseServiceDays: 3, kensusDays: 3, comparedDays: 3, lastCollectedAt: '2022-06-30T10:00:00.000Z', serviceVersion: '4.2.14' }]);
    const mqRows = doc.licenseService.comparison.filter((x: any) => x.productName === 'IBM MQ Advanced');
    expect(mqRows).toEqual(
      days.map((day) => {
        const theirs = ls.dataFor(day).products.find((p: any) => p.name === 'IBM MQ Advanced').metricQuantity as number;
        return { clusterId: 'prod', day, kind: 'product', productId: mq.productID, productName: 'IBM MQ Advanced', cloudpakId: null, metric: 'PROCESSOR_VALUE_UNIT', kensus: 140, licenseService: theirs, difference: 140 - theirs, status: theirs === 140 ? 'agree' : 'differ' };
      }),
    );
        expect(new Set(mqRows.map((x: any) => x.status))).toEqual(new Set(['agree', 'differ']));
    // Cloud Pak for Data runs in License Service's cluster only: counted there, not seen by Kensus.
    const cp4d = doc.licenseService.comparison.filter((x: any) => x.productName.startsWith('IBM Cloud Pak for Data'));
    expect(cp4d.map((x: any) => [x.day, x.kind, x.kensus, x.status])).toEqual(days.flatMap((d) => [[d, 'bundled', null, 'license-service-only'], [d, 'product', null, 'license-service-only']]));
    // License Service is there (data for yesterday): the 90-day rule is satisfied.
    expect(doc.ibmNinetyDay.map((p: any) => [p.productName, p.status])).toEqual([['IBM MQ Advanced', 'ok']]);
    expect(doc.warnings).toEqual([]);

    const table = await kensus(['report', 'usage', '--store', t.url, '--from', '2022-06-26', '--to', '2022-06-29']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/IBM LICENSE SERVICE vs KENSUS \(prod: License Service 4\.2\.14 data for 3 day\(s\), Kensus 3, compared 3\)/);
    expect(table.stdout).toMatch(/2022-06-2\d +IBM Cloud Pak for Data +VIRTUAL_PROCESSOR_CORE +- +\d+ +-\d+ +License Service counts it, Kensus does not see it/);
  }, 180_000);
});

describe('kensus ibm-license-service collect with discovery (built CLI, test API server)', () => {
  let cluster: TestCluster;
  let tls: TestLicenseService;
  beforeAll(async () => {
    [cluster, tls] = await Promise.all([
      startTestCluster({ fixture: { nodes: [{ name: 'worker-1', capacity: { cpu: '4', memory: '8Gi', pods: '110' } }] } }),
      startTestLicenseService({ https: true }),
    ]);
    await registerLicenseService(cluster, tls);
  });
  afterAll(async () => {
    await Promise.all([cluster?.stop(), tls?.stop()]);
  });

  it('no URL and no token: both come from the cluster; the cluster id is the kube-system uid', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kensus-ils-disc-'));
    const r = await kensus(['ibm-license-service', 'collect', '--output-dir', out, '--kubeconfig', cluster.kubeconfigPath, '--now', '2022-06-30T10:00:00Z', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    const uid = cluster.get('v1', 'Namespace', undefined, 'kube-system')!.metadata.uid;
    expect(doc.clusterId).toBe(uid);
    expect(doc.endpoint).toBe(`https://ibm-licensing-service-instance.ibm-licensing.svc:${tls.port}`);
    expect([...doc.discovered].sort()).toEqual(['https', 'namespace', 'serviceName', 'servicePort', 'token']);
    expect(doc.period).toEqual({ start: '2021-12-31', end: '2022-06-29' });
    expect(readdirSync(out)).toContain(`k8s-ibm-licensing-${uid.replace(/-/g, '').slice(0, 8)}-20220630T100000.ndi`);
  }, 120_000);
});
