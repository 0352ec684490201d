import { create } from 'xmlbuilder2';
import type { IbmNinetyDayStatus, Installation, LicenseServiceComparison, UsagePeak, UsageReport } from '../model/usage-report.js';
import { csvTable } from './csv.js';
import { shortClusterId } from './ndi.js';
import { renderAgentCoverage, textTable } from './table.js';

/**
 * `kensus report usage` and `report installations` in their formats: a readable table, CSV
 * files (peaks, the daily series and, for a quarter, IBM's quarterly use report), and for a
 * quarter the IBM License Service data of every day as .ndi, one file per cluster.
 */

const num = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(Math.round(v * 1000) / 1000));

/** IBM container-licensing figures: programs, bundled solutions and Cloud Paks measured in VPC/PVU. */
export function isIbmPeak(p: Pick<UsagePeak, 'vendor' | 'scope'>): boolean {
  return p.vendor === 'IBM' && (p.scope === 'cluster' || p.scope === 'bundled-product' || p.scope === 'cloudpak');
}

export function renderUsageTable(report: UsageReport): string {
  const head = `USAGE ${report.quarter ?? ''} ${report.period.from} to ${report.period.to} (exclusive), clusters: ${report.clusters.join(', ') || '(none recorded)'}`.replace(/ {2,}/g, ' ');
  const out = [head];
  if (!report.peaks.length) out.push('(no licence figures recorded in the period)');
  else {
    const rows = report.peaks.map((p) => [p.clusterId, p.productName, p.metric, p.scope, p.sku ?? '-', num(p.quantity), num(p.pvu), p.day, p.firstDay, String(p.daily.length)]);
    out.push(textTable(['CLUSTER', 'PRODUCT', 'METRIC', 'SCOPE', 'SKU', 'PEAK', 'PVU', 'PEAK DAY', 'FIRST DAY', 'DAYS'], rows).trimEnd());
  }
  if (report.pooled.length) {
    const rows = report.pooled.map((p) => [p.productName, p.metric, p.scope, p.sku ?? '-', num(p.quantity), num(p.pvu), p.day, p.clusters.join(',')]);
    out.push(`POOLED (per day the sum of the clusters' daily peaks)\n${textTable(['PRODUCT', 'METRIC', 'SCOPE', 'SKU', 'PEAK', 'PVU', 'PEAK DAY', 'CLUSTERS'], rows).trimEnd()}`);
  }
  if (report.agentCoverage?.length) out.push(renderAgentCoverage(report.agentCoverage).trimEnd());
  return `${out.join('\n\n')}\n`;
}

/**
 * CSV files: usage-peaks.csv (one row per figure), usage-daily.csv (one row per figure and day),
 * pooled-peaks.csv with several clusters, and for a quarter ibm-use-report-<YYYYQn>.csv: IBM's
 * quarterly use report, the peak of every IBM program and bundled solution, reported from the
 * first day it ran in the quarter.
 */
export function renderUsageCsv(report: UsageReport): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    'usage-peaks.csv',
    csvTable(
      ['cluster_id', 'product_id', 'product_name', 'metric', 'scope', 'sku', 'cloudpak_id', 'peak_quantity', 'peak_pvu', 'peak_day', 'first_day', 'days_with_data', 'period_from', 'period_to'],
      report.peaks.map((p) => [p.clusterId, p.productId, p.productName, p.metric, p.scope, p.sku, p.cloudpakId, p.quantity, p.pvu, p.day, p.firstDay, p.daily.length, report.period.from, report.period.to]),
    ),
  );
  files.set(
    'usage-daily.csv',
    csvTable(
      ['cluster_id', 'product_id', 'product_name', 'metric', 'scope', 'sku', 'cloudpak_id', 'day', 'quantity'],
      report.peaks.flatMap((p) => p.daily.map((d) => [p.clusterId, p.productId, p.productName, p.metric, p.scope, p.sku, p.cloudpakId, d.day, d.quantity])),
    ),
  );
  if (report.pooled.length) {
    files.set(
      'pooled-peaks.csv',
      csvTable(
        ['clusters', 'product_id', 'product_name', 'metric', 'scope', 'sku', 'cloudpak_id', 'peak_quantity', 'peak_pvu', 'peak_day', 'first_day'],
        report.pooled.map((p) => [p.clusters.join(' '), p.productId, p.productName, p.metric, p.scope, p.sku, p.cloudpakId, p.quantity, p.pvu, p.day, p.firstDay]),
      ),
    );
  }
  if (report.quarter) files.set(`ibm-use-report-${report.quarter}.csv`, renderIbmQuarterCsv(report));
  return files;
}

