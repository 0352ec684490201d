import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from '../../src/fixtures/format.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { kubeExecScanner } from '../../src/cli/scan-workloads.js';
import { parseCpuinfo } from '../../src/cluster/hardware.js';
import { agentRound } from '../../src/scan/agent.js';
import { sweep } from '../../src/scan/sweep.js';
import { agentCoverage, latestNodeHardware } from '../../src/store/agents.js';
import type { Store } from '../../src/store/open.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { buildFixtureImage, docker, plainFixture, type BuiltImage } from '../support/fixture-images.js';
import { freshStore, storeKinds, type TestStore } from '../support/stores.js';

/**
 * The node agent on the test API server, whose pods are real Docker containers on this machine:
 * an agent given a test node finds its containers' processes here and reads their roots through
 * /proc/PID/root (the tests run as root), with no exec and nothing written into them.
 */
const ns = 'kensus-agent';
const sleep = ['/bin/busybox', 'sleep', '1000000'];
const mongoBinary = '\x7fELF stand-in\ndb version v7.0.14\nBuild Info: {\n    "version": "7.0.14",\n    "modules": [\n        "enterprise"\n    ]\n}\n';
/**
 * The built CLI, asynchronously: the test API server runs in this process, so a synchronous
 * spawn would stop it from answering the CLI it waits for.
 */
function kensus(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/kensus.js', ...args], { encoding: 'utf8', env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const tag = (name: string) => `kensus-e2e-agent-${process.pid}-${name}:test`;

let cluster: TestCluster;
let mongo: BuiltImage;
let installer: BuiltImage;
let plain: BuiltImage;
const images: BuiltImage[] = [];

function pod(name: string, image: string, node: string, extra: { volumes?: unknown[]; mounts?: unknown[]; command?: string[] } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      nodeName: node,
      containers: [{ name: 'main', image, command: extra.command ?? sleep, ...(extra.mounts ? { volumeMounts: extra.mounts } : {}) }],
      ...(extra.volumes ? { volumes: extra.volumes } : {}),
    },
  };
}

const podNames = ['db-0', 'installer-0', 'plain-0', 'db-1'];

