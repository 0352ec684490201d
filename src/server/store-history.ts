import type { Store } from '../store/open.js';
import { agentCoverage } from '../store/agents.js';
import { installations, usageReport } from '../store/report.js';
import type { HistoryProvider } from './history.js';

/**
 * The dashboard's history from the history store (`serve --store`): `report usage` for the
 * period asked, over every cluster the store holds (the page tells them apart), and the
 * clusters with the last time a sweep saw them, the installations with their first and last
 * seen (`report installations`), and per cluster the nodes node agents cover.
 */
export function storeHistory(store: Store): HistoryProvider {
  return {
    async usage(q) {
      return usageReport(store, { period: { from: q.from, to: q.to }, clusters: q.clusterId ? [q.clusterId] : 'all' });
    },
    async clusters() {
      const rows = await store.db.selectFrom('clusters').select(['cluster_id', 'name', 'last_seen']).orderBy('cluster_id').execute();
      return rows.map((r) => ({ id: r.cluster_id, name: r.name, source: 'store', lastSweep: r.last_seen }));
    },
    installations: () => installations(store, { clusters: 'all' }),
    async coverage(now) {
      const ids = await store.db.selectFrom('clusters').select('cluster_id').orderBy('cluster_id').execute();
      return Promise.all(ids.map(async ({ cluster_id }) => ({ clusterId: cluster_id, nodes: (await agentCoverage(store, cluster_id, { now })).nodes })));
    },
  };
}
