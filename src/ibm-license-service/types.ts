import type { Day } from './days.js';

/**
 * The IBM License Service REST API as IBM documents it (License Service "APIs" and "API
 * authentication", https://www.ibm.com/docs/SSRV9V_4.x/license-service/APIs.html and
 * https://www.ibm.com/docs/en/cpfs?topic=authentication-license-service-api-token):
 *
 * - `GET /version` — no token needed ("You do not need to use an API to retrieve information
 *   about the version"): `{ "version": "…", "buildDate": "…" }`.
 * - `GET /health?token=T` — the pods whose IBM licensing annotations are incomplete.
 * - `GET /products?token=T&dateFrom=YYYY-MM-DD&dateTo=YYYY-MM-DD` — one row per product and
 *   metric, the highest usage in the period: `[{"name":"IBM Cloud Pak for Integration",
 *   "id":"c8b82d189e7545f0892db9ef2731b90d","metricPeakDate":"2020-06-10","metricQuantity":3,
 *   "metricName":"VIRTUAL_PROCESSOR_CORE"}]` (IBM's example, quoted in the Event Streams docs).
 * - `GET /bundled_products?token=T&dateFrom=…&dateTo=…` — products inside Cloud Paks:
 *   `[{"productName":"IBM Event Streams for Non Production","productId":"…","cloudpakId":"…",
 *   "cloudpakVersion":"2020.2.1","metricName":"VIRTUAL_PROCESSOR_CORE","metricPeakDate":
 *   "2020-06-10","metricMeasuredQuantity":6,"metricConversion":"2:1","metricConvertedQuantity":3}]`.
 *
 * Without dates the API answers for the last 30 days; with one date both must be given
 * (ibm-license-service-inventory.txt, "StartDate"). The token is the URL parameter `token`, as
 * IBM documents the License Service API token (the service-account alternative uses a header).
 */
export interface ApiProduct {
  id: string;
  name: string;
  metricName: string;
  metricQuantity: number;
  metricPeakDate: string | null;
}

export interface ApiBundledProduct {
  productId: string;
  productName: string;
  cloudpakId: string;
  cloudpakName: string;
  cloudpakVersion: string;
  metricName: string;
  /** Not in every License Service version's answer; the .ndi falls back to metricName. */
  cloudpakMetricName: string | null;
  metricMeasuredQuantity: number;
  metricConversion: string;
  metricConvertedQuantity: number;
  metricPeakDate: string | null;
}

/** What one day's requests returned. */
export interface DayData {
  products: ApiProduct[];
  bundledProducts: ApiBundledProduct[];
}

/** `/version`: the .ndi's Version and BuildDate properties. */
export interface ServiceVersion {
  version: string;
  buildDate: string;
}

/** `/health`: the .ndi's IncompleteAnnotationCount and IncompleteAnnotationPods properties. */
export interface ServiceHealth {
  incompleteAnnotationCount: number;
  incompleteAnnotationPods: string[];
}

/** A License Service product row of one day, as Kensus hands it on (store, reports). */
export interface LicenseServiceProductRow {
  day: Day;
  clusterId: string;
  productId: string;
  productName: string;
  metricName: string;
  metricQuantity: number;
  metricPeakDate: string | null;
}

/** A License Service bundled-product row of one day. */
export interface LicenseServiceBundledProductRow {
  day: Day;
  clusterId: string;
  cloudpakId: string;
  cloudpakName: string;
  cloudpakVersion: string;
  cloudpakMetricName: string;
  productId: string;
  productName: string;
  metricName: string;
  metricConversion: string;
  metricMeasuredQuantity: number;
  metricConvertedQuantity: number;
  metricPeakDate: string | null;
}

/** The outcome of one collection run. */
export interface CollectionResult {
  /** The .ndi file written (absolute path), or null when the cache already covered the period. */
  file: string | null;
  /** Its name (k8s-ibm-licensing-<shortClusterID>-<timestamp>.ndi) and XML, for the beacon. */
  fileName: string | null;
  content: string | null;
  clusterId: string;
  /** The days in the file, first and last (inclusive); null when nothing was written. */
  period: { start: Day; end: Day } | null;
  /** Days requested from the License Service in this run (others came from the cache). */
  fetchedDays: Day[];
  /** Days kept in the on-disk cache after the run. */
  cachedDays: Day[];
  service: ServiceVersion;
  health: ServiceHealth | null;
  /** Why /health gave nothing (it does not stop the run). */
  healthError: string | null;
  /** Every row of the file, one per product (bundled product) and day. */
  products: LicenseServiceProductRow[];
  bundledProducts: LicenseServiceBundledProductRow[];
}
