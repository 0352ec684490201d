import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { rawNode, rawPod, testClusterObjects } from '../../test/support/cluster-objects.js';
import { buildInventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import { reconcile, type Entitlement } from '../licensing/entitlements.js';
import { computeUsage } from '../licensing/usage.js';
import type { ClusterReport, UsageRow } from '../model/report.js';
import { buildClusterReport } from '../report/cluster.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { createMetrics } from './metrics.js';
import { startServer } from './app.js';
import { parsePolicy } from './policy.js';

/** One sample of the text exposition: family, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v.replace(/\\"/g, '"').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const NVAIE_L40S = { 'nvidia.com/gpu.present': 'true', 'nvidia.com/gpu.product': 'NVIDIA-L40S', 'nvidia.com/gpu.count': '4' };
let report: ClusterReport;
let samples: Sample[];
let text: string;

beforeAll(async () => {
  // The test cluster plus what overwrote series before: NVAIE on two SKUs (H100 8 + L40S 4 GPUs on
  // nodes running NIM), and two usage rows named "IBM Db2" (the annotated program and the one an
  // image scan found in a pod without annotations).
  const { nodes, pods } = testClusterObjects();
  nodes.push(rawNode({ name: 'gpu-l40s', cpu: '32', labels: NVAIE_L40S, extraCapacity: { 'nvidia.com/gpu': '4' } }));
  pods.push(rawPod({ namespace: 'ai-inference', name: 'nim-l40s', node: 'gpu-l40s', containers: [{ name: 'nim', image: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3', limits: { 'nvidia.com/gpu': '1' } }] }));
  const set = await loadSignatureSet();
  const inv = await buildInventory(buildClusterModel(nodes, pods, 'snapshot', 'prod-cluster-1'), { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) }, { metadataOnly: true });
  const figures = computeUsage(inv, { openshift: true });
  const unannotatedDb2: UsageRow = { productId: 'ibm-db2', productName: 'IBM Db2', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 1, pvu: 70, scope: 'cluster', cloudpakId: null, rule: 'IBM container licensing', vendor: 'IBM' };
  figures.usage.push(unannotatedDb2);
  const entitlements: Entitlement[] = [
    { product: 'Red Hat OpenShift Container Platform', metric: 'core-pair', quantity: 128, clusters: ['prod-cluster-1', 'prod-cluster-2'], 'alert-threshold': 90 },
    { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 32, namespaces: ['ai-inference', 'ml-training'], 'alert-threshold': 80 },
    { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 6, sku: 'NVAIE-H100' },
    { product: 'MongoDB Enterprise', metric: 'per-instance', quantity: 10, detection: 'image:mongodb-enterprise-*', 'alert-threshold': 85 },
    { product: 'IBM MQ Advanced', metric: 'VPC', quantity: 10 },
  ];
  const results = reconcile(entitlements, figures.usage, inv, { clusterName: 'prod-cluster-1' });
  report = buildClusterReport(inv, figures, results, { version: '0.1.0', clusterId: 'd8259158-fdfe-4ba3-ae28-be62a51df7f9', now: new Date('2026-11-23T10:00:00Z') });
  const m = createMetrics();
  m.update(report);
  text = await m.registry.metrics();
  samples = parse(text);
});

const family = (name: string) => samples.filter((s) => s.name === name);
const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

describe('/metrics holds every row of the report', () => {
  it('every usage row is its own kensus_license_usage series, with its value', () => {
    const usage = family('kensus_license_usage');
    expect(usage.length).toBe(report.usage.length);
    expect(new Set(usage.map((s) => key(s.labels))).size).toBe(usage.length);
    for (const row of report.usage) {
      const hits = usage.filter((s) => s.labels.product_id === row.productId && s.labels.metric === row.metric && s.labels.scope === row.scope && s.labels.sku === (row.sku ?? '') && s.labels.cloudpak_id === (row.cloudpakId ?? ''));
      expect(hits.map((s) => s.value), `${row.productName} ${row.metric} ${row.scope} ${row.sku}`).toEqual([row.quantity]);
    }
    // The NVAIE SKUs no longer overwrite one another: H100 8 + A100 2 + L40S 4 on nodes running NIM.
    const nodes = usage.filter((s) => s.labels.product_id === 'nvidia-ai-enterprise' && s.labels.scope === 'nodes');
    expect(nodes.map((s) => [s.labels.sku, s.value]).sort()).toEqual([['NVAIE-A100', 2], ['NVAIE-H100', 8], ['NVAIE-L40S', 4]]);
    const pvu = family('kensus_license_usage_pvu');
    expect(pvu.length).toBe(report.usage.filter((u) => u.pvu !== null).length);
  });

  it('every entitlement row is its own series of used, owned and status, with its values', () => {
    const ents = report.entitlements!;
    for (const name of ['kensus_entitlement_used', 'kensus_entitlement_owned', 'kensus_entitlement_status']) {
      const f = family(name);
      expect(f.length, name).toBe(ents.length);
      expect(new Set(f.map((s) => key(s.labels))).size, name).toBe(f.length);
    }
    const used = family('kensus_entitlement_used');
    const owned = family('kensus_entitlement_owned');
    // used and owned of one row share their labels (the alert compares them one to one).
    expect(used.map((s) => key(s.labels)).sort()).toEqual(owned.map((s) => key(s.labels)).sort());
    expect(used.map((s) => s.value).sort((a, b) => a - b)).toEqual(ents.map((e) => e.used).sort((a, b) => a - b));
    expect(owned.map((s) => s.value).sort((a, b) => a - b)).toEqual(ents.map((e) => e.owned).sort((a, b) => a - b));
    // The two unlicensed "IBM Db2" rows (10 annotated, 1 found by the image) are two series.
    const db2 = family('kensus_unlicensed_installations').filter((s) => s.labels.product === 'IBM Db2');
    expect(db2.map((s) => s.value).sort((a, b) => a - b)).toEqual([1, 10]);
    expect(family('kensus_unlicensed_installations').length).toBe(ents.filter((e) => e.status === 'unlicensed').length);
  });

  it('joins: usage and entitlement families share label names and values', () => {
    for (const name of ['kensus_license_usage', 'kensus_license_usage_pvu', 'kensus_entitlement_used', 'kensus_entitlement_owned', 'kensus_entitlement_status', 'kensus_unlicensed_installations']) {
      for (const label of ['product_id', 'metric', 'scope', 'sku', 'cluster']) expect(Object.keys(family(name)[0].labels), `${name} ${label}`).toContain(label);
    }
    for (const name of ['kensus_product_containers', 'kensus_product_images']) expect(Object.keys(family(name)[0].labels)).toEqual(expect.arrayContaining(['product_id', 'cluster']));
    // The MQ entitlement (written VPC) joins the MQ usage row on product_id and metric.
    const mqUsed = family('kensus_entitlement_used').find((s) => s.labels.product === 'IBM MQ Advanced')!;
    const mqUsage = family('kensus_license_usage').filter((s) => s.labels.product_id === mqUsed.labels.product_id && s.labels.metric === mqUsed.labels.metric);
    expect(mqUsage.map((s) => s.value)).toEqual([9]);
    expect(mqUsed.labels.cluster).toBe('prod-cluster-1');
  });

  it('says which Kensus built it, and promtool accepts the exposition', () => {
    expect(family('kensus_build_info')).toEqual([{ name: 'kensus_build_info', labels: { version: '0.1.0', schema_version: '1' }, value: 1 }]);
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stderr + check.stdout).toBe('');
    expect(check.status).toBe(0);
  });
});

describe('the shipped alert rules on a real scrape', () => {
  it('fire for exactly the entitlement rows over their quantity, and for unlicensed ones', () => {
    // The scrape as promtool input series (each value held for 30 hours).
    const input = samples
      .filter((s) => ['kensus_entitlement_used', 'kensus_entitlement_owned', 'kensus_entitlement_status', 'kensus_unlicensed_installations'].includes(s.name))
      .map((s) => ({ series: `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`, values: `${s.value}x30` }));
    const ents = report.entitlements!;
    const labelsOf = (family: string, e: (typeof ents)[number]) =>
      Object.fromEntries(Object.entries(samples.find((s) => s.name === family && s.labels.product === e.product && s.value === e.used && s.labels.product_id === e.productIds.join(','))!.labels).filter(([, v]) => v !== ''));
    // Unlicensed rows own 0, so they are also over what is owned.
    const over = ents.filter((e) => e.status === 'over' || e.status === 'unlicensed');
    const unlicensed = ents.filter((e) => e.status === 'unlicensed');
    expect(ents.filter((e) => e.status === 'over').length).toBeGreaterThan(0);
    expect(unlicensed.length).toBeGreaterThan(0);
    const exceeded = {
      eval_time: '2h',
      alertname: 'LicenseEntitlementExceeded',
      exp_alerts: over.map((e) => ({
        exp_labels: { ...labelsOf('kensus_entitlement_used', e), severity: 'critical', team: 'compliance' },
        exp_annotations: { summary: `${e.product} uses more licences than owned`, description: `${e.used} ${e.usageMetric} in use.` },
      })),
    };
    const unlicensedAlert = {
      eval_time: '25h',
      alertname: 'NamespaceUsingUnlicensedSoftware',
      exp_alerts: unlicensed.map((e) => ({
        exp_labels: { ...labelsOf('kensus_unlicensed_installations', e), severity: 'critical', team: 'compliance' },
        exp_annotations: { summary: 'Unlicensed software detected in Kubernetes', description: `${e.product} is in use without any entitlement.` },
      })),
    };
    const dir = mkdtempSync(join(tmpdir(), 'kensus-alerts-'));
    try {
      const tests = {
        rule_files: [resolve('deploy/prometheus/kensus-rules.yml')],
        evaluation_interval: '1h',
        tests: [
          {
            interval: '1h',
            input_series: input,
            alert_rule_test: [exceeded, unlicensedAlert],
          },
        ],
      };
      writeFileSync(join(dir, 'scrape.test.yml'), stringify(tests));
      const run = spawnSync('/usr/bin/promtool', ['test', 'rules', 'scrape.test.yml'], { cwd: dir, encoding: 'utf8' });
      expect(run.status, run.stdout + run.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kensus serve', () => {
  it('a scrape of /metrics after a sweep holds every usage and entitlement row', async () => {
    const set = await loadSignatureSet();
    const server = await startServer({ host: '127.0.0.1', port: 0, admission: { set, policy: parsePolicy('mode: warn'), entitled: () => true }, sweep: async () => report });
    try {
      for (let i = 0; i < 100 && !server.current(); i++) await new Promise((r) => setTimeout(r, 50));
      const scraped = parse(await (await fetch(`${server.url}/metrics`)).text()).filter((s) => !s.name.startsWith('process_') && !s.name.startsWith('nodejs_'));
      const usage = scraped.filter((s) => s.name === 'kensus_license_usage');
      expect(usage.length).toBe(report.usage.length);
      for (const row of report.usage) {
        expect(usage.filter((s) => key(s.labels) === key({ product_id: row.productId, product: row.productName, metric: row.metric, scope: row.scope, sku: row.sku ?? '', cloudpak_id: row.cloudpakId ?? '', cluster: 'prod-cluster-1' })).map((s) => s.value)).toEqual([row.quantity]);
      }
      const used = scraped.filter((s) => s.name === 'kensus_entitlement_used');
      expect(used.map((s) => s.value).sort((a, b) => a - b)).toEqual(report.entitlements!.map((e) => e.used).sort((a, b) => a - b));
    } finally {
      await server.close();
    }
  });
});
