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
