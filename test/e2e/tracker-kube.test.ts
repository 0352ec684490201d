import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from '../../src/fixtures/format.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { loadSignatureSet } from '../../src/signatures/load.js';
import { scanImageRef } from '../../src/scan/image.js';
import { kubeExecScanner, runScanNamespace, runScanPod } from '../../src/cli/scan-workloads.js';
import { runScanCluster } from '../../src/cli/scan-cluster.js';
import { loadKubeConfig } from '../../src/cluster/live.js';
import { openKubeExec } from '../../src/exec/kube.js';
import { runTracker } from '../../src/exec/run.js';
import { waitFor } from '../support/daemons.js';
import { validateReport } from '../support/validate-report.js';
import { readFileSync } from 'node:fs';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { buildFixtureImage, docker, footprint, plainFixture, processes, type BuiltImage } from '../support/fixture-images.js';

const ns = 'kensus-exec';
const sleep = ['/bin/busybox', 'sleep', '1000000'];
const mongoBinary = '\x7fELF stand-in\ndb version v7.0.14\nBuild Info: {\n    "version": "7.0.14",\n    "modules": [\n        "enterprise"\n    ]\n}\n';

let cluster: TestCluster;
let mongo: BuiltImage;
let installer: BuiltImage;
let big: BuiltImage;
let noShell: BuiltImage;
const images: BuiltImage[] = [];
const tag = (name: string) => `kensus-e2e-kube-${process.pid}-${name}:test`;

function pod(name: string, image: string, extra: { owner?: { kind: string; name: string }; volumes?: unknown[]; mounts?: unknown[]; command?: string[]; node?: string } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { app: name.replace(/-\w+$/, '') },
      ...(extra.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: extra.owner.kind, name: extra.owner.name, uid: `uid-${extra.owner.name}`, controller: true }] } : {}),
    },
    spec: {
      nodeName: extra.node ?? 'worker-1',
      containers: [{ name: 'main', image, command: extra.command ?? sleep, ...(extra.mounts ? { volumeMounts: extra.mounts } : {}) }],
      ...(extra.volumes ? { volumes: extra.volumes } : {}),
    },
  };
}

function opts(extra: Record<string, unknown> = {}) {
  return { kubeconfig: cluster.kubeconfigPath, namespace: ns, cache: false, ...extra };
}

beforeAll(async () => {
  const fixtures = await loadFixtures();
  const mongoFx: Fixture = fixtures.find((f) => f.signature === 'mongodb-enterprise' && f.name === 'enterprise-7.0')!;
  mongo = await buildFixtureImage(mongoFx, tag('mongo'));
  installer = await buildFixtureImage(plainFixture('installer', [{ files: [{ path: '/opt/install/server.payload', content: mongoBinary, mode: 0o755 }] }]), tag('installer'));
  const many = [];
  for (let i = 0; i < 30_000; i++) many.push({ path: `/data/d${Math.floor(i / 500)}/f${i}`, content: '' });
  big = await buildFixtureImage(plainFixture('big', [{ files: many }]), tag('big'));
  // No shell: the fixture without the busybox layer, plus a bare busybox binary to sleep with.
  noShell = await buildFixtureImage(mongoFx, tag('noshell'), {
    shell: false,
    extraLayers: [{ files: [{ path: '/bin/busybox', base64: readFileSync('/bin/busybox').toString('base64'), mode: 0o755 }] }],
  });
  images.push(mongo, installer, big, noShell);
  cluster = await startTestCluster({
    fixture: {
      nodes: [
        { name: 'worker-1', capacity: { cpu: '8', memory: '32Gi', pods: '110' } },
        { name: 'worker-2', capacity: { cpu: '8', memory: '32Gi', pods: '110' } },
      ],
      namespaces: [ns],
      objects: [],
    },
    users: [{ name: 'no-exec', rules: [{ verbs: ['get', 'list', 'watch'], resources: ['pods'], namespaces: [ns] }] }],
  });
  const pvc = (n: string) => [{ name: 'data', persistentVolumeClaim: { claimName: `data-${n}` } }];
  for (const p of [
    pod('db-0', mongo.tag),
    pod('big-0', big.tag),
    pod('noshell-0', noShell.tag),
    pod('web-a1', mongo.tag, { owner: { kind: 'ReplicaSet', name: 'web-7f9c' } }),
    pod('web-b2', mongo.tag, { owner: { kind: 'ReplicaSet', name: 'web-7f9c' }, node: 'worker-2' }),
    pod('web-c3', mongo.tag, { owner: { kind: 'ReplicaSet', name: 'web-7f9c' } }),
    pod('st-0', mongo.tag, { owner: { kind: 'StatefulSet', name: 'st' }, volumes: pvc('st-0'), mounts: [{ name: 'data', mountPath: '/data' }] }),
    pod('st-1', mongo.tag, { owner: { kind: 'StatefulSet', name: 'st' }, volumes: pvc('st-1'), mounts: [{ name: 'data', mountPath: '/data' }] }),
    // Installs the server into an emptyDir at start-up, as database images do on first start.
    pod('installer-0', installer.tag, {
      volumes: [{ name: 'bin', emptyDir: {} }],
      mounts: [{ name: 'bin', mountPath: '/usr/local/bin' }],
      command: ['/bin/sh', '-c', 'cp /opt/install/server.payload /usr/local/bin/mongod && chmod 755 /usr/local/bin/mongod && exec sleep 1000000'],
    }),
  ]) {
    await cluster.createPod(p);
  }
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  for (const i of images) {
    try {
      docker(['rmi', '-f', i.tag]);
    } catch {
      /* in use or gone */
    }
    i.cleanup();
  }
});

