import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, startTestCluster, type TestCluster } from '../support/k8s.js';
import { waitFor } from '../support/daemons.js';
import { freshStore, IBM_MQ, storeKinds, type TestStore } from '../support/stores.js';

/**
 * `kensus serve --store` against the test API server: its sweep is recorded, pods started and
 * stopped between sweeps are recorded by the pod watch and count toward the day's peak, and a
 * restarted server answers its API from the store before (here: without) sweeping again.
 */
interface Serve {
  url: string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

function startServe(args: string[]): Promise<Serve> {
  const child = spawn(process.execPath, ['bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kensus serve did not start in 60 s; stderr: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /kensus: serving on (https?:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, stop: async () => (child.exitCode === null && child.kill('SIGTERM'), exited) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kensus serve exited with ${code} before serving; stderr: ${err}`));
    });
  });
}

function kensus(args: string[]) {
  const r = spawnSync(process.execPath, ['bin/kensus.js', ...args], { encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const pod = (name: string, cores: number, namespace = 'team-a') => ({
  metadata: { name, namespace, annotations: IBM_MQ },
  spec: { nodeName: 'worker-1', containers: [{ name: 'qmgr', image: BUSYBOX_IMAGE, command: ['sleep', '3600'], resources: { limits: { cpu: String(cores) } } }] },
});

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
  await cluster.createPod(pod('qm-a', 4));
}, 300_000);
afterAll(async () => {
  await cluster?.stop();
});

describe.each(storeKinds)('kensus serve --store on %s', (kind) => {
  let t: TestStore;
  afterAll(async () => t?.cleanup());

  it('records its sweep and the pods started and stopped between sweeps; a restart answers from the store', async () => {
    t = await freshStore(kind);
    const serve = await startServe(['--store', t.url, '--kubeconfig', cluster.kubeconfigPath, '--cluster-id', 'test-cluster', '--metadata-only', '--interval', '24h']);
    try {
      await waitFor('the first sweep', async () => (await fetch(`${serve.url}/readyz`)).status === 200, 60_000);
      const store = await t.open();
      const events = async () => store.db.selectFrom('pod_events').select(['kind', 'pod', 'applied']).orderBy('id').execute();
      // The watch starts after the first sweep: its initial list re-announces qm-a (already recorded).
      await waitFor('the pod watch', async () => (await events()).some((e) => e.pod === 'qm-a'), 30_000);
      // A batch job of 6 cores next to qm-a's 4, then gone: 10 cores for a while today.
      await cluster.createPod(pod('batch-job', 6, 'team-b'));
      await waitFor('the start of batch-job', async () => (await events()).some((e) => e.pod === 'batch-job' && e.kind === 'start'), 30_000);
      await cluster.deletePod('team-b', 'batch-job');
      await waitFor('the stop of batch-job', async () => (await events()).some((e) => e.pod === 'batch-job' && e.kind === 'stop'), 30_000);
      expect((await events()).filter((e) => e.pod === 'batch-job')).toEqual([
        { kind: 'start', pod: 'batch-job', applied: 1 },
        { kind: 'stop', pod: 'batch-job', applied: 1 },
      ]);
      await store.close();
    } finally {
      expect(await serve.stop()).toBe(0);
    }

    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const r = kensus(['report', 'usage', '--store', t.url, '--from', today, '--to', tomorrow, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const mq = JSON.parse(r.stdout).peaks.find((p: any) => p.productName === 'IBM MQ Advanced');
    // The sweep saw 4; the batch job made it 10 between sweeps: the day's peak.
    expect([mq.quantity, mq.day]).toEqual([10, today]);

    // Restarted without sweeping: the report API answers from the store (what the last sweep saw).
    const again = await startServe(['--store', t.url, '--cluster-id', 'test-cluster', '--no-sweep', '--no-api-auth']);
    try {
      const res = await fetch(`${again.url}/api/v1/report`);
      expect(res.status).toBe(200);
      const report = (await res.json()) as { usage: Array<{ productName: string; quantity: number }>; cluster: { id: string } };
      expect(report.cluster.id).toBe('test-cluster');
      expect(report.usage.find((u) => u.productName === 'IBM MQ Advanced')!.quantity).toBe(4);
      const metrics = await (await fetch(`${again.url}/metrics`)).text();
      expect(metrics).toMatch(/IBM MQ Advanced/);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});
