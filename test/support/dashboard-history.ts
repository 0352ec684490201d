import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runScanCluster } from '../../src/cli/scan-cluster.js';
import { testClusterList } from './cluster-objects.js';
import type { Report } from '../../src/model/report.js';

/**
 * Sweeps of the test cluster of src/cluster/test-fixtures.ts over several simulated days, for
 * the dashboard's tests: the same cluster with some pods not yet there on earlier days, so the
 * History has figures that change. Worked out by hand (IBM MQ, VPC; see test-fixtures.ts):
 *
 *   2026-09-20  all pods                          MQ 9 VPC (previous quarter)
 *   2026-10-05  without mq-3, mq-4, ace-3         MQ plain-1 3+3 = 6 → 6 VPC;  ACE 0.5+0.4 = 0.9 → 1 core, 70 PVU
 *   2026-10-20  without mq-3                      MQ 6 + gpu-mig 0.5 = 6.5 → 7 VPC; ACE 1.9 → 2 cores, 140 PVU
 *   2026-11-02  all pods                          MQ 9 VPC (first day of the quarter's peak)
 *   2026-11-23  all pods (the latest report)      MQ 9 VPC
 *
 * Entitlements: IBM MQ Advanced 10 VPC (alert at 85 %: 9 of 10 is 90 % → warning) and NVIDIA AI
 * Enterprise 32 per-GPU in ai-inference and ml-training (allocated H100 2 + A100 1 = 3 → ok).
 */
export const simulatedDays: Array<{ day: string; without: string[] }> = [
  { day: '2026-09-20', without: [] },
  { day: '2026-10-05', without: ['mq-3', 'mq-4', 'ace-3'] },
  { day: '2026-10-20', without: ['mq-3'] },
  { day: '2026-11-02', without: [] },
  { day: '2026-11-23', without: [] },
];

export const dashboardEntitlements = {
  entitlements: [
    { product: 'IBM MQ Advanced', metric: 'VIRTUAL_PROCESSOR_CORE', quantity: 10, 'alert-threshold': 85 },
    { product: 'NVIDIA AI Enterprise', metric: 'per-gpu', quantity: 32, namespaces: ['ai-inference', 'ml-training'], 'alert-threshold': 80 },
  ],
};

/** The test cluster's snapshot without the named pods. */
export function snapshotWithout(names: string[]): Record<string, unknown> {
  const list = testClusterList() as { items: Array<{ kind: string; metadata: { name: string } }> };
  return { ...list, items: list.items.filter((o) => o.kind !== 'Pod' || !names.includes(o.metadata.name)) };
}

/** One metadata-only sweep report per simulated day, oldest first (the last is the latest). */
export async function simulatedReports(): Promise<Report[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kensus-dashboard-days-'));
  try {
    const entitlements = join(dir, 'entitlements.yaml');
    writeFileSync(entitlements, stringify(dashboardEntitlements));
    const reports: Report[] = [];
    for (const d of simulatedDays) {
      const snapshot = join(dir, `${d.day}.json`);
      writeFileSync(snapshot, JSON.stringify(snapshotWithout(d.without)));
      reports.push((await runScanCluster({ snapshot, metadataOnly: true, entitlements, now: new Date(`${d.day}T02:00:00Z`) })).report);
    }
    return reports;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
