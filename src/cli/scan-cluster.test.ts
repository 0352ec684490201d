import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { testClusterList } from '../../test/support/cluster-objects.js';
import { KensusError } from '../errors.js';
import type { UsageRow } from '../model/report.js';
import { validateReport } from '../../test/support/validate-report.js';
import { runScanCluster } from './scan-cluster.js';

let dir: string;
let snapshot: string;
const now = new Date('2026-11-23T10:00:00Z');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kensus-scan-cluster-'));
  snapshot = join(dir, 'cluster.json');
  await writeFile(snapshot, JSON.stringify(testClusterList()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const row = (usage: UsageRow[], productName: string, scope?: string, sku?: string | null) =>
  usage.find((u) => u.productName === productName && (!scope || u.scope === scope) && (sku === undefined || u.sku === sku))!;

describe('kensus scan cluster --snapshot --metadata-only', () => {
  it('reproduces every hand-computed figure of the test cluster in a schema-valid report', async () => {
    const { report, exitCode } = await runScanCluster({ snapshot, metadataOnly: true, openshift: true, clusterId: 'd8259158-fdfe-4ba3-ae28-be62a51df7f9', now });
    expect(exitCode).toBe(0);
    expect(await validateReport(report)).toEqual([]);
    const u = report.usage;
    expect([row(u, 'IBM MQ Advanced').quantity, row(u, 'IBM MQ Advanced').pvu]).toEqual([9, 630]);
    expect(row(u, 'IBM App Connect Enterprise').quantity).toBe(140);
    expect(row(u, 'IBM Db2').quantity).toBe(10);
    expect(row(u, 'IBM Cloud Pak for Integration', 'cloudpak').quantity).toBe(7);
    expect(row(u, 'Red Hat OpenShift Container Platform').metric).toBe('core');
    expect(u.filter((x) => x.productId === 'openshift-container-platform').map((x) => [x.metric, x.quantity])).toEqual([['core', 60], ['core-pair', 30]]);
    expect(row(u, 'NVIDIA AI Enterprise', 'nodes', 'NVAIE-H100').quantity).toBe(8);
    expect(row(u, 'NVIDIA AI Enterprise', 'nodes', 'NVAIE-A100').quantity).toBe(2);
    expect(row(u, 'NVIDIA AI Enterprise', 'allocated', 'NVAIE-H100').quantity).toBe(2);
    expect(row(u, 'NVIDIA AI Enterprise', 'allocated', 'NVAIE-A100').quantity).toBe(1);
    expect(row(u, 'Oracle Database').quantity).toBe(18);
    expect([row(u, 'MongoDB Enterprise Server').metric, row(u, 'MongoDB Enterprise Server').quantity]).toEqual(['instance', 2]);
    expect(report.gpuSkus.map((g) => [g.sku, g.gpus, g.nodes])).toEqual([
      ['NVAIE-A100', 2, ['gpu-mig']],
      ['NVAIE-H100', 8, ['gpu-h100']],
      [null, 2, ['gpu-nolabel']],
    ]);
    const h100 = report.nodes.find((n) => n.name === 'gpu-h100')!;
    expect(h100.cpu).toBe(64);
    expect(h100.gpus).toMatchObject([{ product: 'NVIDIA-H100-80GB-HBM3', count: 8, sku: 'NVAIE-H100' }]);
    expect(h100.products.map((p) => p.id)).toEqual(expect.arrayContaining(['nvidia-nim', 'oracle-database']));
    expect(report.nodes.find((n) => n.name === 'gpu-mig')!.gpus[0].mig).toEqual({ '1g.5gb': 14 });
    expect(report.metadataOnly).toBe(true);
    expect(report.cluster).toEqual({ id: 'd8259158-fdfe-4ba3-ae28-be62a51df7f9', name: null, source: 'snapshot' });
    expect((report.namespaces as Array<{ namespace: string }>).length).toBe(9);
    expect(report.containers.find((c) => c.pod === 'db2-nolimit')!.cpuLimit).toBeNull();
    expect(report.scannedAt).toBe('2026-11-23T10:00:00Z');
    expect(report.errors).toEqual([]);
  });

  it('reconciles entitlements and exits 1 on --fail-on', async () => {
    const ents = join(dir, 'entitlements.yaml');
    await writeFile(
      ents,
      stringify({
        entitlements: [
          { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, 'alert-threshold': 85 },
          { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 32, namespaces: ['ai-inference', 'ml-training'], 'alert-threshold': 80 },
        ],
      }),
    );
    const warn = await runScanCluster({ snapshot, metadataOnly: true, entitlements: ents, failOn: 'warning', now });
    expect(warn.exitCode).toBe(1);
    const results = warn.report.entitlements as Array<{ product: string; status: string; used: number }>;
    expect(results.find((r) => r.product === 'IBM MQ Advanced')).toMatchObject({ used: 9, status: 'warning' });
    expect(results.filter((r) => r.status === 'unlicensed').map((r) => r.product).sort()).toEqual([
      'IBM App Connect Enterprise',
      'IBM Cloud Pak for Integration',
      'IBM Db2',
      'MongoDB Enterprise Server',
      'Oracle Database',
    ]);
    // Unlicensed is worse than over: --fail-on over fails on it too.
    expect((await runScanCluster({ snapshot, metadataOnly: true, entitlements: ents, failOn: 'over', now })).exitCode).toBe(1);
    // Only the mq namespace: MQ at 90 % is a warning, nothing is over or unlicensed.
    const mqOnly = { snapshot, metadataOnly: true, entitlements: ents, namespace: ['mq'], now };
    expect((await runScanCluster({ ...mqOnly, failOn: 'over' })).exitCode).toBe(0);
    expect((await runScanCluster({ ...mqOnly, failOn: 'warning' })).exitCode).toBe(1);
    const unlicensed = await runScanCluster({ snapshot, metadataOnly: true, failOn: 'unlicensed', namespace: ['web'], now });
    expect(unlicensed.exitCode).toBe(0); // only nginx there: nothing to license
    expect(unlicensed.report.containers.map((c) => c.pod)).toEqual(['nginx']);
  });

  it('fails with exit 2 naming the file for a bad snapshot or entitlements file', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ kind: 'Pod', metadata: { name: 'x' } }));
    const err = await runScanCluster({ snapshot: bad, metadataOnly: true }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(2);
    expect((err as KensusError).message).toContain(bad);
    const badEnt = join(dir, 'bad-ent.yaml');
    await writeFile(badEnt, 'entitlements:\n  - product: X\n    metric: per-gpu\n');
    const err2 = await runScanCluster({ snapshot, metadataOnly: true, entitlements: badEnt }).then(() => null, (e: unknown) => e);
    expect((err2 as KensusError).message).toMatch(/bad-ent\.yaml: entitlements\[0\]: missing field 'quantity'/);
  });

  it('fails with exit 3 when the live cluster cannot be reached', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'gone', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'u' } }],
        'current-context': 'gone',
      }),
    );
    const err = await runScanCluster({ kubeconfig, metadataOnly: true }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(3);
    expect((err as KensusError).message).toMatch(/cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1/);
    const err2 = await runScanCluster({ kubeconfig, context: 'nope', metadataOnly: true }).then(() => null, (e: unknown) => e);
    expect((err2 as KensusError).exitCode).toBe(2);
    expect((err2 as KensusError).message).toMatch(/no context 'nope'/);
  });
});

