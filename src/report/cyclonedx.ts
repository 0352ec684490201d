import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import type { ProductFinding } from '../model/finding.js';
import type { Report } from '../model/report.js';
import { withoutDigest } from '../model/image-name.js';

/**
 * CycloneDX 1.6 JSON, built with @cyclonedx/cyclonedx-library's model and serializer:
 * - metadata.component: the cluster (type platform);
 * - one component per image (type container, version = digest) with the products found in it
 *   as nested components (type application, publisher = vendor);
 * - one component per node (type device) with CPU and GPU/SKU properties, the products running
 *   on it nested;
 * - the licence figures as metadata properties `kensus:usage:<n>:<field>` and GPU SKUs as
 *   `kensus:gpuSku:<n>:<field>`, so the same numbers as the JSON, CSV and .ndi are held here.
 */
const PREFIX = 'kensus';

function prop(props: Models.PropertyRepository, name: string, value: unknown): void {
  if (value === undefined || value === null || value === '') return;
  props.add(new Models.Property(`${PREFIX}:${name}`, typeof value === 'object' ? JSON.stringify(value) : String(value)));
}

function productComponent(p: ProductFinding, ref: string): Models.Component {
  const c = new Models.Component(Enums.ComponentType.Application, p.product, {
    bomRef: ref,
    publisher: p.vendor,
    version: p.version ?? undefined,
  });
  prop(c.properties, 'productId', p.id);
  prop(c.properties, 'edition', p.edition);
  prop(c.properties, 'licenseMetric', p.licenseMetric);
  prop(c.properties, 'licensable', p.licensable === null ? 'unknown' : p.licensable);
  prop(c.properties, 'confidence', p.confidence);
  p.evidence.forEach((e, i) => prop(c.properties, `evidence:${i}`, `${e.kind} ${e.rule}${e.path ? ` ${e.path}` : ''}${e.value ? ` = ${e.value}` : ''}`));
  return c;
}

export function buildBom(report: Report): Models.Bom {
  const cluster = report.cluster as { id?: string; name?: string | null } | undefined;
  const bom = new Models.Bom();
  bom.metadata.timestamp = new Date(report.scannedAt);
  const tool = new Models.Component(Enums.ComponentType.Application, 'kensus', { version: report.tool.version, bomRef: 'tool:kensus' });
  bom.metadata.tools.components.add(tool);
  bom.metadata.component = new Models.Component(Enums.ComponentType.Platform, cluster?.name ?? cluster?.id ?? 'kubernetes', { bomRef: 'cluster' });
  if (cluster?.id) prop(bom.metadata.component.properties, 'clusterId', cluster.id);

  report.usage.forEach((u, i) => {
    const p = bom.metadata.properties;
    prop(p, `usage:${i}:productId`, u.productId);
    prop(p, `usage:${i}:productName`, u.productName);
    prop(p, `usage:${i}:metric`, u.metric);
    prop(p, `usage:${i}:quantity`, u.quantity);
    prop(p, `usage:${i}:pvu`, u.pvu);
    prop(p, `usage:${i}:scope`, u.scope);
    prop(p, `usage:${i}:sku`, u.sku);
    prop(p, `usage:${i}:cloudpakId`, u.cloudpakId);
    prop(p, `usage:${i}:rule`, u.rule);
  });
  report.gpuSkus.forEach((g, i) => {
    prop(bom.metadata.properties, `gpuSku:${i}:sku`, g.sku ?? 'unknown');
    prop(bom.metadata.properties, `gpuSku:${i}:gpus`, g.gpus);
    prop(bom.metadata.properties, `gpuSku:${i}:nodes`, g.nodes.join(' '));
  });
  const ents = report.entitlements as Array<Record<string, unknown>> | undefined;
  ents?.forEach((e, i) => {
    for (const k of ['product', 'metric', 'used', 'owned', 'percentage', 'status']) prop(bom.metadata.properties, `entitlement:${i}:${k}`, e[k]);
  });

  report.images.forEach((img, i) => {
    const c = new Models.Component(Enums.ComponentType.Container, withoutDigest(img.ref), { bomRef: `image:${i}`, version: img.digest });
    prop(c.properties, 'ref', img.ref);
    img.products.forEach((p, j) => c.components.add(productComponent(p, `image:${i}:product:${j}`)));
    bom.components.add(c);
  });
  report.nodes.forEach((n, i) => {
    const c = new Models.Component(Enums.ComponentType.Device, n.name, { bomRef: `node:${i}` });
    prop(c.properties, 'cpu', n.cpu);
    n.gpus.forEach((g, j) => {
      prop(c.properties, `gpu:${j}:product`, g.product ?? 'unknown');
      prop(c.properties, `gpu:${j}:count`, g.count);
      prop(c.properties, `gpu:${j}:sku`, g.sku ?? 'unknown');
    });
    n.products.forEach((p, j) => c.components.add(productComponent(p, `node:${i}:product:${j}`)));
    bom.components.add(c);
  });
  return bom;
}

export function renderCycloneDx(report: Report): string {
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return serializer.serialize(buildBom(report), { space: 2, sortLists: false }) + '\n';
}
