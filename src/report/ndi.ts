import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { ProductFinding } from '../model/finding.js';
import type { Report, UsageRow } from '../model/report.js';

/**
 * Flexera-compatible inventory files (.ndi, XML):
 * - `k8s-ibm-licensing-<shortClusterID>-<timestamp>.ndi`: the IBM container licensing figures in a
 *   ServiceProvider block shaped as in ibm-license-service-inventory.txt (Product and
 *   BundledProduct elements with date and clusterid attributes). Figures Kensus computed itself
 *   (from pod annotations and CPU limits) say so: Type "Kensus" with Kensus's version, never
 *   "IBM License Service" (whose Version and BuildDate Kensus does not have);
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
  return { id: report.cluster?.id ?? 'unknown', name: report.cluster?.name ?? null };
}

/** The root element every Kensus .ndi file has. */
export function ndiInventoryRoot(attrs: { trackerVersion: string; type: string; name: string; scannedAt: string; clusterId: string }): XMLBuilder {
  return create({ version: '1.0', encoding: 'UTF-8' }).ele('Inventory', {
    Tracker: 'Kensus',
    TrackerVersion: attrs.trackerVersion,
    Type: attrs.type,
    Name: attrs.name,
    DateTime: ndiTimestamp(attrs.scannedAt),
    ClusterID: attrs.clusterId,
  });
}

function inventoryRoot(report: Report, type: string, name: string): XMLBuilder {
  return ndiInventoryRoot({ trackerVersion: report.tool.version, type, name, scannedAt: report.scannedAt, clusterId: clusterOf(report).id });
}

export function ndiProperty(parent: XMLBuilder, name: string, value: unknown): void {
  parent.ele('Property', { Name: name, Value: value === null || value === undefined ? '' : String(value) }).up();
}
const property = ndiProperty;

/** One `Product` element of the ServiceProvider block (attributes in the reference's order). */
export interface NdiIbmProduct {
  date: string;
  id: string;
  name: string;
  metricName: string;
  metricQuantity: number;
}

/** One `BundledProduct` element of the ServiceProvider block. */
export interface NdiIbmBundledProduct {
  date: string;
  cloudpakId: string;
  cloudpakName: string;
  cloudpakVersion: string;
  productId: string;
  productName: string;
  metricName: string;
  cloudpakMetricName: string;
  metricConversion: string;
  metricConvertedQuantity: number;
  metricMeasuredQuantity: number;
}

/** The ServiceProvider block of ibm-license-service-inventory.txt. */
export interface NdiIbmServiceProvider {
  /**
   * Who produced the figures (the Type attribute): 'IBM License Service' (the default, data read
   * from its API) or 'Kensus' (figures Kensus computed itself, which must not pose as the former).
   */
  type?: 'IBM License Service' | 'Kensus';
  clusterId: string;
  lastInventoryResult: number;
  lastInventoryError: string;
  version: string;
  /** The producer's build date; null: it has none, and the property is left out (never empty). */
  buildDate: string | null;
  /** More Property elements, after Version and BuildDate. */
  properties?: Array<[name: string, value: string]>;
  incompleteAnnotationCount: number;
  incompleteAnnotationPods: string[];
  /** First day (inclusive). */
  startDate: string;
  /** The day after the last day (exclusive). */
  endDate: string;
  /** In document order: the reference lists each day's Product then BundledProduct elements. */
  elements: ({ kind: 'product'; row: NdiIbmProduct } | { kind: 'bundled'; row: NdiIbmBundledProduct })[];
}

