import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { ProductFinding } from '../model/finding.js';
import type { Report, UsageRow } from '../model/report.js';

/**
 * Flexera-compatible inventory files (.ndi, XML):
 * - `k8s-ibm-licensing-<shortClusterID>-<timestamp>.ndi`: the IBM License Service data in a
 *   ServiceProvider block, shaped exactly as in ibm-license-service-inventory.txt (Product and
 *   BundledProduct elements with date and clusterid attributes);
 * - `k8s-node-<shortClusterID>-<node>-<timestamp>.ndi`: one per node, its hardware (CPU, memory,
 *   GPUs with SKU) and the products running on it;
 * - `k8s-image-<shortClusterID>-<digest12>-<timestamp>.ndi`: one per image, its products.
 * Timestamps are the scan time in UTC, yyyymmddThhmmss as in the reference's example.
 */
export function ndiTimestamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '').replace(/Z$/, '');
}

export function shortClusterId(id: string): string {
  return id.replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toLowerCase() || 'cluster';
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

function clusterOf(report: Report): { id: string; name: string | null } {
  const c = report.cluster as { id?: string; name?: string | null } | undefined;
  return { id: c?.id ?? 'unknown', name: c?.name ?? null };
}

function inventoryRoot(report: Report, type: string, name: string): XMLBuilder {
  return create({ version: '1.0', encoding: 'UTF-8' }).ele('Inventory', {
    Tracker: 'Kensus',
    TrackerVersion: report.tool.version,
    Type: type,
    Name: name,
    DateTime: ndiTimestamp(report.scannedAt),
    ClusterID: clusterOf(report).id,
  });
}

function property(parent: XMLBuilder, name: string, value: unknown): void {
  parent.ele('Property', { Name: name, Value: value === null || value === undefined ? '' : String(value) }).up();
}

function installers(parent: XMLBuilder, products: ProductFinding[]): void {
  const content = parent.ele('Content');
  for (const p of products) {
    const inst = content.ele('Installer', {
      Product: p.product,
      Publisher: p.vendor,
      Version: p.version ?? '',
      Edition: p.edition ?? '',
      ProductID: p.id,
      LicenseMetric: p.licenseMetric,
      Licensable: p.licensable === null ? 'unknown' : String(p.licensable),
      Confidence: p.confidence,
    });
    for (const e of p.evidence) inst.ele('Evidence', { Kind: e.kind, Path: e.path ?? '', Rule: e.rule, Value: e.value ?? '' }).up();
    inst.up();
  }
  content.up();
}

const IBM_METRICS = new Set(['VIRTUAL_PROCESSOR_CORE', 'PROCESSOR_VALUE_UNIT']);

function isIbmRow(u: UsageRow): boolean {
  return u.vendor === 'IBM' && (u.scope === 'cluster' || u.scope === 'cloudpak' || u.scope === 'bundled-product');
}

/** The ServiceProvider block of ibm-license-service-inventory.txt for the scan's day. */
export function renderIbmLicensingNdi(report: Report): string {
  const { id } = clusterOf(report);
  const day = report.scannedAt.slice(0, 10);
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const date = `${day}T00:00:00Z`;
  const incomplete = (report.ibmIncompleteAnnotationPods as string[] | undefined) ?? [];
  const root = inventoryRoot(report, 'Cluster', id);
  const sp = root.ele('ServiceProvider', { Type: 'IBM License Service', LastInventoryResult: '0', LastInventoryError: '', Name: id });
  property(sp, 'Version', report.tool.version);
  property(sp, 'BuildDate', '');
  property(sp, 'IncompleteAnnotationCount', incomplete.length);
  property(sp, 'IncompleteAnnotationPods', incomplete.join(','));
  property(sp, 'StartDate', day);
  property(sp, 'EndDate', next);
  for (const u of report.usage.filter(isIbmRow)) {
    if (u.scope === 'bundled-product') {
      sp.ele('BundledProduct', {
        date,
        cloudpakId: u.cloudpakId ?? '',
        cloudpakName: (u.cloudpakName as string | null) ?? '',
        cloudpakVersion: (u.cloudpakVersion as string | null) ?? '',
        productId: u.productId,
        productName: u.productName,
        metricName: u.metric,
        cloudpakMetricName: (u.cloudpakMetric as string | undefined) ?? u.metric,
        metricConversion: (u.metricConversion as string | undefined) ?? '1:1',
        metricConvertedQuantity: String(u.metricConvertedQuantity ?? u.quantity),
        metricMeasuredQuantity: String(u.metricMeasuredQuantity ?? u.quantity),
        clusterid: id,
      }).up();
    } else {
      sp.ele('Product', {
        date,
        id: u.productId,
        name: u.productName,
        metricName: u.metric,
        metricQuantity: String(u.quantity),
        clusterid: id,
      }).up();
    }
  }
  return root.end({ prettyPrint: true });
}

export function renderNodeNdi(report: Report, node: Report['nodes'][number]): string {
  const root = inventoryRoot(report, 'Machine', node.name);
  const hw = root.ele('Hardware');
  const cs = hw.ele('Instance', { Class: 'ComputerSystem' });
  property(cs, 'Name', node.name);
  property(cs, 'NumberOfLogicalProcessors', node.cpu);
  property(cs, 'TotalPhysicalMemory', node.memoryBytes);
  property(cs, 'Architecture', node.architecture);
  property(cs, 'Roles', Array.isArray(node.roles) ? node.roles.join(',') : '');
  property(cs, 'Cluster', clusterOf(report).name ?? clusterOf(report).id);
  cs.up();
  for (const g of node.gpus) {
    const gi = hw.ele('Instance', { Class: 'GPU' });
    property(gi, 'Product', g.product);
    property(gi, 'Count', g.count);
    property(gi, 'SKU', g.sku);
    if (g.mig) property(gi, 'MIG', Object.entries(g.mig).map(([k, v]) => `${k}=${v}`).join(','));
    gi.up();
  }
  hw.up();
  installers(root, node.products);
  return root.end({ prettyPrint: true });
}

export function renderImageNdi(report: Report, image: Report['images'][number]): string {
  const root = inventoryRoot(report, 'ContainerImage', image.ref);
  const hw = root.ele('Hardware');
  const im = hw.ele('Instance', { Class: 'ContainerImage' });
  property(im, 'Reference', image.ref);
  property(im, 'Digest', image.digest);
  im.up();
  hw.up();
  installers(root, image.products);
  return root.end({ prettyPrint: true });
}

/** Every .ndi file of a report: IBM licensing (when there are IBM figures), nodes, images. */
export function renderNdiFiles(report: Report): Map<string, string> {
  const short = shortClusterId(clusterOf(report).id);
  const ts = ndiTimestamp(report.scannedAt);
  const files = new Map<string, string>();
  if (report.usage.some(isIbmRow) || report.usage.some((u) => IBM_METRICS.has(u.metric))) {
    files.set(`k8s-ibm-licensing-${short}-${ts}.ndi`, renderIbmLicensingNdi(report));
  }
  for (const n of report.nodes) files.set(`k8s-node-${short}-${safe(n.name)}-${ts}.ndi`, renderNodeNdi(report, n));
  for (const i of report.images) files.set(`k8s-image-${short}-${i.digest.replace(/^[a-z0-9]+:/, '').slice(0, 12)}-${ts}.ndi`, renderImageNdi(report, i));
  return files;
}
