import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBeacon, type TestBeacon } from '../beacon/server.js';
import { testClusterList } from '../support/cluster-objects.js';
import { startTestCluster, type TestCluster } from '../support/k8s.js';
import { openStore } from '../../src/store/open.js';
import { registerLicenseService } from './register.js';
import { startTestLicenseService, type TestLicenseService } from './server.js';

/** `kensus serve` from the built CLI, run until the test stops it (or it stops itself). */
function serve(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, ['bin/kensus.js', 'serve', '--port', '0', ...args], {
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn', XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'kensus-state-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    child,
    exited,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let cluster: TestCluster;
let ls: TestLicenseService;
let beacon: TestBeacon;
let beaconToken: string;

beforeAll(async () => {
  [cluster, ls, beacon] = await Promise.all([
    startTestCluster({ fixture: { nodes: [{ name: 'worker-1', capacity: { cpu: '4', memory: '8Gi', pods: '110' } }] } }),
    startTestLicenseService({ https: true }),
    startTestBeacon(),
  ]);
  await registerLicenseService(cluster, ls);
  beaconToken = join(mkdtempSync(join(tmpdir(), 'kensus-serve-tok-')), 'token');
  writeFileSync(beaconToken, beacon.token);
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), ls?.stop(), beacon?.stop()]);
});

describe('kensus serve with the integrations (built CLI)', () => {
  it('--ibm-license-service: discovers the service, collects at once and uploads the file; SIGTERM ends it cleanly', async () => {
    beacon.received.clear();
    const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-ils-'));
    const s = serve(['--no-sweep', '--kubeconfig', cluster.kubeconfigPath, '--ibm-license-service', '--ibm-license-service-dir', dir, '--beacon-url', beacon.url, '--beacon-token-file', beaconToken]);
    try {
      await until('the License Service file at the beacon', () => [...beacon.received.keys()].some((n) => n.startsWith('k8s-ibm-licensing-')));
      const uid = cluster.get('v1', 'Namespace', undefined, 'kube-system')!.metadata.uid as string;
      const [name] = [...beacon.received.keys()];
      expect(name).toMatch(new RegExp(`^k8s-ibm-licensing-${uid.replace(/-/g, '').slice(0, 8)}-\\d{8}T\\d{6}\\.ndi$`));
      expect(beacon.received.get(name)!.body).toContain(`<ServiceProvider Type="IBM License Service" LastInventoryResult="0" LastInventoryError="" Name="${uid}">`);
      expect(readdirSync(dir)).toContain(name);
      expect(existsSync(join(dir, 'kensus-ibm-license-service-cache.json'))).toBe(true);
    } finally {
      expect(await s.stop()).toBe(0);
    }
    expect(s.stderr()).toMatch(/^kensus: serving on http:\/\/127\.0\.0\.1:\d+ /);
  }, 120_000);

  it('--store: each collection run is recorded in the history store beside the sweeps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-ils-store-'));
    const url = `sqlite:${join(dir, 'kensus.db')}`;
    const s = serve(['--no-sweep', '--store', url, '--kubeconfig', cluster.kubeconfigPath, '--ibm-license-service', '--ibm-license-service-dir', join(dir, 'ils')]);
    const uid = cluster.get('v1', 'Namespace', undefined, 'kube-system')!.metadata.uid as string;
    const store = await openStore(url);
    try {
      let days = 0;
      const end = Date.now() + 90_000;
      while (days < 181 && Date.now() < end) {
        days = Number((await store.db.selectFrom('license_service_days').select(({ fn }) => fn.countAll().as('n')).where('cluster_id', '=', uid).executeTakeFirst())?.n ?? 0);
        if (days < 181) await new Promise((r) => setTimeout(r, 250));
      }
      // The first run: 180 days before yesterday and yesterday, in the cluster License Service names (an empty store has no other).
      expect(days, s.stderr()).toBe(181);
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const rows = await store.db.selectFrom('license_service_usage').selectAll().where('cluster_id', '=', uid).where('day', '=', yesterday).execute();
      expect(rows.map((r) => [r.kind, r.product_name, r.quantity]).sort()).toEqual(
        [
          ...ls.dataFor(yesterday).products.map((p: any) => ['product', p.name, p.metricQuantity]),
          ...ls.dataFor(yesterday).bundledProducts.map((b: any) => ['bundled', b.productName, b.metricMeasuredQuantity]),
        ].sort(),
      );
    } finally {
      await store.close();
      expect(await s.stop()).toBe(0);
    }
  }, 150_000);

  it('sweeps upload their node .ndi files to the beacon too', async () => {
    beacon.received.clear();
    const snapshot = join(mkdtempSync(join(tmpdir(), 'kensus-serve-snap-')), 'snapshot.json');
    writeFileSync(snapshot, JSON.stringify(testClusterList()));
    const s = serve(['--snapshot', snapshot, '--metadata-only', '--beacon-url', beacon.url, '--beacon-token-file', beaconToken, '--beacon-method', 'POST']);
    try {
      await until('node files at the beacon', () => [...beacon.received.keys()].some((n) => n.startsWith('k8s-node-')));
      expect([...beacon.received.values()].every((v) => v.method === 'POST' && v.count === 1)).toBe(true);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  }, 120_000);

  it('--must-upload with the beacon down: serve fails (exit 3) with the reason, the file stays spooled', async () => {
    await beacon.down();
    const state = mkdtempSync(join(tmpdir(), 'kensus-serve-must-'));
    const s = serve(['--no-sweep', '--kubeconfig', cluster.kubeconfigPath, '--ibm-license-service', '--beacon-url', beacon.url, '--beacon-token-file', beaconToken, '--must-upload'], { XDG_STATE_HOME: state });
    try {
      const code = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('still running'), 90_000))]);
      expect(code, s.stderr()).toBe(3);
      expect(s.stderr().trim().split('\n').at(-1)).toMatch(/^kensus: beacon upload failed: cannot reach the beacon at .*ECONNREFUSED \(mustUpload is set; the files stay in .*beacon-spool\)$/);
      expect(readdirSync(join(state, 'kensus', 'beacon-spool'))).toHaveLength(1);
    } finally {
      s.child.kill('SIGKILL');
      await beacon.up();
    }
  }, 120_000);

  it('--ibm-license-service with values missing and no cluster to discover them from is bad usage, not an endless retry', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kensus-home-'));
    const s = serve(['--no-sweep', '--ibm-license-service'], { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' });
    expect(await s.exited).toBe(2);
    expect(s.stderr().trim()).toBe('kensus: the License Service settings lack namespace, serviceName, servicePort, https, token and there is no cluster to discover them from (give --ibm-license-service-url and --ibm-license-service-token-file, or --kubeconfig)');
  });

  it('License Service settings without --ibm-license-service are bad usage', async () => {
    const s = serve(['--no-sweep', '--ibm-license-service-url', 'https://x.svc:8080']);
    expect(await s.exited).toBe(2);
    expect(s.stderr().trim()).toBe('kensus: IBM License Service settings given, but the integration is off (add --ibm-license-service (or ibmLicensing.enable: true))');
  });
});
