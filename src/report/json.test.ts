import { describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { testClusterObjects } from '../../test/support/cluster-objects.js';
import { buildInventory } from '../inventory/inventory.js';
import { computeUsage } from '../licensing/usage.js';
import { loadGpuSkuMap } from '../licensing/gpu.js';
import { loadCoreFactors } from '../licensing/metrics.js';
import { emptyReport } from '../model/report.js';
import { buildClusterReport } from './cluster.js';
import { jsonPieces } from './json.js';

const whole = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const pieces = (value: object) => [...jsonPieces(value)].join('');

describe('the JSON report in pieces', () => {
  it('is byte for byte what JSON.stringify(report, null, 2) prints', async () => {
    const { nodes, pods } = testClusterObjects();
    const inv = await buildInventory(buildClusterModel(nodes, pods, 'snapshot'), {}, { metadataOnly: true });
    const figures = computeUsage(inv, { gpuSkuMap: loadGpuSkuMap(undefined), coreFactors: loadCoreFactors(undefined), openshift: 'auto' });
    const report = buildClusterReport(inv, figures, null, { version: '1.2.3', now: new Date('2026-01-02T03:04:05Z') });
    expect(report.containers.length).toBeGreaterThan(10);
    expect(pieces(report)).toBe(whole(report));
    expect(pieces(emptyReport('1.2.3'))).toBe(whole(emptyReport('1.2.3')));
  });

  it('keeps JSON.stringify’s rules for odd values', () => {
    const odd = {
      gone: undefined,
      fn: () => 1,
      list: [1, undefined, 'a\nb "q" ü', { deep: [{ x: null }], empty: [] }, []],
      empty: [],
      nested: { a: { b: [1, { c: 'd' }] } },
      last: 'x',
    };
    expect(pieces(odd)).toBe(whole(odd));
    expect(pieces({})).toBe(whole({}));
    expect(pieces({ only: undefined })).toBe(whole({ only: undefined }));
  });
});
