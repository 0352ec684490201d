import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { testClusterObjects } from '../../test/support/cluster-objects.js';
import { buildInventory, type Inventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import { computeUsage } from '../licensing/usage.js';
import type { ClusterReport } from '../model/report.js';
import { createMetrics } from '../server/metrics.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { buildClusterReport } from './cluster.js';

let inv: Inventory;
let report: ClusterReport;
beforeAll(async () => {
  const { nodes, pods } = testClusterObjects();
  const set = await loadSignatureSet();
  inv = await buildInventory(buildClusterModel(nodes, pods, 'snapshot'), { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) }, { metadataOnly: true });
  report = buildClusterReport(inv, computeUsage(inv), null, { version: '0.0.0', now: new Date('2026-11-23T10:00:00Z') });
});

describe('finished pods', () => {
  it('are not among the containers of the report, but apart with their phase', () => {
    // db/oracle-done is Succeeded: it ran Oracle once and runs nothing now.
    expect(report.containers.some((c) => c.pod === 'oracle-done')).toBe(false);
    expect(report.finishedContainers.map((c) => [c.pod, c.phase, c.products.map((p) => p.id)])).toEqual([['oracle-done', 'Succeeded', ['oracle-database']]]);
    // A Pending pod is listed (it is bound and may start), but not as running.
    const pending = report.containers.find((c) => c.pod === 'mq-pending')!;
    expect([pending.phase, pending.running]).toEqual(['Pending', false]);
    expect(report.containers.find((c) => c.pod === 'mq-1')!.running).toBe(true);
  });

  it('count in no metric of running containers', async () => {
    const m = createMetrics();
    m.update(report);
    const text = await m.registry.metrics();
    const series = text.split('\n').filter((l) => l.startsWith('kensus_product_containers{'));
    const total = series.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const running = report.containers.filter((c) => c.running).reduce((a, c) => a + c.products.length, 0);
    expect(total).toBe(running);
    expect(series.filter((l) => l.includes('node="gpu-nolabel"') && l.includes('product_id="oracle-database"'))).toEqual([]);
    expect(series.filter((l) => l.includes('namespace="mq"') && l.includes('product_id="ibm-mq"')).map((l) => l.slice(l.lastIndexOf(' ') + 1))).toEqual(['3', '1']);
  });
});

describe('nodes', () => {
  it('carry OS image, instance type and, for OpenShift, why each was counted or excluded', async () => {
    const { nodes, pods } = testClusterObjects();
    for (const n of nodes as Array<{ metadata: { name: string; labels: Record<string, string> }; status: { nodeInfo: Record<string, string> } }>) {
      n.status.nodeInfo.osImage = 'Red Hat Enterprise Linux CoreOS 416.94.202406251923-0';
      n.metadata.labels['node.openshift.io/os_id'] = 'rhcos';
      if (n.metadata.name === 'gpu-h100') n.metadata.labels['node.kubernetes.io/instance-type'] = 'p5.48xlarge';
    }
    const set = await loadSignatureSet();
    const ocp = await buildInventory(buildClusterModel(nodes, pods, 'snapshot'), { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) }, { metadataOnly: true });
    const r = buildClusterReport(ocp, computeUsage(ocp), null, { version: '0.0.0' });
    const node = (name: string) => r.nodes.find((n) => n.name === name)!;
    expect([node('gpu-h100').osImage, node('gpu-h100').instanceType, node('plain-1').instanceType]).toEqual(['Red Hat Enterprise Linux CoreOS 416.94.202406251923-0', 'p5.48xlarge', null]);
    expect(node('cp-1').openshift).toEqual({ counted: false, reason: 'control plane: excluded (worker nodes only; --openshift-all-nodes counts it)', vcpu: 4, htFactor: 2, cores: 2 });
    expect(node('gpu-h100').openshift).toEqual({ counted: true, reason: 'worker: counted', vcpu: 64, htFactor: 2, cores: 32 });
    // Not OpenShift: no OpenShift figures, so no reason either.
    expect(report.nodes.every((n) => n.openshift === undefined)).toBe(true);
    expect(report.nodes.find((n) => n.name === 'gpu-h100')!.osImage).toBeNull();
  });

  it('the text table prints no null%', async () => {
    const { renderTable } = await import('./table.js');
    const { reconcile } = await import('../licensing/entitlements.js');
    const figures = computeUsage(inv);
    const ents = reconcile([{ product: 'IBM MQ Advanced', metric: 'VPC', quantity: 0 }], figures.usage, inv);
    const text = renderTable(buildClusterReport(inv, figures, ents, { version: '0.0.0' }));
    expect(text).toContain('ENTITLEMENTS');
    expect(text).not.toMatch(/null%/);
    expect(text).toMatch(/IBM MQ Advanced\s+VPC\s+9\s+0\s+-\s+over/);
  });
});
