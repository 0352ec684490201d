import { Counter, Gauge, Registry } from 'prom-client';
import type { EntitlementRow, Report, UsageRow } from '../model/report.js';
import type { IbmNinetyDayStatus } from '../model/usage-report.js';
import { log } from '../log.js';

/**
 * Prometheus metrics of the latest report. Gauges are rebuilt from each new report (products
 * that disappeared must disappear from the metrics too), counters live as long as the server.
 *
 * Every row of the report is its own series: the labels of a family are the row's identity
 * (usage: product_id, metric, scope, sku, cloudpak_id), so no two rows overwrite each other. The
 * label names that mean the same thing are the same across families (product_id, metric, scope,
 * sku, cluster), and entitlement rows name their metric as usage rows do, so PromQL joins them,
 * e.g. `kensus_entitlement_used / on(product_id, metric, cluster) group_left kensus_license_usage`.
 */
export interface KensusMetrics {
  registry: Registry;
  update(report: Report, scanSeconds?: number): void;
  admission: Counter<'result'>;
}

const USAGE = ['product_id', 'product', 'metric', 'scope', 'sku', 'cloudpak_id', 'cluster'] as const;
const ENTITLEMENT = ['product', 'product_id', 'metric', 'entitlement_metric', 'scope', 'sku', 'namespaces', 'clusters', 'detection', 'cluster'] as const;

function clusterOf(report: Report): string {
  return report.cluster?.name ?? report.cluster?.id ?? '';
}

function usageLabels(u: UsageRow, cluster: string): Record<(typeof USAGE)[number], string> {
  return { product_id: u.productId, product: u.productName, metric: u.metric, scope: u.scope, sku: u.sku ?? '', cloudpak_id: u.cloudpakId ?? '', cluster };
}

function entitlementLabels(e: EntitlementRow, cluster: string): Record<(typeof ENTITLEMENT)[number], string> {
  return {
    product: e.product,
    product_id: e.productIds.join(','),
    metric: e.usageMetric,
    entitlement_metric: e.status === 'unlicensed' ? '' : e.metric,
    scope: e.scope ?? '',
    sku: e.sku ?? '',
    namespaces: [...(e.namespaces ?? [])].sort().join(','),
    clusters: [...(e.clusters ?? [])].sort().join(','),
    detection: e.detection ?? '',
    cluster,
  };
}

/** Sets a gauge's series once per label set; a second row with the same labels is a bug, said in the log. */
function setOnce(gauge: Gauge<string>, seen: Set<string>, labels: Record<string, string>, value: number): void {
  const key = JSON.stringify(labels);
  if (seen.has(key)) {
    log.warn({ metric: (gauge as unknown as { name: string }).name, labels }, 'two report rows have the same labels; the later one is not exported');
    return;
  }
  seen.add(key);
  gauge.set(labels, value);
}

