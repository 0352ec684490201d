import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { kubectl, startTestCluster, type TestCluster } from '../../test/support/k8s.js';
import { busyboxContext } from '../../test/cluster/image.js';
import { scanImageRef } from '../scan/image.js';
import { loadSignatureSet } from '../signatures/load.js';
import type { ImageKey } from '../inventory/inventory.js';
import { testClusterObjects } from '../../test/support/cluster-objects.js';
import { KensusError } from '../errors.js';
import type { Report, UsageRow } from '../model/report.js';
import { validateReport } from '../../test/support/validate-report.js';
import { runScanCluster } from './scan-cluster.js';

/**
 * The issue-7 test cluster on the Kubernetes API test server (pods are real Docker containers
 * of the busybox test image, tagged with the product image names): the live path must give the
 * hand-computed figures, and `kubectl get nodes,pods -A -o json` of the same cluster read with
 * --snapshot must give the same report.
 */
let cluster: TestCluster;
let dir: string;
const now = new Date('2026-11-23T10:00:00Z');
const clusterId = 'c1a5e7e5-0000-4000-8000-000000000007';
const SLEEP = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'];
type Obj = Record<string, any>;

async function buildImage(docker: Docker, name: string): Promise<void> {
  const stream = await docker.buildImage(busyboxContext(`LABEL kensus.test.image="${name}"\n`) as unknown as NodeJS.ReadableStream, { t: name, rm: true, forcerm: true });
  const output: Array<{ error?: string }> = await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))));
  const failed = output.find((o) => o?.error);
  if (failed) throw new Error(`building ${name} failed: ${failed.error}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kensus-live-cluster-'));
  const { nodes, pods } = testClusterObjects();
  const namespaces = [...new Set(pods.map((p) => (p as Obj).metadata.namespace as string))];
  cluster = await startTestCluster({ fixture: { nodes: nodes as Obj[], namespaces, objects: [] } });
  // One small image per product image name (busybox plus a label), so each has its own digest.
  const images = new Set(pods.flatMap((p) => ((p as Obj).spec.containers as Obj[]).filter(() => (p as Obj).status.phase !== 'Pending').map((c) => c.image as string)));
  for (const image of images) await buildImage(cluster.docker, image);
  for (const raw of pods as Obj[]) {
    const { status: _status, ...pod } = structuredClone(raw);
    delete pod.metadata.uid;
    delete pod.metadata.ownerReferences;
    const phase = raw.status.phase as string;
    for (const c of pod.spec.containers as Obj[]) {
      c.command = phase === 'Succeeded' ? ['true'] : SLEEP;
      // The Pending pod's image is absent: it cannot start (ErrImageNeverPull) and stays Pending.
      if (phase === 'Pending') c.image = 'registry.example.com/ibm/mq:absent';
    }
    if (phase === 'Succeeded') pod.spec.restartPolicy = 'Never';
    await cluster.createPod(pod, { timeoutMs: 60_000 });
  }
  // Succeeded needs the container to have exited; wait for it.
  await cluster.waitForPod('db', 'oracle-done', (p) => p.status?.phase === 'Succeeded', 30_000);
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

const row = (usage: UsageRow[], productName: string, scope?: string, sku?: string | null) =>
  usage.find((u) => u.productName === productName && (!scope || u.scope === scope) && (sku === undefined || u.sku === sku));

/** The report without what legitimately differs between the two paths. */
function comparable(r: Report): unknown {
  const { cluster: c, ...rest } = r as Report & { cluster: { id: string } };
  return { ...rest, clusterId: c.id };
}

describe('kensus scan cluster against a live API server', () => {
  it('gives the hand-computed figures, and the snapshot of the same cluster gives the same report', async () => {
    const opts = { metadataOnly: true, openshift: true as const, clusterId, now };
    const live = await runScanCluster({ ...opts, kubeconfig: cluster.kubeconfigPath });
    expect(live.exitCode).toBe(0);
    expect(await validateReport(live.report)).toEqual([]);
    expect(live.report.cluster).toMatchObject({ source: 'live', name: expect.any(String) });
    const u = live.report.usage;
    expect(row(u, 'IBM MQ Advanced')).toMatchObject({ quantity: 9, pvu: 630 });
    expect(row(u, 'IBM App Connect Enterprise')).toMatchObject({ metric: 'PROCESSOR_VALUE_UNIT', quantity: 140 });
    expect(row(u, 'IBM Db2')).toMatchObject({ quantity: 10, pvu: 700 });
    expect(row(u, 'IBM Cloud Pak for Integration', 'cloudpak')).toMatchObject({ quantity: 7, pvu: 490 });
    expect(u.filter((x) => x.productId === 'openshift-container-platform').map((x) => [x.metric, x.quantity])).toEqual([['core', 60], ['core-pair', 30]]);
    expect(row(u, 'NVIDIA AI Enterprise', 'nodes', 'NVAIE-H100')!.quantity).toBe(8);
    expect(row(u, 'NVIDIA AI Enterprise', 'nodes', 'NVAIE-A100')!.quantity).toBe(2);
    expect(row(u, 'NVIDIA AI Enterprise', 'allocated', 'NVAIE-H100')!.quantity).toBe(2);
    expect(row(u, 'NVIDIA AI Enterprise', 'allocated', 'NVAIE-A100')!.quantity).toBe(1);
    expect(row(u, 'Oracle Database')!.quantity).toBe(18);
    expect(row(u, 'MongoDB Enterprise Server')).toMatchObject({ metric: 'instance', quantity: 2 });
    expect(live.report.gpuSkus.map((g) => [g.sku, g.gpus, g.nodes])).toEqual([
      ['NVAIE-A100', 2, ['gpu-mig']],
      ['NVAIE-H100', 8, ['gpu-h100']],
      [null, 2, ['gpu-nolabel']],
    ]);
    expect(live.report.containers.find((c) => c.pod === 'mq-pending')).toMatchObject({ phase: 'Pending' });
    // A finished pod is listed apart, not among the containers.
    expect(live.report.containers.find((c) => c.pod === 'oracle-done')).toBeUndefined();
    expect(live.report.finishedContainers?.find((c) => c.pod === 'oracle-done')).toMatchObject({ phase: 'Succeeded' });
    expect(live.report.containers.find((c) => c.pod === 'nginx')!.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const got = await kubectl(cluster, ['get', 'nodes,pods', '-A', '-o', 'json']);
    expect(got.stderr).toBe('');
    const snapshot = join(dir, 'snapshot.json');
    await writeFile(snapshot, got.stdout);
    const offline = await runScanCluster({ ...opts, snapshot });
    expect(offline.report.cluster).toMatchObject({ source: 'snapshot' });
    expect(comparable(offline.report)).toEqual(comparable(live.report));
  });

  it('scans each image once through the Docker engine and gives the same figures', async () => {
    const set = await loadSignatureSet();
    const calls: ImageKey[] = [];
    // The real image scanner over the test dockerd (docker: scheme, so nothing leaves the machine).
    const scanImage = async (img: ImageKey) => {
      calls.push(img);
      return (await scanImageRef(`docker:${img.image}`, { set, cacheDir: null })).products;
    };
    const full = await runScanCluster({ kubeconfig: cluster.kubeconfigPath, openshift: true, clusterId, now }, { scanImage });
    expect(full.report.errors).toEqual([]);
    const started = new Set(full.report.containers.filter((c) => c.imageDigest).map((c) => c.imageDigest));
    expect(calls.length).toBe(started.size);
    expect(new Set(calls.map((c) => c.digest)).size).toBe(calls.length);
    expect(full.report.metadataOnly).toBe(false);
    const u = full.report.usage;
    expect(row(u, 'IBM MQ Advanced')!.quantity).toBe(9);
    expect(row(u, 'IBM Cloud Pak for Integration', 'cloudpak')!.quantity).toBe(7);
    expect(row(u, 'NVIDIA AI Enterprise', 'nodes', 'NVAIE-H100')!.quantity).toBe(8);
    expect(row(u, 'Oracle Database')!.quantity).toBe(18);
    const nim = full.report.images.find((i) => i.ref.startsWith('nvcr.io/nim/'))!;
    expect(nim.source).toBe('scan');
    expect(nim.products.map((p) => p.id)).toContain('nvidia-nim');
  });

  it('applies namespace and label filters the same way live and offline', async () => {
    const got = await kubectl(cluster, ['get', 'nodes,pods', '-A', '-o', 'json']);
    const snapshot = join(dir, 'snapshot2.json');
    await writeFile(snapshot, got.stdout);
    const opts = { metadataOnly: true, clusterId, now, namespace: ['mq', 'db'], selector: 'app notin (mq-4)' };
    const live = await runScanCluster({ ...opts, kubeconfig: cluster.kubeconfigPath });
    const offline = await runScanCluster({ ...opts, snapshot });
    expect(live.report.containers.map((c) => c.pod).sort()).toEqual(['mongo-0', 'mongo-1', 'mq-1', 'mq-2', 'mq-3', 'mq-pending', 'oracle-0', 'oracle-1']);
    expect(live.report.finishedContainers?.map((c) => c.pod)).toEqual(['oracle-done']);
    // Without mq-4 (0.5 core on gpu-mig) MQ is 3+3+3 capped at plain-1's 8 cores.
    expect(row(live.report.usage, 'IBM MQ Advanced')!.quantity).toBe(8);
    expect(comparable(offline.report)).toEqual(comparable(live.report));
  });

  it('says which permission is missing when the user may not list nodes (exit 3)', async () => {
    const err = await runScanCluster({ kubeconfig: cluster.kubeconfigPath, context: 'restricted', metadataOnly: true }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(3);
    expect((err as KensusError).message).toBe('forbidden: the current user may not list nodes (cluster-scoped)');
    // The hint names the verb and resource that were refused (kubectl habits: 403 hints name what is missing).
    expect((err as KensusError).hint).toMatch(/--verb=list --resource=nodes( |$)/);
  });
});
