import { describe, expect, it } from 'vitest';
import { licenseServiceNdiName, renderLicenseServiceNdi } from './ndi.js';
import type { DayData } from './types.js';

// The ServiceProvider block of ibm-license-service-inventory.txt ("The uploaded inventory
// format"), copied with its dummy data; the reference wraps lines "for presentation".
const referenceBlock = `
<ServiceProvider Type="IBM License Service" LastInventoryResult="0"
        LastInventoryError="" Name="d8259158-fdfe-4ba3-ae28-be62a51df7f9">
    <Property Name="Version" Value="1.6.0"/>
    <Property Name="BuildDate" Value="Mon Jul 12 16:45:52 UTC 2021"/>
    <Property Name="IncompleteAnnotationCount" Value="0"/>
    <Property Name="IncompleteAnnotationPods" Value=""/>
    <Property Name="StartDate" Value="2021-07-24"/>
    <Property Name="EndDate" Value="2021-07-25"/>
    <Product date="2021-07-24T00:00:00Z" id="eb9998dcc5d24e3eb5b6fb488f750fe2"
        name="IBM Cloud Pak for Data" metricName="VIRTUAL_PROCESSOR_CORE"
        metricQuantity="2" clusterid="d8259158-fdfe-4ba3-ae28-be62a51df7f9"/>
    <BundledProduct date="2021-07-24T00:00:00Z"
        cloudpakId="eb9998dcc5d24e3eb5b6fb488f750fe2"
        cloudpakName="IBM Cloud Pak for Data" cloudpakVersion="3.2.1"
        productId="fb1b19783983ec76198729a9b945723"
        productName="IBM Cloud Pak for Data Control Plane"
        metricName="VIRTUAL_PROCESSOR_CORE"
        cloudpakMetricName="VIRTUAL_PROCESSOR_CORE" metricConversion="1:1"
        metricConvertedQuantity="2" metricMeasuredQuantity="2"
        clusterid="d8259158-fdfe-4ba3-ae28-be62a51df7f9"/>
    <Product date="2021-07-25T00:00:00Z" id="eb9998dcc5d24e3eb5b6fb488f750fe2"
        name="IBM Cloud Pak for Data" metricName="VIRTUAL_PROCESSOR_CORE"
        metricQuantity="2" clusterid="d8259158-fdfe-4ba3-ae28-be62a51df7f9"/>
    <BundledProduct date="2021-07-25T00:00:00Z"
        cloudpakId="eb9998dcc5d24e3eb5b6fb488f750fe2"
        cloudpakName="IBM Cloud Pak for Data" cloudpakVersion="3.2.1"
        productId="fb1b19783983ec76198729a9b945723"
        productName="IBM Cloud Pak for Data Control Plane"
        metricName="VIRTUAL_PROCESSOR_CORE"
        cloudpakMetricName="VIRTUAL_PROCESSOR_CORE" metricConversion="1:1"
        metricConvertedQuantity="2" metricMeasuredQuantity="2"
        clusterid="d8259158-fdfe-4ba3-ae28-be62a51df7f9"/>
</ServiceProvider>`;

const clusterId = 'd8259158-fdfe-4ba3-ae28-be62a51df7f9';

/** What the License Service API answers for one of those days (its own field names). */
const exampleDay: DayData = {
  products: [{ id: 'eb9998dcc5d24e3eb5b6fb488f750fe2', name: 'IBM Cloud Pak for Data', metricName: 'VIRTUAL_PROCESSOR_CORE', metricQuantity: 2, metricPeakDate: '2021-07-24' }],
  bundledProducts: [
    {
      productId: 'fb1b19783983ec76198729a9b945723', productName: 'IBM Cloud Pak for Data Control Plane', cloudpakId: 'eb9998dcc5d24e3eb5b6fb488f750fe2',
      cloudpakName: 'IBM Cloud Pak for Data', cloudpakVersion: '3.2.1', metricName: 'VIRTUAL_PROCESSOR_CORE', cloudpakMetricName: 'VIRTUAL_PROCESSOR_CORE',
      metricMeasuredQuantity: 2, metricConversion: '1:1', metricConvertedQuantity: 2, metricPeakDate: '2021-07-24',
    },
  ],
};

