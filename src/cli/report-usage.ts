import { badInput, ExitCode } from '../errors.js';
import { headroomFor, podFigures } from '../store/headroom.js';
import { textTable } from '../report/table.js';
import { loadEntitlements } from '../licensing/entitlements.js';
import { renderInstallationsCsv, renderInstallationsTable, renderLicenseServiceCsv, renderLicenseServiceTable, renderNinetyDayWarnings, renderUsageCsv, renderUsageNdi, renderUsageTable } from '../report/usage.js';
import { ibmNinetyDayRule, licenseServiceComparison } from '../store/license-service.js';
import { openStore } from '../store/open.js';
import { entitlementHistory, installations, resolveClusters, usageReport, type ClusterChoice } from '../store/report.js';
import type { CommandResult } from './command.js';
import { formatOf, writeRendered, type OutputOptions } from './output.js';
import { toolVersion } from './version.js';
import { coverageWhereAgentsRan } from '../scan/coverage.js';

export interface ReportStoreOptions extends OutputOptions {
  store?: string;
  cluster?: string[];
  allClusters?: boolean;
}

export interface ReportUsageOptions extends ReportStoreOptions {
  from?: string;
  to?: string;
  quarter?: string;
  entitlements?: string;
}

function clusterChoice(opts: ReportStoreOptions): ClusterChoice {
  if (opts.allClusters && opts.cluster?.length) throw badInput('--cluster and --all-clusters exclude each other', 'give one or more --cluster ID, or --all-clusters');
  return opts.allClusters ? 'all' : opts.cluster;
}

/**
 * `kensus report usage`: the peak of every licence figure of the period, the first day it was
 * reached and the daily series, from the store (CONTRACT.md). `--quarter` is IBM's quarterly use
 * report, also as CSV (ibm-use-report-YYYYQn.csv) and .ndi.
 */
export async function runReportUsage(opts: ReportUsageOptions): Promise<CommandResult> {
  const format = formatOf(opts);
  if (!['table', 'json', 'csv', 'ndi'].includes(format)) throw badInput(`report usage prints table, json, csv or ndi, not '${format}'`, 'e.g. --format json');
  if (opts.quarter && (opts.from || opts.to)) throw badInput('--quarter and --from/--to exclude each other', 'give --quarter 2026Q3, or --from 2026-07-01 --to 2026-10-01');
  if (!opts.quarter && !(opts.from && opts.to)) throw badInput('report usage needs a period', 'give --from DAY --to DAY (to exclusive) or --quarter YYYYQn');
  if (format === 'ndi' && !opts.quarter) throw badInput('--format ndi is the IBM quarterly report', 'give --quarter YYYYQn');
  const ents = opts.entitlements ? await loadEntitlements(opts.entitlements) : null;
  const store = await openStore(opts.store);
  try {
    const period = opts.quarter ? { quarter: opts.quarter } : { period: { from: opts.from!, to: opts.to! } };
    const clusters = clusterChoice(opts);
    const usage = await usageReport(store, { ...period, clusters });
    // Coverage as of the period's end (or now, for a period that has not ended).
    const asOf = new Date(Math.min(Date.now(), Date.parse(`${usage.period.to}T00:00:00Z`)));
    const coverage = await coverageWhereAgentsRan(store, usage.clusters, asOf);
    const report = coverage.length ? { ...usage, agentCoverage: coverage } : usage;
    // IBM License Service's own rows beside Kensus's IBM figures, per product and day (issue 16).
    const licenseService = await licenseServiceComparison(store, { ...period, clusters });
    // The 90-day rule as of the same moment.
    const ninetyDay = await ibmNinetyDayRule(store, { clusters, now: asOf });
    const warnings = ninetyDay.flatMap((p) => (p.warning ? [p.warning] : []));
    const doc = { ...report, ...(ents ? { entitlements: await entitlementHistory(store, ents, period) } : {}), licenseService, ibmNinetyDay: ninetyDay, warnings };
    let rendered: string | Map<string, string>;
    if (format === 'json') rendered = `${JSON.stringify(doc, null, 2)}\n`;
    else if (format === 'csv') {
      rendered = renderUsageCsv(report);
      if (licenseService.clusters.length) rendered.set('license-service-comparison.csv', renderLicenseServiceCsv(licenseService));
    } else if (format === 'ndi') rendered = renderUsageNdi(report, toolVersion(), new Date().toISOString());
    else rendered = [renderUsageTable(report), renderLicenseServiceTable(licenseService), renderNinetyDayWarnings(ninetyDay)].filter(Boolean).join('\n');
    await writeRendered(rendered, format, opts);
  } finally {
    await store.close();
  }
  return { report: null, exitCode: 0 };
}

