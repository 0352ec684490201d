import { Counter, Gauge, Registry } from 'prom-client';
import type { Report } from '../model/report.js';

/**
 * Prometheus metrics of the latest report. Gauges are rebuilt from each new report (products
 * that disappeared must disappear from the metrics too), counters live as long as the server.
 */
export interface KensusMetrics {
  registry: Registry;
  update(report: Report, scanSeconds?: number): void;
  admission: Counter<'result'>;
}

interface EntitlementRow {
  product: string;
  metric: string;
  used: number;
  owned: number;
  status: string;
}

export function createMetrics(): KensusMetrics {
  const registry = new Registry();
  const g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  const productContainers = g('kensus_product_containers', 'Running containers in which a product was found', ['product_id', 'product', 'edition', 'namespace', 'node']);
  const productImages = g('kensus_product_images', 'Scanned images that contain a product', ['product_id', 'product']);
  const usage = g('kensus_license_usage', 'Licence quantity needed, rounded as the licence rules say', ['product_id', 'product', 'metric', 'scope']);
  const pvu = g('kensus_license_usage_pvu', 'Processor Value Units needed (70 per core for IBM container licensing)', ['product_id', 'product', 'scope']);
  const gpuSku = g('kensus_gpu_sku_gpus', 'GPUs per NVIDIA AI Enterprise licence SKU (sku="unknown" when the GPU model is not labelled)', ['sku']);
  const entUsed = g('kensus_entitlement_used', 'Licence quantity in use for an entitlement', ['product', 'metric']);
  const entOwned = g('kensus_entitlement_owned', 'Licence quantity owned', ['product', 'metric']);
  const entStatus = g('kensus_entitlement_status', 'Entitlement status (1 for the current status)', ['product', 'metric', 'status']);
  const unlicensed = g('kensus_unlicensed_installations', 'Licensable products in use without any entitlement', ['product']);
  const errors = g('kensus_scan_errors', 'Targets that could not be scanned in the latest sweep');
  const lastScan = g('kensus_last_scan_timestamp_seconds', 'When the latest sweep finished (Unix time)');
  const duration = g('kensus_scan_duration_seconds', 'How long the latest sweep took');
  const admission = new Counter({ name: 'kensus_admission_reviews_total', help: 'Admission reviews answered, by result', labelNames: ['result'], registers: [registry] });

  const update = (report: Report, scanSeconds?: number) => {
    for (const m of [productContainers, productImages, usage, pvu, gpuSku, entUsed, entOwned, entStatus, unlicensed]) m.reset();
    for (const c of report.containers) {
      // Running containers only: a Pending pod runs nothing yet (scan namespace rows are all running).
      if (c.running === false) continue;
      for (const p of c.products) {
        productContainers.inc({ product_id: p.id, product: p.product, edition: p.edition ?? '', namespace: c.namespace ?? '', node: c.node ?? '' });
      }
    }
    for (const img of report.images) for (const p of img.products) productImages.inc({ product_id: p.id, product: p.product });
    for (const u of report.usage) {
      usage.set({ product_id: u.productId, product: u.productName, metric: u.metric, scope: u.scope }, u.quantity);
      if (u.pvu !== null) pvu.set({ product_id: u.productId, product: u.productName, scope: u.scope }, u.pvu);
    }
    for (const s of report.gpuSkus) gpuSku.inc({ sku: s.sku ?? 'unknown' }, s.gpus);
    const ents = (report.entitlements as EntitlementRow[] | undefined) ?? [];
    for (const e of ents) {
      entUsed.set({ product: e.product, metric: e.metric }, e.used);
      entOwned.set({ product: e.product, metric: e.metric }, e.owned);
      entStatus.set({ product: e.product, metric: e.metric, status: e.status }, 1);
      if (e.status === 'unlicensed') unlicensed.set({ product: e.product }, e.used);
    }
    errors.set(report.errors.length);
    lastScan.set(Date.parse(report.scannedAt) / 1000);
    if (scanSeconds !== undefined) duration.set(scanSeconds);
  };
  return { registry, update, admission };
}