describe('exec scan through the Kubernetes API (pods/exec WebSocket)', () => {
  it('scans a pod: products, node and method, and no trace in the container', async () => {
    const id = cluster.containerId(ns, 'db-0');
    const before = footprint(id);
    const { report, exitCode } = await runScanPod('db-0', opts());
    expect(exitCode).toBe(0);
    expect(report!.errors).toEqual([]);
    expect(report!.containers).toEqual([
      expect.objectContaining({ pod: 'db-0', namespace: ns, name: 'main', node: 'worker-1', method: 'exec', image: mongo.tag }),
    ]);
    expect(report!.containers[0].imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(report!.containers[0].products.map((p) => [p.id, p.version])).toEqual([['mongodb-enterprise', '7.0.14']]);
    expect(footprint(id)).toEqual(before);
  });

  it('finds what a container installed into an emptyDir at start-up, which its image does not hold', async () => {
    const { report } = await runScanPod('installer-0', opts());
    const row = report!.containers[0];
    expect(row.method).toBe('exec');
    expect(row.products.map((p) => p.id)).toEqual(['mongodb-enterprise']);
    expect(row.products[0].evidence.map((e) => e.path)).toContain('/usr/local/bin/mongod');
    const set = await loadSignatureSet();
    const image = await scanImageRef(installer.archiveRef, { set, cacheDir: null });
    expect(image.products.map((p) => p.id)).not.toContain('mongodb-enterprise');
  });

  it('scans a namespace: replicas of one owner once, StatefulSet pods with their own claims each', async () => {
    const { report, exitCode } = await runScanNamespace(ns, opts());
    expect(exitCode).toBe(0);
    expect(report!.errors).toEqual([]);
    const rows = new Map(report!.containers.map((c) => [c.pod, c]));
    expect(validateReport(report)).toEqual([]);
    expect([...rows.keys()].sort()).toEqual(['big-0', 'db-0', 'installer-0', 'noshell-0', 'st-0', 'st-1', 'web-a1', 'web-b2', 'web-c3']);
    expect(rows.get('noshell-0')!.method).toBe('image');
    for (const c of report!.containers.filter((r) => r.pod !== 'big-0')) {
      expect(c.method, c.pod!).toBe(c.pod === 'noshell-0' ? 'image' : 'exec');
      expect(c.products.map((p) => p.id), c.pod!).toEqual(['mongodb-enterprise']);
    }
    expect(rows.get('web-b2')!.node).toBe('worker-2');
    // How many tracker sessions ran in which container: the engine's exec_start events.
    // docker events counts in whole seconds: let the first scan's second pass before counting.
    await new Promise((r) => setTimeout(r, 1100));
    const since = Math.floor(Date.now() / 1000);
    await runScanNamespace(ns, opts());
    await new Promise((r) => setTimeout(r, 1100));
    const events = docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000)), '--filter', 'type=container', '--filter', 'event=exec_start', '--format', '{{.Actor.ID}} {{.Action}}'])
      .split('\n')
      .filter((l) => l.includes('kensus-tracker'));
    const execs = (pod: string) => events.filter((l) => l.startsWith(cluster.containerId(ns, pod))).length;
    expect(['web-a1', 'web-b2', 'web-c3'].map(execs).reduce((a, b) => a + b, 0)).toBe(1);
    expect(['st-0', 'st-1', 'db-0', 'installer-0'].map(execs)).toEqual([1, 1, 1, 1]);
  });

  it('scan cluster --exec: the sweep sees what containers installed into volumes, images are still scanned once per digest', async () => {
    const o = { ...opts(), namespace: [ns] };
    const { report, exitCode } = await runScanCluster(o, { scanContainer: await kubeExecScanner(opts()) });
    expect(exitCode).toBe(0);
    expect(validateReport(report)).toEqual([]);
    const rows = new Map(report.containers.map((c) => [c.pod, c]));
    expect(rows.get('installer-0')).toMatchObject({ method: 'exec', node: 'worker-1' });
    expect(rows.get('installer-0')!.products.map((p) => p.id)).toEqual(['mongodb-enterprise']);
    expect(rows.get('noshell-0')!.method).toBe('image');
    expect(rows.get('noshell-0')!.products.map((p) => p.id)).toEqual(['mongodb-enterprise']);
    expect(rows.get('db-0')!.method).toBe('exec');
    // Without --exec the same sweep cannot see the emptyDir install.
    const imageOnly = await runScanCluster(o);
    expect(imageOnly.report.containers.find((c) => c.pod === 'installer-0')!.products).toEqual([]);
  });

  it('without create on pods/exec: says which permission is missing and scans the image instead', async () => {
    const { report, exitCode } = await runScanPod('db-0', opts({ context: 'no-exec' }));
    expect(exitCode).toBe(0);
    expect(report!.containers).toHaveLength(1);
    expect(report!.containers[0].method).toBe('image');
    expect(report!.containers[0].products.map((p) => p.id)).toEqual(['mongodb-enterprise']);
    expect(report!.errors).toHaveLength(1);
    expect(report!.errors[0].message).toMatch(new RegExp(`create pods/exec in namespace ${ns}`));
  });

  it('speaks v5.channel.k8s.io by default and still works when the server offers only v4', async () => {
    const kc = loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    const set = await loadSignatureSet();
    for (const protocols of [undefined, ['v4.channel.k8s.io']]) {
      const channel = await openKubeExec(kc, ns, 'db-0', 'main', { protocols });
      expect(channel.protocol).toBe(protocols ? 'v4.channel.k8s.io' : 'v5.channel.k8s.io');
      const result = await runTracker(channel, set.plan, { timeoutMs: 60_000, target: 'db-0' });
      expect(result.complete).toBe(true);
      expect(result.files.get('/usr/bin/mongod')?.content?.toString()).toContain('db version v7.0.14');
      expect(result.env.MONGO_VERSION).toBe('7.0.14');
    }
  });

  it('leaves no tracker process when the exec WebSocket drops mid-scan', async () => {
    const id = cluster.containerId(ns, 'big-0');
    const before = footprint(id);
    const kc = loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    const set = await loadSignatureSet();
    const channel = await openKubeExec(kc, ns, 'big-0', 'main');
    // Dropped on the first frame (the tracker's hello, written before it walks): a fixed delay
    // raced the walk, which on an idle machine finishes 30,000 files in under 300 ms.
    channel.stdout.once('data', () => channel.destroy());
    await expect(runTracker(channel, set.plan, { timeoutMs: 60_000, target: 'big-0' })).rejects.toThrow(/stopped before it finished/);
    // At nice 19 on a busy machine (other test files run beside this one) the tracker may wait
    // seconds for the CPU before its next write notices the closed stdout.
    await waitFor('the tracker to go', () => JSON.stringify(processes(id)) === JSON.stringify(before.processes), 30_000);
    expect(footprint(id)).toEqual(before);
  });

  it('names a missing pod (exit 3), a missing namespace (exit 2) and a namespace given twice differently (exit 2)', async () => {
    await expect(runScanPod('nope', opts())).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/no pod 'nope'/) });
    // Without an argument the namespace comes from -n (here opts().namespace), as kubectl's; issue 18.
    await expect(runScanNamespace('nosuchns', { ...opts(), namespace: undefined })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^namespace nosuchns not found/) });
    await expect(runScanNamespace('other', opts())).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/disagree/) });
  });
});