/** `kensus report installations`: every product seen running, first and last seen; IBM programs' first day (90-day rule). */
export async function runReportInstallations(opts: ReportStoreOptions): Promise<CommandResult> {
  const format = formatOf(opts);
  if (!['table', 'json', 'csv'].includes(format)) throw badInput(`report installations prints table, json or csv, not '${format}'`, 'e.g. --format json');
  const store = await openStore(opts.store);
  try {
    const clusters = clusterChoice(opts);
    const rows = await installations(store, { clusters });
    // IBM programs' first day and IBM's 90-day rule as of now.
    const ibmPrograms = await ibmNinetyDayRule(store, { clusters });
    if (format === 'json') {
      const doc = { schemaVersion: '1', installations: rows, ibmPrograms, warnings: ibmPrograms.flatMap((p) => (p.warning ? [p.warning] : [])), errors: [] };
      await writeRendered(`${JSON.stringify(doc, null, 2)}\n`, format, opts);
    } else if (format === 'csv') await writeRendered(renderInstallationsCsv(rows), format, opts);
    else await writeRendered([renderInstallationsTable(rows), renderNinetyDayWarnings(ibmPrograms)].filter(Boolean).join('\n'), format, opts);
  } finally {
    await store.close();
  }
  return { report: null, exitCode: 0 };
}

export interface ReportHeadroomOptions extends ReportStoreOptions {
  entitlements?: string;
  pod?: string;
}

/**
 * `kensus report headroom`: per entitlement the current figure (the latest day recorded), the
 * entitlement and the headroom left; with `--pod FILE`, what admitting that pod would add (the
 * licence-aware admission check, answered from the store). Exit 1 when the pod would take a
 * figure over its entitlement.
 */
export async function runReportHeadroom(opts: ReportHeadroomOptions): Promise<CommandResult> {
  const format = formatOf(opts);
  if (!['table', 'json'].includes(format)) throw badInput(`report headroom prints table or json, not '${format}'`, 'e.g. --format json');
  if (!opts.entitlements) throw badInput('report headroom needs --entitlements FILE', 'e.g. --entitlements docs/entitlements.yaml');
  if (opts.allClusters || (opts.cluster?.length ?? 0) > 1) throw badInput('report headroom answers for one cluster', 'give --cluster ID (entitlements that list clusters pool them)');
  const ents = await loadEntitlements(opts.entitlements);
  const pod = opts.pod ? await readPodManifest(opts.pod) : null;
  const store = await openStore(opts.store);
  try {
    const [cluster] = await resolveClusters(store, opts.cluster);
    if (!cluster) throw badInput(`the store ${store.display} holds no cluster yet`, 'record a sweep first: kensus sweep');
    const figures = pod ? await podFigures(store, cluster, pod) : [];
    const namespace = typeof pod?.metadata?.namespace === 'string' ? pod.metadata.namespace : undefined;
    const rows = await headroomFor(store, cluster, figures, ents, namespace, { includeUntouched: !pod });
    const fits = rows.every((r) => r.fits);
    if (format === 'json') await writeRendered(`${JSON.stringify({ schemaVersion: '1', clusterId: cluster, pod: pod ? { figures } : null, headroom: rows, errors: [] }, null, 2)}\n`, format, opts);
    else {
      const table = rows.length
        ? textTable(
            ['PRODUCT', 'METRIC', 'IN USE', 'DAY', ...(pod ? ['POD ADDS', 'WITH POD'] : []), 'ENTITLED', 'HEADROOM', ...(pod ? ['AFTER', 'FITS'] : [])],
            rows.map((r) => [r.product, r.metric, String(r.figure), r.day ?? '-', ...(pod ? [String(r.pod), String(r.withPod)] : []), String(r.entitlement), String(r.headroom), ...(pod ? [String(r.headroomAfter), r.fits ? 'yes' : 'NO'] : [])]),
          )
        : pod
          ? '(the pod touches no entitlement)\n'
          : '(no entitlement the figures can answer; detection entitlements need a scan)\n';
      await writeRendered(table + rows.filter((r) => !r.fits && pod).map((r) => `kensus: ${r.message}\n`).join(''), format, opts);
    }
    return { report: null, exitCode: pod && !fits ? ExitCode.policyFailed : ExitCode.ok };
  } finally {
    await store.close();
  }
}

/** A pod manifest (YAML or JSON, as `kubectl get pod -o yaml` prints it); a bad one is exit 2. */
async function readPodManifest(file: string): Promise<Record<string, any>> {
  const [{ readFile }, { parse }] = await Promise.all([import('node:fs/promises'), import('yaml')]);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw badInput(`cannot read --pod ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give a Pod manifest (kubectl get pod NAME -o yaml)');
  }
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw badInput(`--pod ${file} is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`, 'give a Pod manifest (kubectl get pod NAME -o yaml)');
  }
  const pod = doc as Record<string, any> | null;
  if (!pod || typeof pod !== 'object' || pod.kind !== 'Pod' || typeof pod.spec !== 'object' || !Array.isArray(pod.spec?.containers)) {
    throw badInput(`--pod ${file} is not a Pod manifest (kind: Pod with spec.containers)`, 'give a Pod manifest (kubectl get pod NAME -o yaml)');
  }
  return pod;
}
