import type { AgentCoverageReport } from '../model/usage-report.js';
import { agentCoverage } from '../store/agents.js';
import type { Store } from '../store/open.js';

/**
 * Node-agent coverage of each cluster whose agents ever reported (issue 15): the nodes present at
 * `at` and whether an agent reported from each recently. Clusters without any agent row get
 * none, so reports of stores that only central sweeps fill stay as they were.
 */
export async function coverageWhereAgentsRan(store: Store, clusterIds: string[], at: Date | string): Promise<AgentCoverageReport[]> {
  const out: AgentCoverageReport[] = [];
  for (const clusterId of clusterIds) {
    const any = await store.db.selectFrom('agent_heartbeats').select('node').where('cluster_id', '=', clusterId).limit(1).executeTakeFirst();
    if (any) out.push(await agentCoverage(store, clusterId, { now: at }));
  }
  return out;
}
