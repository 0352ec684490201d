import { badInput } from '../errors.js';
import { loadEntitlements } from '../licensing/entitlements.js';
import { renderInstallationsCsv, renderInstallationsTable, renderUsageCsv, renderUsageNdi, renderUsageTable } from '../report/usage.js';
import { openStore } from '../store/open.js';
import { entitlementHistory, ibmFirstSeen, installations, usageReport, type ClusterChoice } from '../store/report.js';
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
    const usage = await usageReport(store, { ...period, clusters: clusterChoice(opts) });
    // Coverage as of the period's end (or now, for a period that has not ended).
    const coverage = await coverageWhereAgentsRan(store, usage.clusters, new Date(Math.min(Date.now(), Date.parse(`${usage.period.to}T00:00:00Z`))));
    const report = coverage.length ? { ...usage, agentCoverage: coverage } : usage;
    const doc = ents ? { ...report, entitlements: await entitlementHistory(store, ents, period) } : report;
    const rendered =
      format === 'json'
        ? `${JSON.stringify(doc, null, 2)}\n`
        : format === 'csv'
          ? renderUsageCsv(report)
          : format === 'ndi'
            ? renderUsageNdi(report, toolVersion(), new Date().toISOString())
            : renderUsageTable(report);
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
    if (format === 'json') {
      const doc = { schemaVersion: '1', installations: rows, ibmPrograms: await ibmFirstSeen(store, { clusters }), errors: [] };
      await writeRendered(`${JSON.stringify(doc, null, 2)}\n`, format, opts);
    } else await writeRendered(format === 'csv' ? renderInstallationsCsv(rows) : renderInstallationsTable(rows), format, opts);
  } finally {
    await store.close();
  }
  return { report: null, exitCode: 0 };
}
