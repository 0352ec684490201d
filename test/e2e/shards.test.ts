import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from '../../src/fixtures/format.js';
import { loadFixtures } from '../../src/fixtures/load.js';
import { recordSweep } from '../../src/scan/sweep.js';
import { validateReport } from '../support/validate-report.js';
import { startTestCluster, type TestCluster } from '../cluster/server.js';
import { buildFixtureImage, docker, type BuiltImage } from '../support/fixture-images.js';
import { freshStore, IBM_MQ, type TestStore } from '../support/stores.js';

/**
 * Sharded sweeps as an Indexed Job runs them (issue 15): four `kensus sweep --shard I/4`
 * processes at once against the test API server (real Docker containers), meeting in one
 * PostgreSQL database, give the figures one unsharded sweep gives in another database of the
 * same server: every image read by exactly one shard, the figures recorded once all four are in.
 */
const ns = 'kensus-shards';
const sleep = ['/bin/busybox', 'sleep', '1000000'];
const observedAt = '2026-11-10T02:00:00.000Z';
const day = { from: '2026-11-10', to: '2026-11-11' };
const tag = (name: string) => `kensus-e2e-shards-${process.pid}-${name}:test`;

/** The built CLI, asynchronously: the test API server runs in this process and must keep answering. */
function kensus(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/kensus.js', ...args], { encoding: 'utf8', env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function json<T = any>(args: string[]): Promise<T> {
  const r = await kensus(args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

// Six products as their vendors ship them (src/fixtures), each its own image digest.
const products = ['mongodb-enterprise:enterprise-7.0', 'oracle-database:ee-19c', 'ibm-mq:mq-advanced-9.4', 'microsoft-sql-server:enterprise-rhel', 'oracle-java-se:oracle-jdk-21', 'redis-enterprise:redis-enterprise-7.4'];
const images: BuiltImage[] = [];
let cluster: TestCluster;
const stores: TestStore[] = [];

function pod(name: string, image: string, node: string, cpu: string, annotations?: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: name.replace(/-\d+$/, '') }, ...(annotations ? { annotations } : {}) },
    spec: { nodeName: node, containers: [{ name: 'main', image, command: sleep, resources: { limits: { cpu } } }] },
  };
}

beforeAll(async () => {
  const fixtures = await loadFixtures();
  for (const id of products) {
    const [signature, name] = id.split(':');
    const fx: Fixture | undefined = fixtures.find((f) => f.signature === signature && f.name === name);
    if (!fx) throw new Error(`fixture ${id} is missing from src/fixtures`);
    images.push(await buildFixtureImage(fx, tag(signature)));
  }
  cluster = await startTestCluster({
    fixture: {
      nodes: [
        { name: 'worker-1', capacity: { cpu: '16', memory: '64Gi', pods: '110' } },
        { name: 'worker-2', capacity: { cpu: '8', memory: '32Gi', pods: '110' } },
        { name: 'worker-3', capacity: { cpu: '4', memory: '16Gi', pods: '110' } },
      ],
      namespaces: [ns],
      objects: [],
    },
  });
  // Two pods per image on different nodes, CPU limits the per-core and IBM figures read.
  const nodes = ['worker-1', 'worker-2', 'worker-3'];
  for (const [i, image] of images.entries()) {
    const signature = products[i].split(':')[0];
    const ibm = signature === 'ibm-mq' ? IBM_MQ : undefined;
    await cluster.createPod(pod(`${signature}-0`, image.tag, nodes[i % 3], '2', ibm));
    await cluster.createPod(pod(`${signature}-1`, image.tag, nodes[(i + 1) % 3], '3', ibm));
  }
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  for (const s of stores) await s.cleanup();
  for (const i of images) {
    try {
      docker(['rmi', '-f', i.tag]);
    } catch {
      /* in use or gone */
    }
    i.cleanup();
  }
});

const sweepArgs = (store: string) => ['sweep', '--store', store, '--kubeconfig', cluster.kubeconfigPath, '--namespace', ns, '--cluster-id', 'shards-test', '--observed-at', observedAt, '--no-cache', '--format', 'json'];

/** What a licence manager reads back: the day's peaks and the containers with their products. */
async function figuresOf(store: string) {
  const usage = await json(['report', 'usage', '--store', store, '--from', day.from, '--to', day.to, '--format', 'json']);
  const installations = await json(['report', 'installations', '--store', store, '--format', 'json']);
  return { peaks: usage.peaks, errors: usage.errors, installations: installations.installations };
}