/** Appends the ServiceProvider block, exactly shaped as the reference shows it. */
export function ndiIbmServiceProvider(parent: XMLBuilder, b: NdiIbmServiceProvider): void {
  const sp = parent.ele('ServiceProvider', { Type: b.type ?? 'IBM License Service', LastInventoryResult: String(b.lastInventoryResult), LastInventoryError: b.lastInventoryError, Name: b.clusterId });
  property(sp, 'Version', b.version);
  if (b.buildDate !== null) property(sp, 'BuildDate', b.buildDate);
  for (const [name, value] of b.properties ?? []) property(sp, name, value);
  property(sp, 'IncompleteAnnotationCount', b.incompleteAnnotationCount);
  property(sp, 'IncompleteAnnotationPods', b.incompleteAnnotationPods.join(','));
  property(sp, 'StartDate', b.startDate);
  property(sp, 'EndDate', b.endDate);
  for (const e of b.elements) {
    if (e.kind === 'bundled') {
      const u = e.row;
      sp.ele('BundledProduct', {
        date: u.date,
        cloudpakId: u.cloudpakId,
        cloudpakName: u.cloudpakName,
        cloudpakVersion: u.cloudpakVersion,
        productId: u.productId,
        productName: u.productName,
        metricName: u.metricName,
        cloudpakMetricName: u.cloudpakMetricName,
        metricConversion: u.metricConversion,
        metricConvertedQuantity: String(u.metricConvertedQuantity),
        metricMeasuredQuantity: String(u.metricMeasuredQuantity),
        clusterid: b.clusterId,
      }).up();
    } else {
      const u = e.row;
      sp.ele('Product', { date: u.date, id: u.id, name: u.name, metricName: u.metricName, metricQuantity: String(u.metricQuantity), clusterid: b.clusterId }).up();
    }
  }
  sp.up();
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

/** How many targets failed, and which (the first few), for LastInventoryResult / LastInventoryError. */
function inventoryResult(report: Report): { result: number; error: string } {
  const n = report.errors.length;
  if (n === 0) return { result: 0, error: '' };
  const shown = report.errors.slice(0, 5).map((e) => `${e.target}: ${e.message}`);
  const more = n > shown.length ? `; ${n - shown.length} more` : '';
  return { result: n, error: `${n} target${n === 1 ? '' : 's'} could not be scanned: ${shown.join('; ')}${more}` };
}

/**
 * The ServiceProvider block of ibm-license-service-inventory.txt for the scan's day, for the
 * figures Kensus computed: Type "Kensus", LastInventoryResult the number of targets that could not
 * be scanned (0: all were) and LastInventoryError which.
 */
export function renderIbmLicensingNdi(report: Report): string {
  const { id } = clusterOf(report);
  const day = report.scannedAt.slice(0, 10);
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const date = `${day}T00:00:00Z`;
  const incomplete = report.ibmIncompleteAnnotationPods ?? [];
  const root = inventoryRoot(report, 'Cluster', id);
  const { result, error } = inventoryResult(report);
  ndiIbmServiceProvider(root, {
    type: 'Kensus',
    clusterId: id,
    lastInventoryResult: result,
    lastInventoryError: error,
    version: report.tool.version,
    // IBM License Service's own build date; Kensus computed these figures and has none to give.
    buildDate: null,
    properties: [['Source', 'Computed by Kensus from the IBM License Service pod annotations and CPU limits of the cluster; IBM License Service was not queried']],
    incompleteAnnotationCount: incomplete.length,
    incompleteAnnotationPods: incomplete,
    startDate: day,
    endDate: next,
    // As the reference lists them: the day's Product elements, then its BundledProduct elements.
    elements: [...report.usage.filter(isIbmRow)].sort((a, b) => Number(a.scope === 'bundled-product') - Number(b.scope === 'bundled-product')).map((u) =>
      u.scope === 'bundled-product'
        ? {
            kind: 'bundled' as const,
            row: {
              date,
              cloudpakId: u.cloudpakId ?? '',
              cloudpakName: u.cloudpakName ?? '',
              cloudpakVersion: u.cloudpakVersion ?? '',
              productId: u.productId,
              productName: u.productName,
              metricName: u.metric,
              cloudpakMetricName: u.cloudpakMetric ?? u.metric,
              metricConversion: u.metricConversion ?? '1:1',
              metricConvertedQuantity: u.metricConvertedQuantity ?? u.quantity,
              metricMeasuredQuantity: u.metricMeasuredQuantity ?? u.quantity,
            },
          }
        : { kind: 'product' as const, row: { date, id: u.productId, name: u.productName, metricName: u.metric, metricQuantity: u.quantity } },
    ),
  });
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
  if (node.osImage) property(cs, 'OSImage', node.osImage);
  if (node.instanceType) property(cs, 'InstanceType', node.instanceType);
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
