import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { testClusterObjects } from '../../test/support/cluster-objects.js';
import { buildInventory } from '../inventory/inventory.js';
import { combinedMatcher, patternMetadataMatcher } from '../inventory/metadata.js';
import { computeUsage } from '../licensing/usage.js';
import type { ClusterReport } from '../model/report.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import { buildClusterReport } from './cluster.js';
import { renderIbmLicensingNdi } from './ndi.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['Product', 'BundledProduct', 'Property'].includes(name) });
let report: ClusterReport;

beforeAll(async () => {
  const { nodes, pods } = testClusterObjects();
  const set = await loadSignatureSet();
  const inv = await buildInventory(buildClusterModel(nodes, pods, 'snapshot'), { matchMetadata: combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher) }, { metadataOnly: true });
  report = buildClusterReport(inv, computeUsage(inv), null, { version: '0.1.0', clusterId: 'd8259158-fdfe-4ba3-ae28-be62a51df7f9', now: new Date('2021-07-24T01:00:00Z') });
});

function serviceProvider(r: ClusterReport) {
  const sp = parser.parse(renderIbmLicensingNdi(r)).Inventory.ServiceProvider;
  return { sp, props: Object.fromEntries(sp.Property.map((p: { Name: string; Value: string }) => [p.Name, p.Value])) as Record<string, string> };
}

describe('the IBM licensing .ndi of figures Kensus computed', () => {
  it('says Kensus computed them; it does not pose as IBM License Service', () => {
    const { sp, props } = serviceProvider(report);
    expect(sp.Type).not.toBe('IBM License Service');
    expect(sp.Type).toBe('Kensus');
    expect(props.Version).toBe('0.1.0');
    expect(props.Source).toMatch(/computed by Kensus .*annotations.*IBM License Service was not queried/i);
    // No empty property: BuildDate is IBM License Service's, which Kensus does not have.
    expect(Object.entries(props).filter(([k, v]) => v === '' && k !== 'IncompleteAnnotationPods')).toEqual([]);
    expect('BuildDate' in props).toBe(false);
    expect([sp.LastInventoryResult, sp.LastInventoryError]).toEqual(['0', '']);
    expect(props).toMatchObject({ StartDate: '2021-07-24', EndDate: '2021-07-25' });
  });

  it('puts real failures into the result and error properties', () => {
    const failed: ClusterReport = { ...report, errors: [{ target: 'registry.example.com/ibm/db2:11.5', message: 'registry unreachable (check the network)' }, { target: 'db2/db2-0/db2', message: 'forbidden' }] };
    const { sp } = serviceProvider(failed);
    expect(sp.LastInventoryResult).toBe('2');
    expect(sp.LastInventoryError).toBe('2 targets could not be scanned: registry.example.com/ibm/db2:11.5: registry unreachable (check the network); db2/db2-0/db2: forbidden');
  });
});
