import type { AgentCoverageReport } from '../model/usage-report.js';
import { agentCoverage, DEFAULT_HEARTBEAT_STALE_MS } from '../store/agents.js';
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

/**
 * Coverage of the nodes a scan listed (`scan cluster --agent-coverage STORE`): each node's latest
 * agent heartbeat in the store up to `at`, covered when recent. Reads the store, records nothing.
 */
export async function coverageOfNodes(store: Store, clusterId: string, nodes: string[], at: Date | string): Promise<AgentCoverageReport> {
  const when = typeof at === 'string' ? at : at.toISOString();
  const beats = await store.db.selectFrom('agent_heartbeats').select(['node']).select((eb) => eb.fn.max('at').as('last')).where('cluster_id', '=', clusterId).where('at', '<=', when).groupBy('node').execute();
  const lastOf = new Map(beats.map((b) => [b.node, b.last as string]));
  const since = new Date(Date.parse(when) - DEFAULT_HEARTBEAT_STALE_MS).toISOString();
  const rows = [...nodes].sort().map((node) => {
    const last = lastOf.get(node) ?? null;
    return { node, lastHeartbeat: last, covered: last !== null && last >= since };
  });
  return { clusterId, at: when, nodes: rows, covered: rows.filter((r) => r.covered).length, uncovered: rows.filter((r) => !r.covered).map((r) => r.node) };
}

/** Marks each node of a cluster report with its agent (last heartbeat) or false (the dashboard reads nodes[].agent). */
export function markAgents(nodes: Array<{ name: string; agent?: boolean | Record<string, unknown> }>, coverage: AgentCoverageReport): void {
  const byNode = new Map(coverage.nodes.map((n) => [n.node, n]));
  for (const n of nodes) {
    const c = byNode.get(n.name);
    n.agent = c?.covered ? { lastHeartbeat: c.lastHeartbeat } : false;
  }
}
