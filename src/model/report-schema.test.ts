import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { rawNode, rawPod, testClusterObjects } from '../../test/support/cluster-objects.js';
import { reportSchema, validateReport } from '../../test/support/validate-report.js';
import { buildInventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import { reconcile } from '../licensing/entitlements.js';
import { computeUsage } from '../licensing/usage.js';
import { buildClusterReport } from '../report/cluster.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ClusterReport } from './report.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

/** The schema with additionalProperties false on every object it describes: every key must be described. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    // Maps whose keys are data (namespace → count, MIG profile → count) stay open by design.
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, closed(s)])) : closed(v);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

let report: ClusterReport;
beforeAll(async () => {
  // Everything a cluster report can hold: IBM programs with and without annotations, a Cloud Pak,
  // NVAIE per SKU, a vGPU pod, OpenShift nodes, a finished pod, incomplete IBM annotations,
  // entitlements of every status, an image that could not be scanned.
  const { nodes, pods } = testClusterObjects();
  nodes.push(rawNode({ name: 'w-vgpu', cpu: '8', labels: { 'node.openshift.io/os_id': 'rhcos', 'node.kubernetes.io/instance-type': 'm5.2xlarge' }, extraCapacity: { 'nvidia.com/vgpu': '2' } }));
  pods.push(
    rawPod({ namespace: 'vdi', name: 'vgpu-0', node: 'w-vgpu', containers: [{ name: 'desk', image: 'registry.example.com/vdi/desktop:1', limits: { 'nvidia.com/vgpu': '2', cpu: '1' } }] }),
    rawPod({ namespace: 'db2', name: 'db2-bare', node: 'plain-1', containers: [{ name: 'db2', image: 'registry.example.com/ibm/db2-bare:11.5', limits: { cpu: '2' } }] }),
    rawPod({ namespace: 'db2', name: 'db2-bad', node: 'plain-1', annotations: { productName: 'IBM Db2' }, containers: [{ name: 'db2', image: 'registry.example.com/ibm/db2:11.5-k7test', limits: { cpu: '1' } }] }),
  );
  const set = await loadSignatureSet();
  const inv = await buildInventory(buildClusterModel(nodes, pods, 'snapshot', 'prod-cluster-1'), {
    matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher),
    scanImage: async (img) => {
      if (img.image.startsWith('docker.io/library/nginx')) throw new Error('registry unreachable');
      if (img.image.includes('db2-bare')) return [{ id: 'ibm-db2', vendor: 'IBM', product: 'IBM Db2', edition: null, version: '11.5.9.0', licenseMetric: 'VIRTUAL_PROCESSOR_CORE', licensable: true, confidence: 'high', evidence: [{ kind: 'file', path: '/opt/ibm/db2/V11.5/bin/db2sysc', rule: 'ibm-db2/db2sysc' }] }];
      return [];
    },
  });
  const figures = computeUsage(inv, { openshift: true });
  const ents = reconcile(
    [
      { product: 'Red Hat OpenShift Container Platform', metric: 'core-pair', quantity: 128, clusters: ['prod-cluster-1', 'prod-cluster-2'], 'alert-threshold': 90 },
      { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 32, namespaces: ['ai-inference', 'ml-training'], 'alert-threshold': 80 },
      { product: 'MongoDB Enterprise', metric: 'per-instance', quantity: 10, detection: 'image:mongodb-enterprise-*', 'alert-threshold': 85 },
      { product: 'IBM MQ Advanced', metric: 'VPC', quantity: 4 },
      { product: 'NVIDIA vGPU', metric: 'per-vgpu', quantity: 4, clusters: ['other'] },
    ],
    figures.usage,
    inv,
    { clusterName: 'prod-cluster-1' },
  );
  report = buildClusterReport(inv, figures, ents, { version: '0.1.0', now: new Date('2026-11-23T10:00:00Z') });
});

describe('the report JSON Schema', () => {
  it('describes every key a cluster report emits', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(closed(reportSchema) as object);
    const ok = validate(report);
    const undescribed = [...new Set((validate.errors ?? []).map((e) => `${e.instancePath.replace(/\/\d+/g, '/*')} ${e.message} ${JSON.stringify(e.params)}`))];
    expect(ok ? [] : undescribed).toEqual([]);
  });

  it('the report is valid against the shipped (open) schema, and has every part filled', () => {
    expect(validateReport(report)).toEqual([]);
    expect(report.entitlements!.map((e) => e.status).sort()).toEqual(expect.arrayContaining(['not-applicable', 'ok', 'over', 'unlicensed']));
    expect(report.ibmIncompleteAnnotationPods).toEqual(['db2/db2-bad']);
    expect(report.finishedContainers.length).toBe(1);
    expect(report.usage.some((u) => u.scope === 'full-capacity')).toBe(true);
    expect(report.errors.length).toBe(1);
  });

  it('the closing check itself finds an undescribed key', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(closed(reportSchema) as object);
    expect(validate({ ...report, surprise: 1 })).toBe(false);
  });
});