export function createMetrics(): KensusMetrics {
  const registry = new Registry();
  const g = (name: string, help: string, labelNames: readonly string[] = []) => new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
  const buildInfo = g('kensus_build_info', 'The Kensus that produced the latest report (always 1)', ['version', 'schema_version']);
  const productContainers = g('kensus_product_containers', 'Running containers in which a product was found', ['product_id', 'product', 'edition', 'namespace', 'node', 'cluster']);
  const productImages = g('kensus_product_images', 'Scanned images that contain a product', ['product_id', 'product', 'cluster']);
  const usage = g('kensus_license_usage', 'Licence quantity needed, rounded as the licence rules say (one series per usage row of the report)', USAGE);
  const pvu = g('kensus_license_usage_pvu', 'Processor Value Units needed (70 per core for IBM container licensing)', USAGE);
  const gpuSku = g('kensus_gpu_sku_gpus', 'Physical GPUs per NVIDIA AI Enterprise licence SKU (sku="unknown" when the GPU model is not labelled), licensed or not', ['sku', 'cluster']);
  const gpuSkuGated = g('kensus_gpu_sku_nvaie_gated_gpus', 'Of those GPUs, the ones on nodes running NVIDIA AI Enterprise-gated software (licence needed)', ['sku', 'cluster']);
  const entUsed = g('kensus_entitlement_used', 'Licence quantity in use for an entitlement', ENTITLEMENT);
  const entOwned = g('kensus_entitlement_owned', 'Licence quantity owned', ENTITLEMENT);
  const entStatus = g('kensus_entitlement_status', 'Entitlement status (1 for the current status)', [...ENTITLEMENT, 'status']);
  const unlicensed = g('kensus_unlicensed_installations', 'Licensable products in use without any entitlement (quantity in the usage metric)', ['product', 'product_id', 'metric', 'scope', 'sku', 'cluster']);
  const errors = g('kensus_scan_errors', 'Targets that could not be scanned in the latest sweep');
  const lastScan = g('kensus_last_scan_timestamp_seconds', 'When the latest sweep finished (Unix time)');
  const duration = g('kensus_scan_duration_seconds', 'How long the latest sweep took');
  const admission = new Counter({ name: 'kensus_admission_reviews_total', help: 'Admission reviews answered, by result', labelNames: ['result'], registers: [registry] });

  const update = (report: Report, scanSeconds?: number) => {
    for (const m of [buildInfo, productContainers, productImages, usage, pvu, gpuSku, gpuSkuGated, entUsed, entOwned, entStatus, unlicensed]) m.reset();
    const cluster = clusterOf(report);
    buildInfo.set({ version: report.tool.version, schema_version: report.schemaVersion }, 1);
    for (const c of report.containers) {
      // Running containers only: a Pending pod runs nothing yet (scan namespace rows are all running).
      if (c.running === false) continue;
      for (const p of c.products) {
        productContainers.inc({ product_id: p.id, product: p.product, edition: p.edition ?? '', namespace: c.namespace ?? '', node: c.node ?? '', cluster });
      }
    }
    for (const img of report.images) for (const p of img.products) productImages.inc({ product_id: p.id, product: p.product, cluster });
    const usageSeen = new Set<string>();
    const pvuSeen = new Set<string>();
    for (const u of report.usage) {
      const labels = usageLabels(u, cluster);
      setOnce(usage, usageSeen, labels, u.quantity);
      if (u.pvu !== null) setOnce(pvu, pvuSeen, labels, u.pvu);
    }
    for (const s of report.gpuSkus) {
      gpuSku.inc({ sku: s.sku ?? 'unknown', cluster }, s.gpus);
      gpuSkuGated.inc({ sku: s.sku ?? 'unknown', cluster }, s.nvaieGatedGpus ?? 0);
    }
    const entSeen = new Set<string>();
    const statusSeen = new Set<string>();
    const unlicensedSeen = new Set<string>();
    for (const e of report.entitlements ?? []) {
      const labels = entitlementLabels(e, cluster);
      if (entSeen.has(JSON.stringify(labels))) {
        log.warn({ labels }, 'two entitlement rows have the same labels; the later one is not exported');
        continue;
      }
      setOnce(entUsed, entSeen, labels, e.used);
      entOwned.set(labels, e.owned);
      setOnce(entStatus, statusSeen, { ...labels, status: e.status }, 1);
      if (e.status === 'unlicensed') {
        setOnce(unlicensed, unlicensedSeen, { product: e.product, product_id: labels.product_id, metric: labels.metric, scope: labels.scope, sku: labels.sku, cluster }, e.used);
      }
    }
    errors.set(report.errors.length);
    lastScan.set(Date.parse(report.scannedAt) / 1000);
    if (scanSeconds !== undefined) duration.set(scanSeconds);
  };
  return { registry, update, admission };
}

/**
 * IBM's 90-day rule as gauges (rows: src/store/license-service.ts `ibmNinetyDayRule`), set after
 * each recorded sweep: per IBM program and cluster, the days since its first deployment and
 * whether it runs past 90 days without IBM License Service (1 overdue, 0 not).
 */
export function ibmNinetyDayGauges(registry: Registry): (rows: IbmNinetyDayStatus[]) => void {
  const labels = ['product_id', 'product', 'cluster'];
  const days = new Gauge({ name: 'kensus_ibm_program_days_since_first_deployment', help: 'Days since an IBM program was first deployed in the cluster (IBM License Service is due within 90)', labelNames: labels, registers: [registry] });
  const overdue = new Gauge({ name: 'kensus_ibm_license_service_overdue', help: 'An IBM program has run more than 90 days in the cluster without IBM License Service (1), else 0', labelNames: labels, registers: [registry] });
  return (rows) => {
    days.reset();
    overdue.reset();
    for (const r of rows) {
      const l = { product_id: r.productId, product: r.productName, cluster: r.clusterId };
      days.set(l, r.daysSinceFirst);
      overdue.set(l, r.status === 'overdue' ? 1 : 0);
    }
  };
}
