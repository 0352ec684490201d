import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runScanCluster } from '../cli/scan-cluster.js';
import { testClusterList } from '../../test/support/cluster-objects.js';
import type { Report } from '../model/report.js';
import { parseCsv } from './csv.js';
import { renderFormat } from './formats.js';

let dir: string;
let report: Report;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kensus-formats-'));
  const snapshot = join(dir, 'cluster.json');
  await writeFile(snapshot, JSON.stringify(testClusterList()));
  const ents = join(dir, 'ent.yaml');
  await writeFile(ents, stringify({ entitlements: [{ product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, 'alert-threshold': 85 }] }));
  ({ report } = await runScanCluster({
    snapshot,
    metadataOnly: true,
    openshift: true,
    entitlements: ents,
    clusterId: '1656883d-fdfe-4ba3-ae28-be62a51df7f9',
    now: new Date('2021-07-26T01:00:00Z'),
  }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** (productId, metric, scope, sku) → quantity, from the JSON report. */
function usageKeyed(r: Report): Map<string, number> {
  return new Map(r.usage.map((u) => [`${u.productId}|${u.metric}|${u.scope}|${(u.sku as string | null | undefined) ?? ''}`, u.quantity]));
}

describe('CSV', () => {
  it('writes a directory of tables holding the same numbers as the JSON', async () => {
    const files = (await renderFormat('csv', report)) as Map<string, string>;
    expect([...files.keys()].sort()).toEqual(['containers.csv', 'entitlements.csv', 'errors.csv', 'gpu-skus.csv', 'images.csv', 'namespaces.csv', 'nodes.csv', 'usage.csv']);
    const [header, ...rows] = parseCsv(files.get('usage.csv')!);
    expect(header.slice(0, 7)).toEqual(['productId', 'productName', 'metric', 'quantity', 'pvu', 'scope', 'sku']);
    const fromCsv = new Map(rows.map((r) => [`${r[0]}|${r[2]}|${r[5]}|${r[6]}`, Number(r[3])]));
    expect(fromCsv).toEqual(usageKeyed(report));
    const rule = rows.find((r) => r[1] === 'IBM Cloud Pak for Integration')![9];
    expect(rule).toContain(','); // quoted commas survive the round trip
    const gpus = parseCsv(files.get('gpu-skus.csv')!).slice(1);
    expect(gpus).toEqual([['NVAIE-A100', '2', 'gpu-mig'], ['NVAIE-H100', '8', 'gpu-h100'], ['', '2', 'gpu-nolabel']]);
    const ents = parseCsv(files.get('entitlements.csv')!);
    expect(ents.find((r) => r[0] === 'IBM MQ Advanced')!.slice(2, 7)).toEqual(['9', '10', '90', '85', 'warning']);
  });
});

describe('.ndi', () => {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['Product', 'BundledProduct', 'Property', 'Instance', 'Installer', 'Evidence'].includes(name) });

  it('writes the IBM ServiceProvider block as the reference, one file per node and per image', async () => {
    const files = (await renderFormat('ndi', report)) as Map<string, string>;
    const names = [...files.keys()];
    expect(names).toContain('k8s-ibm-licensing-1656883d-20210726T010000.ndi');
    expect(names.filter((n) => n.startsWith('k8s-node-1656883d-')).length).toBe(report.nodes.length);
    expect(names.filter((n) => n.startsWith('k8s-image-1656883d-')).length).toBe(report.images.length);

    const doc = parser.parse(files.get('k8s-ibm-licensing-1656883d-20210726T010000.ndi')!);
    const sp = doc.Inventory.ServiceProvider;
    // Kensus computed these figures itself: the block says so (src/report/ndi.test.ts).
    expect(sp.Type).toBe('Kensus');
    expect(sp.Name).toBe('1656883d-fdfe-4ba3-ae28-be62a51df7f9');
    const props = Object.fromEntries(sp.Property.map((p: { Name: string; Value: string }) => [p.Name, p.Value]));
    expect(props).toMatchObject({ StartDate: '2021-07-26', EndDate: '2021-07-27', IncompleteAnnotationCount: '0' });
    const products = new Map<string, Record<string, string>>(sp.Product.map((p: Record<string, string>) => [p.name, p]));
    expect(products.get('IBM MQ Advanced')).toMatchObject({ date: '2021-07-26T00:00:00Z', metricName: 'VIRTUAL_PROCESSOR_CORE', metricQuantity: '9', clusterid: '1656883d-fdfe-4ba3-ae28-be62a51df7f9' });
    expect(products.get('IBM App Connect Enterprise')).toMatchObject({ metricName: 'PROCESSOR_VALUE_UNIT', metricQuantity: '140' });
    expect(products.get('IBM Db2')!.metricQuantity).toBe('10');
    expect(products.get('IBM Cloud Pak for Integration')).toMatchObject({ id: 'c8b82d189e7545f0892db9ef2731b90d', metricQuantity: '7' });
    const bundled = sp.BundledProduct.map((b: Record<string, string>) => [b.productName, b.metricConversion, b.metricMeasuredQuantity, b.metricConvertedQuantity, b.cloudpakName, b.cloudpakVersion]);
    expect(bundled).toEqual([
      ['IBM API Connect', '3:1', '9', '3', 'IBM Cloud Pak for Integration', '2023.4.1'],
      ['IBM Event Streams', '1:1', '4', '4', 'IBM Cloud Pak for Integration', '2023.4.1'],
    ]);
    // Every IBM usage row of the JSON is in the file with the same quantity.
    const ibmRows = report.usage.filter((u) => u.vendor === 'IBM');
    expect(sp.Product.length + sp.BundledProduct.length).toBe(ibmRows.length);
  });

  it('holds node hardware, GPU SKUs and products', async () => {
    const files = (await renderFormat('ndi', report)) as Map<string, string>;
    const doc = parser.parse(files.get('k8s-node-1656883d-gpu-h100-20210726T010000.ndi')!);
    const inst = doc.Inventory.Hardware.Instance as Array<{ Class: string; Property: Array<{ Name: string; Value: string }> }>;
    const props = (cls: string) => Object.fromEntries(inst.find((i) => i.Class === cls)!.Property.map((p) => [p.Name, p.Value]));
    expect(props('ComputerSystem')).toMatchObject({ Name: 'gpu-h100', NumberOfLogicalProcessors: '64' });
    expect(props('GPU')).toMatchObject({ Product: 'NVIDIA-H100-80GB-HBM3', Count: '8', SKU: 'NVAIE-H100' });
    const installed = doc.Inventory.Content.Installer.map((i: Record<string, string>) => i.ProductID).sort();
    expect(installed).toEqual(report.nodes.find((n) => n.name === 'gpu-h100')!.products.map((p) => p.id).sort());
  });
});