describe('kensus scan cluster through the CLI', () => {
  it('writes JSON, .ndi and CSV files with -o and exits 1 on --fail-on', async () => {
    const { main } = await import('./main.js');
    const json = join(dir, 'report.json');
    expect(await main(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '-o', 'json', '--output-file', json])).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8'));
    expect(await validateReport(report)).toEqual([]);
    expect(report.usage.find((u: UsageRow) => u.productName === 'IBM MQ Advanced').quantity).toBe(9);

    const ndiDir = join(dir, 'ndi');
    expect(await main(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '--cluster-id', '1656883d-0000', '--format', 'ndi', '--output-file', ndiDir])).toBe(0);
    const ndi = await readdir(ndiDir);
    expect(ndi.filter((f) => /^k8s-ibm-licensing-1656883d-\d{8}T\d{6}\.ndi$/.test(f)).length).toBe(1);
    expect(ndi.filter((f) => f.startsWith('k8s-node-1656883d-')).length).toBe(5);

    const csvDir = join(dir, 'csv');
    const code = await main(['scan', 'cluster', '--snapshot', snapshot, '--metadata-only', '-o', 'csv', '--output-file', csvDir, '--fail-on', 'unlicensed']);
    expect(code).toBe(1);
    expect((await readdir(csvDir)).sort()).toContain('usage.csv');
    expect(await readFile(join(csvDir, 'entitlements.csv'), 'utf8')).toMatch(/Oracle Database,core,18,0,,,unlicensed/);

    expect(await main(['scan', 'cluster', '--snapshot', join(dir, 'nope.json'), '--metadata-only'])).toBe(2);
  });
});