describe('kensus sweep --shard I/4 as four processes against the test API server and one PostgreSQL', () => {
  it('gives the same figures as one unsharded sweep; each image is read by exactly one shard', async () => {
    const whole = await freshStore('postgres');
    const sharded = await freshStore('postgres');
    stores.push(whole, sharded);

    const one = await json(sweepArgs(whole.url));
    expect(one.errors).toEqual([]);
    expect(one.figured).toBe(true);
    expect(one.imagesScanned).toBe(images.length);

    // The four shards of one run, at once, as the pods of an Indexed Job.
    const runs = await Promise.all([0, 1, 2, 3].map((i) => json([...sweepArgs(sharded.url), '--shard', `${i}/4`, '--run-id', 'sweep-job-1'])));
    for (const r of runs) {
      expect(r.errors).toEqual([]);
      expect(r.runId).toBe('sweep-job-1');
      expect(r.imagesScanned + r.imagesInOtherShards).toBe(images.length);
    }
    expect(runs.map((r) => r.shard)).toEqual([0, 1, 2, 3].map((index) => ({ index, count: 4 })));
    // Every image read once across the shards, and the work really was split.
    expect(runs.reduce((n, r) => n + r.imagesScanned, 0)).toBe(images.length);
    expect(runs.filter((r) => r.imagesScanned > 0).length, runs.map((r) => r.imagesScanned).join(',')).toBeGreaterThan(1);
    // The figures are in once the last shard is: the run's summary says so for one of them at least.
    expect(runs.some((r) => r.figured)).toBe(true);
    expect(runs.reduce((n, r) => n + r.containersObserved, 0)).toBe(one.containersObserved);

    const expected = await figuresOf(whole.url);
    const got = await figuresOf(sharded.url);
    expect(expected.errors).toEqual([]);
    // Not an empty comparison: the products of the images are licence figures here.
    const names = expected.peaks.map((p: any) => p.productName);
    for (const product of ['IBM MQ Advanced', 'Oracle Database', 'MongoDB Enterprise Server']) expect(names.some((n: string) => n.startsWith(product)), names.join('; ')).toBe(true);
    expect(got.peaks).toEqual(expected.peaks);
    expect(expected.installations.length).toBeGreaterThanOrEqual(2 * images.length);
    expect(got.installations).toEqual(expected.installations);
    expect(got.errors).toEqual([]);

    // The IBM figure by IBM's rule: 2 + 3 cores of MQ on two nodes, each under its node's capacity.
    const mq = expected.peaks.find((p: any) => p.productName === 'IBM MQ Advanced' && p.scope === 'cluster');
    expect(mq).toMatchObject({ quantity: 5, day: day.from });
  }, 600_000);

  it('says which nodes no node agent covers, once agents report: in sweep, scan cluster and report usage, JSON and table', async () => {
    const store = await freshStore('postgres');
    stores.push(store);
    const args = ['--store', store.url, '--kubeconfig', cluster.kubeconfigPath, '--cluster-id', 'coverage-test'];
    const sweepNow = ['sweep', ...args, '--namespace', ns, '--metadata-only', '--no-cache'];
    // No agent ever reported: the documents stay as they were.
    const before = await json([...sweepNow, '--format', 'json']);
    expect(before).not.toHaveProperty('agentCoverage');

    // Real agents on two of the three nodes (their containers read through /proc/PID/root).
    for (const node of ['worker-1', 'worker-2']) {
      const r = await json(['agent', '--once', '--node', node, ...args, '--no-cache', '--format', 'json']);
      expect(r.node).toBe(node);
    }
    const after = await json([...sweepNow, '--format', 'json']);
    expect(after.agentCoverage).toMatchObject({ clusterId: 'coverage-test', covered: 2, uncovered: ['worker-3'] });
    expect(after.agentCoverage.nodes.map((n: any) => [n.node, n.covered, n.lastHeartbeat === null])).toEqual([
      ['worker-1', true, false],
      ['worker-2', true, false],
      ['worker-3', false, true],
    ]);
    const table = await kensus(sweepNow);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain('node agents cover 2 of 3 node(s); no agent on worker-3');

    // The report serve --store shows: each node's agent, or false (its dashboard lists those nodes).
    const opened = await store.open();
    const { report } = await recordSweep({ kubeconfig: cluster.kubeconfigPath, clusterId: 'coverage-test', namespace: [ns], metadataOnly: true, cacheDir: null, version: 'test' }, { store: opened });
    expect(report.nodes.map((n) => [n.name, n.agent === false ? false : typeof (n.agent as { lastHeartbeat?: unknown }).lastHeartbeat])).toEqual([
      ['worker-1', 'string'],
      ['worker-2', 'string'],
      ['worker-3', false],
    ]);

    // scan cluster records nothing; given the store, it reads the agents' heartbeats.
    const scanArgs = ['scan', 'cluster', '--kubeconfig', cluster.kubeconfigPath, '--cluster-id', 'coverage-test', '--namespace', ns, '--metadata-only', '--agent-coverage', store.url];
    const scanned = await json([...scanArgs, '-o', 'json']);
    expect(validateReport(scanned)).toEqual([]);
    expect(scanned.agentCoverage).toMatchObject({ clusterId: 'coverage-test', covered: 2, uncovered: ['worker-3'] });
    expect(scanned.nodes.map((n: any) => [n.name, n.agent === false ? false : typeof n.agent.lastHeartbeat])).toEqual([
      ['worker-1', 'string'],
      ['worker-2', 'string'],
      ['worker-3', false],
    ]);
    const scannedTable = await kensus(scanArgs);
    expect(scannedTable.status, scannedTable.stderr).toBe(0);
    expect(scannedTable.stdout).toMatch(/\nNODE AGENTS \(as of .*\)\nCLUSTER\s+NODES COVERED\s+NO AGENT ON\ncoverage-test\s+2 of 3\s+worker-3\n/);
    const plain = await json(scanArgs.slice(0, -2).concat(['-o', 'json']));
    expect(plain).not.toHaveProperty('agentCoverage');

    const today = after.observedAt.slice(0, 10);
    const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const period = ['--from', today, '--to', tomorrow];
    const usage = await json(['report', 'usage', '--store', store.url, ...period, '--format', 'json']);
    expect(usage.agentCoverage).toEqual([expect.objectContaining({ clusterId: 'coverage-test', covered: 2, uncovered: ['worker-3'] })]);
    const usageTable = await kensus(['report', 'usage', '--store', store.url, ...period]);
    expect(usageTable.status, usageTable.stderr).toBe(0);
    expect(usageTable.stdout).toMatch(/NODE AGENTS \(as of .*\)\nCLUSTER\s+NODES COVERED\s+NO AGENT ON\ncoverage-test\s+2 of 3\s+worker-3\n/);
  }, 600_000);
});
