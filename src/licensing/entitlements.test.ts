import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildClusterModel } from '../cluster/model.js';
import { testClusterObjects } from '../../test/support/cluster-objects.js';
import { buildInventory, type Inventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import { KensusError } from '../errors.js';
import type { UsageRow } from '../model/report.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { failsOn, loadEntitlements, normalizeMetric, reconcile, type Entitlement } from './entitlements.js';
import { computeUsage } from './usage.js';

let dir: string;
let inv: Inventory;
let usage: UsageRow[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kensus-ent-'));
  const { nodes, pods } = testClusterObjects();
  const set = await loadSignatureSet();
  inv = await buildInventory(buildClusterModel(nodes, pods, 'snapshot', 'prod-cluster-1'), { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) }, { metadataOnly: true });
  usage = computeUsage(inv, { openshift: true }).usage;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: unknown): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, typeof content === 'string' ? content : stringify(content));
  return p;
}

const reference: Entitlement[] = [
  { product: 'Red Hat OpenShift Container Platform', metric: 'core-pair', quantity: 128, clusters: ['prod-cluster-1', 'prod-cluster-2'], 'alert-threshold': 90 },
  { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 32, namespaces: ['ai-inference', 'ml-training'], 'alert-threshold': 80 },
  { product: 'MongoDB Enterprise', metric: 'per-instance', quantity: 10, detection: 'image:mongodb-enterprise-*', 'alert-threshold': 85 },
];

describe('entitlements file', () => {
  it('loads the reference example, also as the ConfigMap it is shipped in', async () => {
    expect(await loadEntitlements(await file('e.yaml', { entitlements: reference }))).toEqual(reference);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flexera-entitlements' }, data: { 'entitlements.yaml': stringify({ entitlements: reference }) } };
    expect(await loadEntitlements(await file('cm.yaml', cm))).toEqual(reference);
  });

  it('names the file, the field and the fix for a bad entitlement', async () => {
    const bad = async (content: unknown, re: RegExp) => {
      const p = await file('bad.yaml', content);
      const err = await loadEntitlements(p).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(KensusError);
      expect((err as KensusError).exitCode).toBe(2);
      expect(`${(err as KensusError).message} ${(err as KensusError).hint ?? ''}`).toMatch(re);
      expect((err as KensusError).message).toContain(p);
    };
    await bad({ entitlements: [{ product: 'X', metric: 'per-gpu' }] }, /entitlements\[0\]: missing field 'quantity' \(the number of licences owned/);
    await bad({ entitlements: [{ product: 'X', metric: 'per-gpu', quantity: 'ten' }] }, /entitlements\[0\]\.quantity: must be number/);
    await bad({ entitlements: [{ product: 'X', metric: 'per-gpu', quantity: 1, alert_threshold: 80 }] }, /unknown field 'alert_threshold' \(allowed: .*alert-threshold/);
    await bad({ entitlements: [{ product: 'X', metric: 'm', quantity: 1, 'alert-threshold': 150 }] }, /alert-threshold: must be <= 100 \(a percentage/);
    await bad({ products: [] }, /missing field 'entitlements'/);
    await bad('entitlements: [\n  - oops', /not valid YAML/);
    const err = await loadEntitlements(join(dir, 'missing.yaml')).then(() => null, (e: unknown) => e);
    expect((err as KensusError).message).toMatch(/cannot read entitlements file .*missing\.yaml: ENOENT/);
  });
});

describe('reconciliation', () => {
  it('computes used, owned, percentage and status on the test cluster', () => {
    const results = reconcile(
      [
        ...reference,
        { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, 'alert-threshold': 85 },
        { product: 'IBM Db2', metric: 'VPC', quantity: 8 },
        { product: 'IBM Cloud Pak for Integration', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 8, 'alert-threshold': 90 },
        { product: 'IBM App Connect Enterprise', metric: 'PROCESSOR_VALUE_UNIT', quantity: 140 },
        { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 8, sku: 'NVAIE-H100' },
      ],
      usage,
      inv,
      { clusterName: 'prod-cluster-1' },
    );
    const r = (product: string, metric?: string) => results.find((x) => x.product === product && (!metric || x.metric === metric))!;
    // OpenShift: 30 core pairs of 128 → 23.4 %.
    expect(r('Red Hat OpenShift Container Platform')).toMatchObject({ used: 30, owned: 128, percentage: 23.4, status: 'ok' });
    // NVAIE bound to namespaces: GPUs allocated there (2 H100 + 1 A100) of 32.
    expect(r('NVIDIA AI Enterprise', 'per-gpu')).toMatchObject({ used: 3, owned: 32, percentage: 9.4, status: 'ok' });
    // Two running containers of a mongodb-enterprise-* image: 2 of 10.
    expect(r('MongoDB Enterprise')).toMatchObject({ used: 2, owned: 10, percentage: 20, status: 'ok' });
    expect(r('IBM MQ Advanced')).toMatchObject({ used: 9, owned: 10, percentage: 90, status: 'warning' });
    expect(r('IBM Db2')).toMatchObject({ used: 10, owned: 8, percentage: 125, status: 'over' });
    expect(r('IBM Cloud Pak for Integration')).toMatchObject({ used: 7, owned: 8, percentage: 87.5, status: 'ok' });
    expect(r('IBM App Connect Enterprise')).toMatchObject({ used: 140, owned: 140, percentage: 100, status: 'ok' });
    // Per-SKU entitlement without namespaces: every H100 of the nodes running NIM.
    expect(results.filter((x) => x.product === 'NVIDIA AI Enterprise')[1]).toMatchObject({ used: 8, owned: 8, status: 'ok' });
    // Oracle Database runs and nothing entitles it.
    const unlicensed = results.filter((x) => x.status === 'unlicensed');
    expect(unlicensed.map((x) => [x.product, x.metric, x.used])).toEqual([['Oracle Database', 'core', 18]]);
    expect(failsOn(results, 'unlicensed')).toBe(true);
    expect(failsOn(results, 'over')).toBe(true);
  });

  it('skips entitlements of other clusters and fails on warning only from warning up', () => {
    const results = reconcile(
      [
        { product: 'Red Hat OpenShift Container Platform', metric: 'core-pair', quantity: 10, clusters: ['other'] },
        { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, 'alert-threshold': 95 },
      ],
      usage.filter((u) => u.productName === 'IBM MQ Advanced' || u.productId === 'openshift-container-platform'),
      inv,
      { clusterName: 'prod-cluster-1' },
    );
    expect(results.map((x) => x.status)).toEqual(['not-applicable', 'ok']);
    expect(failsOn(results, 'warning')).toBe(false);
    const warn = reconcile([{ product: 'IBM MQ Advanced', metric: 'VPC', quantity: 9, 'alert-threshold': 95 }], usage.filter((u) => u.productName === 'IBM MQ Advanced'), inv);
    expect(warn[0]).toMatchObject({ used: 9, percentage: 100, status: 'warning' });
    expect(failsOn(warn, 'warning')).toBe(true);
    expect(failsOn(warn, 'over')).toBe(false);
  });

  it('normalises metric spellings', () => {
    expect(normalizeMetric('per-gpu')).toBe('gpu');
    expect(normalizeMetric('VPC')).toBe('virtual_processor_core');
    expect(normalizeMetric('PROCESSOR_VALUE_UNIT')).toBe('processor_value_unit');
    expect(normalizeMetric('core-pair')).toBe('core-pair');
    expect(normalizeMetric('per-instance')).toBe('instance');
  });
});