/** One line per element, attributes separated by single spaces. */
function normalise(xml: string): string[] {
  return xml
    .replace(/\s+/g, ' ')
    .replace(/\s*(\/?>)/g, '$1')
    .replace(/>\s*</g, '>\n<')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

function block(xml: string): string {
  return xml.slice(xml.indexOf('<ServiceProvider'), xml.indexOf('</ServiceProvider>') + '</ServiceProvider>'.length);
}

const base = {
  clusterId,
  at: new Date('2021-07-26T01:00:00Z'),
  toolVersion: '0.1.0',
  service: { version: '1.6.0', buildDate: 'Mon Jul 12 16:45:52 UTC 2021' },
  health: { incompleteAnnotationCount: 0, incompleteAnnotationPods: [] },
  healthError: null,
};

describe('.ndi of License Service data', () => {
  it('is named as the reference names it', () => {
    expect(licenseServiceNdiName('1656883d-5a2e-4b4e-8f38-2f4a7e7d6c11', new Date('2021-07-26T01:00:00Z'))).toBe('k8s-ibm-licensing-1656883d-20210726T010000.ndi');
  });

  it('one day: the reference block, element for element and attribute for attribute', () => {
    const xml = renderLicenseServiceNdi({ ...base, period: { start: '2021-07-24', end: '2021-07-24' }, days: new Map([['2021-07-24', exampleDay]]) });
    const want = normalise(referenceBlock);
    // The reference's StartDate 2021-07-24 / EndDate 2021-07-25 means one day: its first day's rows.
    expect(normalise(block(xml))).toEqual([...want.slice(0, 9), want.at(-1)]);
  });

  it('two days: every Product and BundledProduct row of the reference, EndDate the day after the last', () => {
    const day2 = structuredClone(exampleDay);
    const xml = renderLicenseServiceNdi({ ...base, period: { start: '2021-07-24', end: '2021-07-25' }, days: new Map([['2021-07-24', exampleDay], ['2021-07-25', day2]]) });
    const want = normalise(referenceBlock).map((l) => l.replace('<Property Name="EndDate" Value="2021-07-25"/>', '<Property Name="EndDate" Value="2021-07-26"/>'));
    expect(normalise(block(xml))).toEqual(want);
  });

  it('sits in a Kensus Inventory root for the cluster', () => {
    const xml = renderLicenseServiceNdi({ ...base, period: { start: '2021-07-24', end: '2021-07-24' }, days: new Map([['2021-07-24', exampleDay]]) });
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\s*<Inventory Tracker="Kensus" TrackerVersion="0\.1\.0" Type="Cluster" Name="d8259158-fdfe-4ba3-ae28-be62a51df7f9" DateTime="20210726T010000" ClusterID="d8259158-fdfe-4ba3-ae28-be62a51df7f9">/);
  });

  it('a day without rows is still part of the range; days outside it are left out', () => {
    const xml = renderLicenseServiceNdi({
      ...base,
      period: { start: '2021-07-24', end: '2021-07-25' },
      days: new Map([['2021-07-23', exampleDay], ['2021-07-24', { products: [], bundledProducts: [] }], ['2021-07-25', exampleDay]]),
    });
    expect(xml).toContain('<Property Name="StartDate" Value="2021-07-24"/>');
    expect(xml).toContain('<Property Name="EndDate" Value="2021-07-26"/>');
    expect(xml.match(/date="2021-07-2\dT00:00:00Z"/g)).toEqual(['date="2021-07-25T00:00:00Z"', 'date="2021-07-25T00:00:00Z"']);
  });

  it('escapes what the service sends (names are data, not markup)', () => {
    const odd: DayData = { products: [{ ...exampleDay.products[0], name: 'A "quoted" <name> & co' }], bundledProducts: [] };
    const xml = renderLicenseServiceNdi({ ...base, period: { start: '2021-07-24', end: '2021-07-24' }, days: new Map([['2021-07-24', odd]]) });
    expect(xml).toContain('name="A &quot;quoted&quot; &lt;name&gt; &amp; co"');
  });
});