/** IBM's quarterly use report: per cluster, program and bundled solution, the quarter's high-water mark. */
export function renderIbmQuarterCsv(report: UsageReport): string {
  const rows = report.peaks.filter(isIbmPeak).map((p) => [
    report.quarter ?? '',
    p.clusterId,
    p.scope === 'cloudpak' ? 'Cloud Pak' : p.scope === 'bundled-product' ? 'bundled solution' : 'program',
    p.productId,
    p.productName,
    p.cloudpakId,
    p.cloudpak?.name ?? null,
    p.metric,
    p.quantity,
    p.pvu,
    p.day,
    // A deployment during the quarter is reported from the day it began.
    p.firstDay > report.period.from ? p.firstDay : report.period.from,
    lastDay(report.period.to),
  ]);
  return csvTable(
    ['quarter', 'cluster_id', 'kind', 'product_id', 'product_name', 'cloudpak_id', 'cloudpak_name', 'metric', 'peak_quantity', 'peak_pvu', 'peak_day', 'reporting_from', 'reporting_to'],
    rows,
  );
}

function lastDay(exclusiveTo: string): string {
  return new Date(Date.parse(`${exclusiveTo}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

/**
 * For a quarter: per cluster, `k8s-ibm-licensing-<shortClusterID>-<YYYYQn>.ndi`, the IBM License
 * Service ServiceProvider block with one Product (or BundledProduct) element per figure and day
 * of the quarter, dated that day (as License Service's daily data), the period as StartDate and
 * EndDate.
 */
export function renderUsageNdi(report: UsageReport, toolVersion: string, generatedAt: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const clusterId of report.clusters) {
    const peaks = report.peaks.filter((p) => p.clusterId === clusterId && isIbmPeak(p));
    const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('Inventory', {
      Tracker: 'Kensus',
      TrackerVersion: toolVersion,
      Type: 'Cluster',
      Name: clusterId,
      DateTime: generatedAt.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '').replace(/Z$/, ''),
      ClusterID: clusterId,
    });
    const sp = root.ele('ServiceProvider', { Type: 'IBM License Service', LastInventoryResult: '0', LastInventoryError: '', Name: clusterId });
    const prop = (name: string, value: string) => sp.ele('Property', { Name: name, Value: value }).up();
    prop('Version', toolVersion);
    prop('StartDate', report.period.from);
    prop('EndDate', report.period.to);
    prop('Quarter', report.quarter ?? '');
    for (const p of peaks) {
      for (const d of p.daily) {
        const date = `${d.day}T00:00:00Z`;
        if (p.scope === 'bundled-product') {
          const [n, m] = (p.cloudpak?.conversion ?? '1:1').split(':').map(Number);
          sp.ele('BundledProduct', {
            date,
            cloudpakId: p.cloudpakId ?? '',
            cloudpakName: p.cloudpak?.name ?? '',
            cloudpakVersion: p.cloudpak?.version ?? '',
            productId: p.productId,
            productName: p.productName,
            metricName: p.metric,
            cloudpakMetricName: p.cloudpak?.metric ?? p.metric,
            metricConversion: p.cloudpak?.conversion ?? '1:1',
            metricConvertedQuantity: String(Math.round(((d.quantity * (m || 1)) / (n || 1)) * 1e6) / 1e6),
            metricMeasuredQuantity: String(d.quantity),
            clusterid: clusterId,
          }).up();
        } else {
          sp.ele('Product', { date, id: p.productId, name: p.productName, metricName: p.metric, metricQuantity: String(d.quantity), clusterid: clusterId }).up();
        }
      }
    }
    files.set(`k8s-ibm-licensing-${shortClusterId(clusterId)}-${report.quarter ?? `${report.period.from}_${report.period.to}`}.ndi`, root.end({ prettyPrint: true }));
  }
  return files;
}

export function renderInstallationsTable(rows: Installation[]): string {
  if (!rows.length) return '(no installation recorded)\n';
  return textTable(
    ['CLUSTER', 'PRODUCT', 'NAMESPACE', 'WORKLOAD', 'CONTAINER', 'FIRST SEEN', 'LAST SEEN', 'NOW'],
    rows.map((r) => [r.clusterId, r.product, r.namespace, r.workload, r.container, r.firstSeen.replace(/\.\d+Z$/, 'Z'), r.lastSeen.replace(/\.\d+Z$/, 'Z'), r.current ? 'running' : 'gone']),
  );
}

export function renderInstallationsCsv(rows: Installation[]): string {
  return csvTable(
    ['cluster_id', 'product_id', 'product', 'vendor', 'namespace', 'workload', 'container', 'image', 'image_digest', 'first_seen', 'last_seen', 'current'],
    rows.map((r) => [r.clusterId, r.productId, r.product, r.vendor, r.namespace, r.workload, r.container, r.image, r.imageDigest, r.firstSeen, r.lastSeen, r.current]),
  );
}

/**
 * IBM License Service beside Kensus (`report usage`): per cluster the days each has, then every
 * product and day where they differ; the agreeing days are counted, not listed.
 */
export function renderLicenseServiceTable(c: LicenseServiceComparison): string {
  if (!c.clusters.length) return '';
  const out: string[] = [];
  const head = c.clusters.map((x) => `${x.clusterId}: License Service ${x.serviceVersion} data for ${x.licenseServiceDays} day(s), Kensus ${x.kensusDays}, compared ${x.comparedDays}`);
  out.push(`IBM LICENSE SERVICE vs KENSUS (${head.join('; ')})`);
  const differ = c.comparison.filter((r) => r.status !== 'agree');
  const agree = c.comparison.length - differ.length;
  if (!differ.length) out.push(`all ${agree} product-day(s) agree`);
  else {
    const why = { differ: 'both count, differently', 'kensus-only': 'Kensus sees it, License Service does not count it', 'license-service-only': 'License Service counts it, Kensus does not see it', agree: '' };
    out.push(
      textTable(
        ['CLUSTER', 'DAY', 'PRODUCT', 'METRIC', 'KENSUS', 'LICENSE SERVICE', 'DIFFERENCE', 'WHY'],
        differ.map((r) => [r.clusterId, r.day, r.kind === 'bundled' ? `${r.productName} (bundled)` : r.productName, r.metric, num(r.kensus), num(r.licenseService), r.difference > 0 ? `+${num(r.difference)}` : num(r.difference), why[r.status]]),
      ).trimEnd(),
    );
    out.push(`${agree} product-day(s) agree`);
  }
  return `${out.join('\n')}\n`;
}

/** The comparison as CSV (license-service-comparison.csv): every product and day both have data for. */
export function renderLicenseServiceCsv(c: LicenseServiceComparison): string {
  return csvTable(
    ['cluster_id', 'day', 'kind', 'product_id', 'product_name', 'cloudpak_id', 'metric', 'kensus_quantity', 'license_service_quantity', 'difference', 'status'],
    c.comparison.map((r) => [r.clusterId, r.day, r.kind, r.productId, r.productName, r.cloudpakId, r.metric, r.kensus, r.licenseService, r.difference, r.status]),
  );
}

/** IBM's 90-day rule: one WARNING line per overdue program ('' when none). */
export function renderNinetyDayWarnings(rows: IbmNinetyDayStatus[]): string {
  const lines = rows.filter((r) => r.warning).map((r) => `WARNING: ${r.warning}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}
