import { ndiIbmServiceProvider, ndiInventoryRoot, ndiTimestamp, shortClusterId, type NdiIbmServiceProvider } from '../report/ndi.js';
import { addDays, type Day } from './days.js';
import type { DayData, LicenseServiceBundledProductRow, LicenseServiceProductRow, ServiceHealth, ServiceVersion } from './types.js';

/**
 * The .ndi file of License Service data (ibm-license-service-inventory.txt, "The uploaded
 * inventory format"): a ServiceProvider block with the service's own /version and /health data,
 * the date range (StartDate inclusive, EndDate exclusive) and one Product / BundledProduct
 * element per row and day, each with its `date` and `clusterid`.
 */
export interface LicenseServiceNdiInput {
  clusterId: string;
  /** When the run happened (the file name's timestamp and the Inventory DateTime). */
  at: Date;
  toolVersion: string;
  service: ServiceVersion;
  health: ServiceHealth | null;
  healthError: string | null;
  /** First and last day (inclusive) of the file. */
  period: { start: Day; end: Day };
  days: ReadonlyMap<Day, DayData>;
}

/** `k8s-ibm-licensing-<shortClusterID>-<timestamp>.ndi`, e.g. k8s-ibm-licensing-1656883d-20210726T010000.ndi */
export function licenseServiceNdiName(clusterId: string, at: Date): string {
  return `k8s-ibm-licensing-${shortClusterId(clusterId)}-${ndiTimestamp(at.toISOString())}.ndi`;
}

/** Every row of the period, in day order (the rows the .ndi holds). */
export function periodRows(clusterId: string, period: { start: Day; end: Day }, days: ReadonlyMap<Day, DayData>): { products: LicenseServiceProductRow[]; bundledProducts: LicenseServiceBundledProductRow[] } {
  const products: LicenseServiceProductRow[] = [];
  const bundledProducts: LicenseServiceBundledProductRow[] = [];
  for (const day of [...days.keys()].filter((d) => d >= period.start && d <= period.end).sort()) {
    const data = days.get(day)!;
    for (const p of data.products) {
      products.push({ day, clusterId, productId: p.id, productName: p.name, metricName: p.metricName, metricQuantity: p.metricQuantity, metricPeakDate: p.metricPeakDate });
    }
    for (const b of data.bundledProducts) {
      bundledProducts.push({
        day,
        clusterId,
        cloudpakId: b.cloudpakId,
        cloudpakName: b.cloudpakName,
        cloudpakVersion: b.cloudpakVersion,
        cloudpakMetricName: b.cloudpakMetricName ?? b.metricName,
        productId: b.productId,
        productName: b.productName,
        metricName: b.metricName,
        metricConversion: b.metricConversion,
        metricMeasuredQuantity: b.metricMeasuredQuantity,
        metricConvertedQuantity: b.metricConvertedQuantity,
        metricPeakDate: b.metricPeakDate,
      });
    }
  }
  return { products, bundledProducts };
}

export function renderLicenseServiceNdi(input: LicenseServiceNdiInput): string {
  const { clusterId } = input;
  const { products, bundledProducts } = periodRows(clusterId, input.period, input.days);
  // The reference's example lists each day's Product elements, then its BundledProduct elements.
  const elements: NdiIbmServiceProvider['elements'] = [];
  for (const day of [...new Set([...products.map((p) => p.day), ...bundledProducts.map((b) => b.day)])].sort()) {
    const date = `${day}T00:00:00Z`;
    for (const p of products.filter((r) => r.day === day)) {
      elements.push({ kind: 'product', row: { date, id: p.productId, name: p.productName, metricName: p.metricName, metricQuantity: p.metricQuantity } });
    }
    for (const b of bundledProducts.filter((r) => r.day === day)) {
      elements.push({
        kind: 'bundled',
        row: {
          date,
          cloudpakId: b.cloudpakId,
          cloudpakName: b.cloudpakName,
          cloudpakVersion: b.cloudpakVersion,
          productId: b.productId,
          productName: b.productName,
          metricName: b.metricName,
          cloudpakMetricName: b.cloudpakMetricName,
          metricConversion: b.metricConversion,
          metricConvertedQuantity: b.metricConvertedQuantity,
          metricMeasuredQuantity: b.metricMeasuredQuantity,
        },
      });
    }
  }
  const root = ndiInventoryRoot({ trackerVersion: input.toolVersion, type: 'Cluster', name: clusterId, scannedAt: input.at.toISOString(), clusterId });
  ndiIbmServiceProvider(root, {
    clusterId,
    // The data is complete when /health answered too; a missing health part is reported, not hidden.
    lastInventoryResult: input.healthError ? 1 : 0,
    lastInventoryError: input.healthError ?? '',
    version: input.service.version,
    buildDate: input.service.buildDate,
    incompleteAnnotationCount: input.health?.incompleteAnnotationCount ?? 0,
    incompleteAnnotationPods: input.health?.incompleteAnnotationPods ?? [],
    startDate: input.period.start,
    endDate: addDays(input.period.end, 1),
    elements,
  });
  return root.end({ prettyPrint: true });
}