beforeAll(async () => {
  const fixtures = await loadFixtures();
  const mongoFx: Fixture = fixtures.find((f) => f.signature === 'mongodb-enterprise' && f.name === 'enterprise-7.0')!;
  mongo = await buildFixtureImage(mongoFx, tag('mongo'));
  installer = await buildFixtureImage(plainFixture('installer', [{ files: [{ path: '/opt/install/server.payload', content: mongoBinary, mode: 0o755 }] }]), tag('installer'));
  plain = await buildFixtureImage(plainFixture('plain', [{ files: [{ path: '/srv/app/README', content: 'nothing licensed\n' }] }]), tag('plain'));
  images.push(mongo, installer, plain);
  cluster = await startTestCluster({
    fixture: {
      nodes: [
        { name: 'worker-1', capacity: { cpu: '8', memory: '32Gi', pods: '110' }, labels: { 'node.kubernetes.io/instance-type': 'm6i.2xlarge' } },
        { name: 'worker-2', capacity: { cpu: '4', memory: '16Gi', pods: '110' } },
      ],
      namespaces: [ns],
      objects: [],
    },
  });
  await cluster.createPod(pod('db-0', mongo.tag, 'worker-1'));
  // Installs the server into an emptyDir at start-up: only a read of the running container sees it.
  await cluster.createPod(
    pod('installer-0', installer.tag, 'worker-1', {
      volumes: [{ name: 'bin', emptyDir: {} }],
      mounts: [{ name: 'bin', mountPath: '/usr/local/bin' }],
      command: ['/bin/sh', '-c', 'cp /opt/install/server.payload /usr/local/bin/mongod && chmod 755 /usr/local/bin/mongod && exec sleep 1000000'],
    }),
  );
  await cluster.createPod(pod('plain-0', plain.tag, 'worker-2'));
  await cluster.createPod(pod('db-1', mongo.tag, 'worker-2'));
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

const base = () => ({ kubeconfig: cluster.kubeconfigPath, cacheDir: null, version: 'test', intervalMs: 60_000 });

/** The open container intervals of the store: node → "pod/container products method", sorted. */
async function perNode(store: Store): Promise<Record<string, string[]>> {
  const rows = await store.db.selectFrom('observations').select(['node', 'pod', 'container', 'products_json', 'method']).where('namespace', '=', ns).where('closed_at', 'is', null).execute();
  const out: Record<string, string[]> = {};
  for (const r of rows) {
    const products = (JSON.parse(r.products_json) as Array<{ id: string }>).map((p) => p.id).sort().join(',');
    (out[r.node ?? '-'] ??= []).push(`${r.pod}/${r.container} ${products || '-'}`);
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

describe.each(storeKinds)('kensus agent on the test API server (%s store)', (kind) => {
  let ts: TestStore;
  let store: Store;

  beforeAll(async () => {
    ts = await freshStore(kind);
    store = await ts.open();
  }, 60_000);
  afterAll(async () => {
    await ts?.cleanup();
  });

  it("reads its node's running containers from the host: image contents and a start-up install into a volume, method host, containers unchanged", async () => {
    const ids = podNames.map((p) => cluster.containerId(ns, p));
    const before = ids.map((id) => docker(['diff', id]));
    const round = await agentRound({ ...base(), node: 'worker-1', store: ts.url }, { store });
    expect(round.sweep.errors).toEqual([]);
    expect(round.containers).toBe(2);
    expect(round.containersRead).toBe(2);
    const rows = await store.db.selectFrom('observations').selectAll().where('namespace', '=', ns).execute();
    expect(rows.map((r) => [r.pod, r.node, r.method]).sort()).toEqual([
      ['db-0', 'worker-1', 'host'],
      ['installer-0', 'worker-1', 'host'],
    ]);
    const installed = JSON.parse(rows.find((r) => r.pod === 'installer-0')!.products_json) as Array<{ id: string; evidence: Array<{ path?: string }> }>;
    expect(installed.map((p) => p.id)).toEqual(['mongodb-enterprise']);
    expect(installed[0].evidence.map((e) => e.path)).toContain('/usr/local/bin/mongod');
    const db = JSON.parse(rows.find((r) => r.pod === 'db-0')!.products_json) as Array<{ id: string; version: string }>;
    expect(db.map((p) => [p.id, p.version])).toEqual([['mongodb-enterprise', '7.0.14']]);
    // Nothing written into any container (the emptyDir is a volume, outside docker diff).
    expect(ids.map((id) => docker(['diff', id]))).toEqual(before);
    expect(docker(['diff', cluster.containerId(ns, 'db-0')])).toBe('');
  });

  it('records the hardware of the node and a heartbeat; the node without an agent is reported uncovered', async () => {
    const hw = await latestNodeHardware(store, (await store.db.selectFrom('clusters').select('cluster_id').executeTakeFirstOrThrow()).cluster_id, 'worker-1');
    const here = parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
    expect(hw).toHaveLength(1);
    expect(hw[0].hardware).toMatchObject({ sockets: here.sockets, cores: here.cores, threads: here.threads, cpuModel: here.cpuModel, instanceType: 'm6i.2xlarge' });
    expect(hw[0].hardware.memoryBytes).toBeGreaterThan(0);
    const clusterId = (await store.db.selectFrom('clusters').select('cluster_id').executeTakeFirstOrThrow()).cluster_id;
    const coverage = await agentCoverage(store, clusterId);
    expect(coverage.nodes.map((n) => [n.node, n.covered])).toEqual([
      ['worker-1', true],
      ['worker-2', false],
    ]);
    expect(coverage.uncovered).toEqual(['worker-2']);
  });

  it("the agents of every node together give the central sweep's per-node inventory (the sweep reading containers through exec), plus hardware", async () => {
    const second = await agentRound({ ...base(), node: 'worker-2', store: ts.url }, { store });
    expect(second.sweep.errors).toEqual([]);
    expect(second.containersRead).toBe(2);
    // worker-1's intervals were not closed by worker-2's agent, which never saw them.
    const agents = await perNode(store);
    expect(agents).toEqual({
      'worker-1': ['db-0/main mongodb-enterprise', 'installer-0/main mongodb-enterprise'],
      'worker-2': ['db-1/main mongodb-enterprise', 'plain-0/main -'],
    });
    const methods = await store.db.selectFrom('observations').select('method').distinct().where('namespace', '=', ns).where('closed_at', 'is', null).execute();
    expect(methods.map((m) => m.method)).toEqual(['host']);

    const central = await freshStore(kind);
    try {
      const centralStore = await central.open();
      const result = await sweep({ ...base(), store: central.url, namespace: [ns] }, { store: centralStore, scanContainer: await kubeExecScanner({ kubeconfig: cluster.kubeconfigPath, cache: false }) });
      expect(result.errors).toEqual([]);
      expect(await perNode(centralStore)).toEqual(agents);
    } finally {
      await central.cleanup();
    }

    const clusterId = second.sweep.clusterId;
    const hw = await latestNodeHardware(store, clusterId);
    expect(hw.map((h) => h.node)).toEqual(['worker-1', 'worker-2']);
    expect((await agentCoverage(store, clusterId)).uncovered).toEqual([]);
  });

  it('a second round reads no image again, extends the intervals and keeps one hardware row per unchanged node', async () => {
    const again = await agentRound({ ...base(), node: 'worker-1', store: ts.url }, { store });
    expect(again.sweep.imagesScanned).toBe(0);
    expect(again.sweep.imagesReused).toBe(2);
    expect(again.hardwareRecorded).toBe('unchanged');
    const open = await store.db.selectFrom('observations').select(['pod']).where('namespace', '=', ns).where('closed_at', 'is', null).execute();
    expect(open).toHaveLength(4);
    const rows = await store.db.selectFrom('node_hardware').select('node').where('node', '=', 'worker-1').execute();
    expect(rows).toHaveLength(1);
  });

  it('names an unknown node (exit 2) and needs --node (exit 2) through the built CLI', async () => {
    await expect(agentRound({ ...base(), node: 'nope', store: ts.url }, { store })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/no node 'nope'/) });
    const env = { ...process.env, NODE_NAME: '', KENSUS_LOG_LEVEL: 'warn' };
    const r = await kensus(['agent', '--once', '--store', ts.url, '--kubeconfig', cluster.kubeconfigPath], env);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/needs --node NAME/);
    const bad = await kensus(['agent', '--node', 'worker-1', '--interval', 'soon'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--interval 'soon' is not a duration/);
  });

  it('runs as the DaemonSet runs it: kensus agent --once --node worker-2 --format json', async () => {
    const r = await kensus(['agent', '--once', '--node', 'worker-2', '--store', ts.url, '--kubeconfig', cluster.kubeconfigPath, '--no-cache', '--format', 'json'], { ...process.env, KENSUS_LOG_LEVEL: 'warn' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ node: 'worker-2', containers: 2, containersRead: 2, sweep: { errors: [] } });
    expect(out.hardware.threads).toBeGreaterThan(0);
  });
});