describe('CycloneDX', () => {
  async function validateCdx(json: unknown): Promise<string[]> {
    // The official CycloneDX 1.6 schema shipped inside @cyclonedx/cyclonedx-library.
    const require = createRequire(import.meta.url);
    const res = join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
    const load = async (f: string) => JSON.parse(await readFile(join(res, f), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, allErrors: true });
    (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
    ajv.addFormat('iri-reference', true);
    ajv.addFormat('idn-email', /^\S+@\S+$/);
    for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json', 'cryptography-defs.SNAPSHOT.schema.json']) {
      ajv.addSchema({ ...(await load(f)), $id: `http://cyclonedx.org/schema/${f}` });
    }
    const validate = ajv.compile(await load('bom-1.6.SNAPSHOT.schema.json'));
    return validate(json) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  }

  it('is valid CycloneDX 1.6 and holds the same numbers', async () => {
    const text = (await renderFormat('cyclonedx', report)) as string;
    const bom = JSON.parse(text);
    expect(bom.specVersion).toBe('1.6');
    expect(await validateCdx(bom)).toEqual([]);
    const props = new Map<string, string>(bom.metadata.properties.map((p: { name: string; value: string }) => [p.name, p.value]));
    const fromCdx = new Map<string, number>();
    for (let i = 0; props.has(`kensus:usage:${i}:productId`); i++) {
      const g = (f: string) => props.get(`kensus:usage:${i}:${f}`) ?? '';
      fromCdx.set(`${g('productId')}|${g('metric')}|${g('scope')}|${g('sku')}`, Number(g('quantity')));
    }
    expect(fromCdx).toEqual(usageKeyed(report));
    expect(props.get('kensus:gpuSku:1:sku')).toBe('NVAIE-H100');
    expect(props.get('kensus:gpuSku:1:gpus')).toBe('8');
    const node = bom.components.find((c: { name: string; type: string }) => c.name === 'gpu-mig' && c.type === 'device');
    const nodeProps = Object.fromEntries(node.properties.map((p: { name: string; value: string }) => [p.name, p.value]));
    expect(nodeProps).toMatchObject({ 'kensus:cpu': '32', 'kensus:gpu:0:count': '2', 'kensus:gpu:0:sku': 'NVAIE-A100' });
    const images = bom.components.filter((c: { type: string }) => c.type === 'container');
    expect(images.length).toBe(report.images.length);
    const nim = images.find((c: { name: string }) => c.name.startsWith('nvcr.io/nim/'));
    expect(nim.components.map((c: { name: string }) => c.name)).toContain('NVIDIA NIM');
  });

  it('fails validation for a broken document (the validator is real)', async () => {
    expect((await validateCdx({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'nonsense', name: 'x' }] })).length).toBeGreaterThan(0);
  });
});
