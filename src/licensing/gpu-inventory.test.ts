import { describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { testClusterObjects } from '../../test/support/cluster-objects.js';
import { buildInventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import { buildClusterReport } from '../report/cluster.js';
import { renderTable } from '../report/table.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { computeUsage } from './usage.js';
import { createMetrics } from '../server/metrics.js';

describe('GPU inventory by SKU', () => {
  it('lists every GPU by SKU and says which of them run NVAIE-gated software', async () => {
    // The test cluster without the NIM on the A100 MIG node: its GPUs are there, unlicensed.
    const { nodes, pods } = testClusterObjects();
    const set = await loadSignatureSet();
    const inv = await buildInventory(
      buildClusterModel(nodes, pods.filter((p) => (p.metadata as { name: string }).name !== 'nim-mig'), 'snapshot'),
      { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) },
      { metadataOnly: true },
    );
    const figures = computeUsage(inv);
    expect(figures.gpuSkus.map((r) => [r.sku, r.gpus, r.nvaieGatedGpus, r.nvaieGatedNodes])).toEqual([
      ['NVAIE-A100', 2, 0, []],
      ['NVAIE-H100', 8, 8, ['gpu-h100']],
      [null, 2, 0, []],
    ]);
    const text = renderTable(buildClusterReport(inv, figures, null, { version: '0.1.0' }));
    expect(text).not.toContain('GPU SKUS');
    const section = text.slice(text.indexOf('GPU INVENTORY BY SKU'));
    expect(section.split('\n')[1]).toMatch(/^SKU\s+GPUS\s+NODES\s+NVAIE-GATED GPUS\s+GATED NODES$/);
    expect(section).toMatch(/NVAIE-A100\s+2\s+gpu-mig\s+0\s+-/);
    expect(section).toMatch(/NVAIE-H100\s+8\s+gpu-h100\s+8\s+gpu-h100/);
    const m = createMetrics();
    m.update(buildClusterReport(inv, figures, null, { version: '0.1.0', clusterId: 'c1' }));
    const metrics = await m.registry.metrics();
    expect(metrics).toMatch(/kensus_gpu_sku_nvaie_gated_gpus\{sku="NVAIE-A100",cluster="c1"\} 0/);
    expect(metrics).toMatch(/kensus_gpu_sku_nvaie_gated_gpus\{sku="NVAIE-H100",cluster="c1"\} 8/);
  });
});
