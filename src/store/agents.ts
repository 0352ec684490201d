import type { NodeHardware } from '../cluster/hardware.js';
import type { Store } from './open.js';
import { iso, parseJson, writeTx } from './util.js';

/**
 * What node agents (`kensus agent`) leave in the store besides their sweeps' observations: a
 * heartbeat per run (so the report can say which nodes no agent covers) and the node's hardware
 * (the evidence for PVU and sub-capacity figures: sockets, cores, threads, CPU model, BIOS).
 */

export interface Heartbeat {
  clusterId: string;
  node: string;
  at: Date | string;
  toolVersion: string;
  containers: number;
  containersRead: number;
  errorCount: number;
}

export async function recordHeartbeat(store: Store, beat: Heartbeat): Promise<void> {
  await store.db
    .insertInto('agent_heartbeats')
    .values({
      cluster_id: beat.clusterId,
      node: beat.node,
      at: iso(beat.at),
      tool_version: beat.toolVersion,
      containers: beat.containers,
      containers_read: beat.containersRead,
      error_count: beat.errorCount,
    })
    .execute();
}

/**
 * A node's hardware reading at `at`. The same reading as the node's latest extends that row
 * (last_seen); a changed one (a resized VM, a replaced board) starts a new row, so the history
 * says what the node was at any time.
 */
export async function recordNodeHardware(store: Store, clusterId: string, node: string, hw: NodeHardware, at: Date | string): Promise<'new' | 'unchanged'> {
  const when = iso(at);
  const json = JSON.stringify(hw);
  return writeTx(store, async (db) => {
    const latest = await db
      .selectFrom('node_hardware')
      .select(['id', 'hardware_json', 'last_seen'])
      .where('cluster_id', '=', clusterId)
      .where('node', '=', node)
      .orderBy('last_seen', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (latest && latest.hardware_json === json) {
      if (latest.last_seen < when) await db.updateTable('node_hardware').set({ last_seen: when }).where('id', '=', latest.id).execute();
      return 'unchanged';
    }
    await db
      .insertInto('node_hardware')
      .values({
        cluster_id: clusterId,
        node,
        first_seen: when,
        last_seen: when,
        sockets: hw.sockets,
        cores: hw.cores,
        threads: hw.threads,
        memory_bytes: hw.memoryBytes,
        cpu_model: hw.cpuModel,
        instance_type: hw.instanceType,
        dmi_vendor: hw.dmi.sysVendor,
        dmi_product: hw.dmi.productName,
        dmi_serial: hw.dmi.productSerial,
        hardware_json: json,
      })
      .execute();
    return 'new';
  });
}

export interface NodeHardwareRow {
  node: string;
  firstSeen: string;
  lastSeen: string;
  hardware: NodeHardware;
}

/** The latest hardware reading of every node of the cluster (or of one node). */
export async function latestNodeHardware(store: Store, clusterId: string, node?: string): Promise<NodeHardwareRow[]> {
  let q = store.db.selectFrom('node_hardware').select(['node', 'first_seen', 'last_seen', 'hardware_json']).where('cluster_id', '=', clusterId);
  if (node) q = q.where('node', '=', node);
  const rows = await q.orderBy('node').orderBy('last_seen', 'desc').execute();
  const out = new Map<string, NodeHardwareRow>();
  for (const r of rows) {
    if (!out.has(r.node)) out.set(r.node, { node: r.node, firstSeen: r.first_seen, lastSeen: r.last_seen, hardware: parseJson<NodeHardware>(r.hardware_json, {} as NodeHardware) });
  }
  return [...out.values()];
}

export interface NodeCoverage {
  node: string;
  /** The node's latest agent heartbeat, or null when no agent ever ran there. */
  lastHeartbeat: string | null;
  /** A heartbeat within `staleAfterMs` of `now`. */
  covered: boolean;
}

export interface AgentCoverage {
  clusterId: string;
  at: string;
  nodes: NodeCoverage[];
  covered: number;
  /** Nodes of the cluster with no recent agent heartbeat: their containers are seen by sweeps only. */
  uncovered: string[];
}

/** Default staleness: two missed hardware rounds of the reference's 30-minute cadence, plus slack. */
export const DEFAULT_HEARTBEAT_STALE_MS = 75 * 60 * 1000;

/**
 * Coverage of the cluster by node agents: the nodes present at `now` (the recorded node
 * intervals, from sweeps and agents alike) and whether an agent reported from each recently.
 */
export async function agentCoverage(store: Store, clusterId: string, opts: { now?: Date | string; staleAfterMs?: number } = {}): Promise<AgentCoverage> {
  const at = iso(opts.now ?? new Date());
  const staleAfter = opts.staleAfterMs ?? DEFAULT_HEARTBEAT_STALE_MS;
  const nodes = await store.db.selectFrom('node_observations').select('node').distinct().where('cluster_id', '=', clusterId).where('closed_at', 'is', null).where('first_seen', '<=', at).execute();
  const beats = await store.db.selectFrom('agent_heartbeats').select(['node']).select((eb) => eb.fn.max('at').as('last')).where('cluster_id', '=', clusterId).where('at', '<=', at).groupBy('node').execute();
  const lastOf = new Map(beats.map((b) => [b.node, b.last as string]));
  const since = new Date(new Date(at).getTime() - staleAfter).toISOString();
  const rows: NodeCoverage[] = nodes
    .map((n) => n.node)
    .sort()
    .map((node) => {
      const last = lastOf.get(node) ?? null;
      return { node, lastHeartbeat: last, covered: last !== null && last >= since };
    });
  return { clusterId, at, nodes: rows, covered: rows.filter((r) => r.covered).length, uncovered: rows.filter((r) => !r.covered).map((r) => r.node) };
}
