import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { Report } from '../model/report.js';

/**
 * CSV for manual import in disconnected environments: a directory of CSV files, one per table
 * (usage.csv holds the licence figures; nodes.csv, gpu-skus.csv, containers.csv, images.csv,
 * namespaces.csv, entitlements.csv, errors.csv), or one of them on stdout. RFC 4180 quoting,
 * a header row, UTF-8, CRLF, through csv-stringify. Text cells a spreadsheet would run as a
 * formula (OWASP: = + - @ TAB CR first) get a leading quote (`escape_formulas`); numbers stay numbers.
 */
export type Cell = string | number | boolean | null | undefined;

export function csvTable(header: string[], rows: Cell[][]): string {
  return stringify([header, ...rows], { record_delimiter: 'windows', escape_formulas: true, cast: { boolean: (b) => String(b) } });
}

/** Parses CSV (quoted fields, doubled quotes, CRLF) through csv-parse; for tests and re-import. */
export function parseCsv(text: string): string[][] {
  return parse(text, { relax_column_count: false }) as string[][];
}

/**
 * One table for `-o csv` on stdout (one stream, as kubectl and Trivy write): the licence figures of
 * a cluster scan, the containers of a workload scan, the images of an image scan.
 */
export function renderCsvStream(report: Report): string {
  const files = renderCsvFiles(report);
  const name = report.cluster !== undefined || report.usage.length ? 'usage.csv' : report.containers.length ? 'containers.csv' : 'images.csv';
  return files.get(name)!;
}

const join = (v: unknown): string => (Array.isArray(v) ? v.join(' ') : v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function renderCsvFiles(report: Report): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    'usage.csv',
    csvTable(
      ['productId', 'productName', 'metric', 'quantity', 'pvu', 'scope', 'sku', 'cloudpakId', 'nodes', 'rule'],
      report.usage.map((u) => [u.productId, u.productName, u.metric, u.quantity, u.pvu, u.scope, (u.sku as string | null | undefined) ?? '', u.cloudpakId, join(u.nodes), u.rule]),
    ),
  );
  files.set(
    'gpu-skus.csv',
    csvTable(['sku', 'gpus', 'nodes'], report.gpuSkus.map((g) => [g.sku ?? '', g.gpus, g.nodes.join(' ')])),
  );
  files.set(
    'nodes.csv',
    csvTable(
      ['node', 'cpu', 'gpuProduct', 'gpus', 'sku', 'mig', 'products', 'osImage', 'instanceType', 'openshiftCounted', 'openshiftReason'],
      report.nodes.flatMap((n) => {
        const products = n.products.map((p) => p.id).join(' ');
        const more = [n.osImage ?? '', n.instanceType ?? '', n.openshift ? n.openshift.counted : '', n.openshift?.reason ?? ''];
        if (n.gpus.length === 0) return [[n.name, n.cpu, '', 0, '', '', products, ...more]];
        return n.gpus.map((g) => [n.name, n.cpu, g.product ?? '', g.count, g.sku ?? '', g.mig ? join(g.mig) : '', products, ...more]);
      }),
    ),
  );
  files.set(
    'containers.csv',
    csvTable(
      ['namespace', 'pod', 'container', 'node', 'image', 'imageDigest', 'method', 'cpuLimit', 'gpus', 'productId', 'product', 'edition', 'version', 'licenseMetric', 'licensable'],
      report.containers.flatMap((c) => {
        const base: Cell[] = [c.namespace, c.pod, c.name, c.node, c.image, c.imageDigest, c.method, c.cpuLimit ?? '', c.gpus ?? 0];
        if (c.products.length === 0) return [[...base, '', '', '', '', '', '']];
        return c.products.map((p) => [...base, p.id, p.product, p.edition, p.version, p.licenseMetric, p.licensable === null ? '' : p.licensable]);
      }),
    ),
  );
  files.set(
    'images.csv',
    csvTable(
      ['ref', 'digest', 'productId', 'product', 'edition', 'version', 'licenseMetric', 'licensable', 'confidence'],
      report.images.flatMap((i) =>
        i.products.length === 0
          ? [[i.ref, i.digest, '', '', '', '', '', '', '']]
          : i.products.map((p) => [i.ref, i.digest, p.id, p.product, p.edition, p.version, p.licenseMetric, p.licensable === null ? '' : p.licensable, p.confidence]),
      ),
    ),
  );
  const namespaces = report.namespaces as Array<{ namespace: string; pods: number; runningPods: number; containers: number; gpus: number; products: Array<{ id: string }> }> | undefined;
  if (Array.isArray(namespaces)) {
    files.set(
      'namespaces.csv',
      csvTable(['namespace', 'pods', 'runningPods', 'containers', 'gpus', 'products'], namespaces.map((n) => [n.namespace, n.pods, n.runningPods, n.containers, n.gpus, n.products.map((p) => p.id).join(' ')])),
    );
  }
  const ents = report.entitlements as Array<Record<string, unknown>> | undefined;
  if (Array.isArray(ents)) {
    files.set(
      'entitlements.csv',
      csvTable(
        ['product', 'metric', 'used', 'owned', 'percentage', 'threshold', 'status', 'basis'],
        ents.map((e) => [e.product as string, e.metric as string, e.used as number, e.owned as number, e.percentage as number | null, e.threshold as number | null, e.status as string, e.basis as string]),
      ),
    );
  }
  files.set('errors.csv', csvTable(['target', 'message'], report.errors.map((e) => [e.target, e.message])));
  return files;
}
