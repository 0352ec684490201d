import { randomUUID } from 'node:crypto';
import type { ClusterModel, ClusterNode, ClusterPod } from '../cluster/model.js';
import type { Entitlement } from '../licensing/entitlements.js';
import { reconcile } from '../licensing/entitlements.js';
import { computeUsage } from '../licensing/usage.js';
import { badInput } from '../errors.js';
import type { ProductFinding } from '../model/finding.js';
import type { ImageReport, Report, ScanErrorRow } from '../model/report.js';
import { log } from '../log.js';
import { addSamples, inventoryAt, type StoredUsageOptions } from './figures.js';
import type { Store } from './open.js';
import { pruneHistory, DEFAULT_RETENTION } from './retention.js';
import { chunks, iso, sha256, writeTx, type Db } from './util.js';

/**
 * Recording a sweep, step by step, each step its own transaction, so a sweep killed at any
 * moment leaves the store consistent and keeps what it committed:
 *  1. beginSweep: the run row ('running');
 *  2. recordImageScan: one transaction per image (scan + findings) as soon as it is read;
 *  3. recordObservations: nodes and containers as one change of state at observedAt ('observed');
 *  4. completeSweep: that moment's licence figures into the day's peak, entitlement status,
 *     retention ('complete'). A run left 'observed' by a killed sweep is completed by the next.
 * Sweeps of one cluster and shard are recorded oldest first (back-fill snapshots in order).
 */

export interface Shard {
  index: number;
  count: number;
}

export interface SweepStart {
  clusterId: string;
  clusterName?: string | null;
  /** When the cluster was listed (a snapshot: when it was taken). */
  observedAt: Date | string;
  source: 'live' | 'snapshot';
  signatureSetVersion: string;
  toolVersion: string;
  /** `--shard I/N` (Indexed Jobs); the whole cluster when absent. */
  shard?: Shard;
  /** Groups the shards of one run; a new id when absent. */
  runId?: string;
  /**
   * A node agent's run (`kensus agent --node NAME`): it sees that node's pods only, so it opens,
   * extends and closes only the container intervals on that node (nodes it records as a sweep does).
   */
  node?: string;
  usageOptions?: StoredUsageOptions;
  entitlements?: Entitlement[] | null;
  startedAt?: Date | string;
}

export interface SweepHandle {
  id: number;
  runId: string;
  clusterId: string;
  observedAt: string;
  shard: Shard;
  signatureSetVersion: string;
  /** Set for a node agent's run: the node whose containers it covers. */
  node?: string;
}

/** 28 bits of sha256: fits every SQL integer; `--shard I/N` takes hash % N == I. */
export function shardHash(imageKey: string): number {
  return parseInt(sha256(imageKey).slice(0, 7), 16);
}

export function inShard(imageKey: string, shard: Shard): boolean {
  return shard.count <= 1 || shardHash(imageKey) % shard.count === shard.index;
}

/** `--shard I/N`: 0 ≤ I < N. */
export function parseShard(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!shard || shard.count < 1 || shard.index >= shard.count) {
    throw badInput(`--shard '${value}' is not I/N with 0 ≤ I < N`, 'e.g. --shard 0/4 for the first of four shards (JOB_COMPLETION_INDEX of an Indexed Job)');
  }
  return shard;
}

/** The owner a licence manager knows: Deployment/x for ReplicaSet x-<hash>, else the owner or the pod. */
export function workloadOf(pod: ClusterPod): string {
  const owner = pod.owners[0];
  if (!owner) return `Pod/${pod.name}`;
  const hash = pod.labels['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return `Deployment/${owner.name.slice(0, -hash.length - 1)}`;
  return `${owner.kind}/${owner.name}`;
}

export const podKey = (pod: ClusterPod) => sha256(JSON.stringify(pod));
const nodeKey = (node: ClusterNode) => sha256(JSON.stringify(node));

async function touchCluster(db: Db, clusterId: string, name: string | null | undefined, at: string): Promise<void> {
  const row = await db.selectFrom('clusters').selectAll().where('cluster_id', '=', clusterId).executeTakeFirst();
  if (!row) {
    await db.insertInto('clusters').values({ cluster_id: clusterId, name: name ?? null, first_seen: at, last_seen: at }).execute();
    return;
  }
  await db
    .updateTable('clusters')
    .set({ name: name ?? row.name, first_seen: row.first_seen < at ? row.first_seen : at, last_seen: row.last_seen > at ? row.last_seen : at })
    .where('cluster_id', '=', clusterId)
    .execute();
}

/** Step 1: the run row. Refuses a sweep older than the latest recorded one of the same cluster and shard. */
export async function beginSweep(store: Store, start: SweepStart): Promise<SweepHandle> {
  const observedAt = iso(start.observedAt);
  const shard = start.shard ?? { index: 0, count: 1 };
  const runId = start.runId ?? randomUUID();
  return writeTx(store, async (db) => {
    const latest = await db
      .selectFrom('sweep_runs')
      .select(['observed_at'])
      .where('cluster_id', '=', start.clusterId)
      .where('shard_index', '=', shard.index)
      .where('shard_count', '=', shard.count)
      // Agents of different nodes run on their own clocks: each is ordered against its own runs only.
      .where((eb) => (start.node ? eb('node', '=', start.node) : eb('node', 'is', null)))
      .where('status', '!=', 'running')
      .orderBy('observed_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (latest && latest.observed_at > observedAt) {
      throw badInput(
        `the store already holds a sweep of cluster ${start.clusterId} observed at ${latest.observed_at}, after ${observedAt}`,
        'record snapshots oldest first (--observed-at), or into a new store',
      );
    }
    await touchCluster(db, start.clusterId, start.clusterName, observedAt);
    const row = await db
      .insertInto('sweep_runs')
      .values({
        cluster_id: start.clusterId,
        run_id: runId,
        shard_index: shard.index,
        shard_count: shard.count,
        started_at: iso(start.startedAt ?? new Date()),
        observed_at: observedAt,
        finished_at: null,
        status: 'running',
        source: start.source,
        tool_version: start.toolVersion,
        signature_set_version: start.signatureSetVersion,
        images_scanned: 0,
        images_reused: 0,
        error_count: 0,
        errors_json: '[]',
        usage_options_json: JSON.stringify(start.usageOptions ?? {}),
        entitlements_json: start.entitlements ? JSON.stringify(start.entitlements) : null,
        node: start.node ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, runId, clusterId: start.clusterId, observedAt, shard, signatureSetVersion: start.signatureSetVersion, ...(start.node ? { node: start.node } : {}) };
  });
}

/** Whether this digest was read with this signature-set version (then a sweep does not read it again). */
export async function hasScan(store: Store, digest: string, signatureSetVersion: string): Promise<boolean> {
  const row = await store.db.selectFrom('scans').select('digest').where('digest', '=', digest).where('signature_set_version', '=', signatureSetVersion).executeTakeFirst();
  return !!row;
}

function findingFromRow(r: { product_id: string; vendor: string; product: string; edition: string | null; version: string | null; license_metric: string; licensable: number | null; confidence: string; evidence_json: string }): ProductFinding {
  return {
    id: r.product_id,
    vendor: r.vendor,
    product: r.product,
    edition: r.edition,
    version: r.version,
    licenseMetric: r.license_metric,
    licensable: r.licensable === null ? null : r.licensable === 1,
    confidence: r.confidence as ProductFinding['confidence'],
    evidence: JSON.parse(r.evidence_json),
  };
}

/** The findings recorded for a digest with a signature-set version; null when it was never read so. */
export async function recordedFindings(db: Db, digest: string, signatureSetVersion: string): Promise<ProductFinding[] | null> {
  const scan = await db.selectFrom('scans').select('digest').where('digest', '=', digest).where('signature_set_version', '=', signatureSetVersion).executeTakeFirst();
  if (!scan) return null;
  const rows = await db.selectFrom('findings').selectAll().where('digest', '=', digest).where('signature_set_version', '=', signatureSetVersion).orderBy('product_id').execute();
  return rows.map(findingFromRow);
}

/** The findings of a digest's most recent read, whatever the signature set (pods started between sweeps). */
export async function latestFindings(db: Db, digest: string): Promise<ProductFinding[] | null> {
  const scan = await db.selectFrom('scans').select(['signature_set_version']).where('digest', '=', digest).orderBy('scanned_at', 'desc').limit(1).executeTakeFirst();
  return scan ? recordedFindings(db, digest, scan.signature_set_version) : null;
}

/** Step 2: one image's scan and its findings, in one transaction. */
export async function recordImageScan(store: Store, handle: SweepHandle, image: ImageReport, scannedAt: Date | string = new Date()): Promise<void> {
  await writeTx(store, async (db) => {
    const keyOf = { digest: image.digest, sv: handle.signatureSetVersion };
    await db.deleteFrom('findings').where('digest', '=', keyOf.digest).where('signature_set_version', '=', keyOf.sv).execute();
    await db.deleteFrom('scans').where('digest', '=', keyOf.digest).where('signature_set_version', '=', keyOf.sv).execute();
    await db
      .insertInto('scans')
      .values({ digest: image.digest, signature_set_version: handle.signatureSetVersion, cluster_id: handle.clusterId, image_ref: image.ref, source: image.source ?? null, scanned_at: iso(scannedAt), warnings_json: JSON.stringify(image.warnings ?? []) })
      .execute();
    // One row per product: the same product found twice in an image is one finding with both evidences.
    const byId = new Map<string, ProductFinding>();
    for (const p of image.products) {
      const prev = byId.get(p.id);
      byId.set(p.id, prev ? { ...prev, evidence: [...prev.evidence, ...p.evidence] } : p);
    }
    const rows = [...byId.values()].map((p) => ({
      digest: image.digest,
      signature_set_version: handle.signatureSetVersion,
      cluster_id: handle.clusterId,
      product_id: p.id,
      vendor: p.vendor,
      product: p.product,
      edition: p.edition,
      version: p.version,
      license_metric: p.licenseMetric,
      licensable: p.licensable === null ? null : p.licensable ? 1 : 0,
      confidence: p.confidence,
      evidence_json: JSON.stringify(p.evidence),
    }));
    for (const part of chunks(rows, 500)) await db.insertInto('findings').values(part).execute();
  });
}

export interface ObservedCluster {
  /** The cluster as listed (nodes, pods, containers). */
  model: ClusterModel;
  /** The scan's report: the containers' products and methods (matched to the model by namespace/pod/container). */
  report: Pick<Report, 'containers'>;
}

interface OpenRow {
  id: number;
  node: string | null;
  pod_key: string;
  container: string;
  shard_hash: number;
  first_seen: string;
  last_seen: string;
  products_json: string;
  method: string;
}

/**
 * Step 3: the state the sweep saw, as one transaction: intervals of the containers it saw are
 * opened or extended, open intervals it covers and did not see are closed at observedAt; nodes
 * likewise (every shard sees every node).
 */
export async function recordObservations(store: Store, handle: SweepHandle, seen: ObservedCluster): Promise<void> {
  const at = handle.observedAt;
  const reported = new Map<string, { products: ProductFinding[]; method: string }>();
  for (const c of seen.report.containers) reported.set(`${c.namespace}/${c.pod}/${c.name}`, { products: c.products, method: c.method });

  await writeTx(store, async (db) => {
    // Nodes.
    const openNodes = await db.selectFrom('node_observations').select(['id', 'node_key', 'last_seen', 'first_seen']).where('cluster_id', '=', handle.clusterId).where('closed_at', 'is', null).execute();
    const openNodeByKey = new Map(openNodes.map((n) => [n.node_key, n]));
    const seenNodes = new Set<number>();
    const newNodes: Array<{ cluster_id: string; node: string; node_key: string; spec_json: string; first_seen: string; last_seen: string; closed_at: null }> = [];
    for (const node of seen.model.nodes) {
      const k = nodeKey(node);
      const open = openNodeByKey.get(k);
      if (open) seenNodes.add(open.id);
      else newNodes.push({ cluster_id: handle.clusterId, node: node.name, node_key: k, spec_json: JSON.stringify(node), first_seen: at, last_seen: at, closed_at: null });
    }
    await extend(db, 'node_observations', openNodes.filter((n) => seenNodes.has(n.id)), at);
    await close(db, 'node_observations', openNodes.filter((n) => !seenNodes.has(n.id) && n.last_seen < at).map((n) => n.id), at);
    for (const part of chunks(newNodes, 500)) await db.insertInto('node_observations').values(part).execute();

    // Containers of the shard.
    const open = (await db
      .selectFrom('observations')
      .select(['id', 'node', 'pod_key', 'container', 'shard_hash', 'first_seen', 'last_seen', 'products_json', 'method'])
      .where('cluster_id', '=', handle.clusterId)
      .where('closed_at', 'is', null)
      .execute()) as OpenRow[];
    const covered = (hash: number) => handle.shard.count <= 1 || hash % handle.shard.count === handle.shard.index;
    const onNode = (node: string | null) => !handle.node || node === handle.node;
    const openByKey = new Map(open.filter((o) => covered(o.shard_hash) && onNode(o.node)).map((o) => [`${o.pod_key}\u0000${o.container}`, o]));
    const seenIds = new Set<number>();
    const changed: Array<{ id: number; products_json: string; method: string }> = [];
    const inserts: Array<Record<string, unknown>> = [];
    const specs = new Map<string, string>();
    for (const pod of seen.model.pods) {
      const pk = podKey(pod);
      for (const c of pod.containers) {
        if (c.init) continue;
        const hash = shardHash(c.imageDigest ?? c.image);
        if (!covered(hash) || !onNode(pod.nodeName)) continue;
        const found = reported.get(`${pod.namespace}/${pod.name}/${c.name}`) ?? { products: [], method: 'image' };
        const productsJson = JSON.stringify(found.products);
        specs.set(pk, JSON.stringify(pod));
        const prev = openByKey.get(`${pk}\u0000${c.name}`);
        if (prev) {
          seenIds.add(prev.id);
          if (prev.products_json !== productsJson || prev.method !== found.method) changed.push({ id: prev.id, products_json: productsJson, method: found.method });
          continue;
        }
        inserts.push({
          cluster_id: handle.clusterId,
          pod_key: pk,
          namespace: pod.namespace,
          pod: pod.name,
          pod_uid: pod.uid,
          workload: workloadOf(pod),
          container: c.name,
          node: pod.nodeName,
          image: c.image,
          image_digest: c.imageDigest,
          products_json: productsJson,
          method: found.method,
          phase: pod.phase,
          running: pod.phase === 'Running' ? 1 : 0,
          shard_hash: hash,
          first_seen: at,
          last_seen: at,
          closed_at: null,
          opened_by: 'sweep',
          closed_by: null,
        });
      }
    }
    const openCovered = [...openByKey.values()];
    await extend(db, 'observations', openCovered.filter((o) => seenIds.has(o.id)), at);
    for (const c of changed) await db.updateTable('observations').set({ products_json: c.products_json, method: c.method }).where('id', '=', c.id).execute();
    await close(db, 'observations', openCovered.filter((o) => !seenIds.has(o.id) && o.last_seen < at).map((o) => o.id), at);
    const known = new Set<string>();
    for (const part of chunks([...specs.keys()], 500)) {
      const rows = await db.selectFrom('pod_specs').select('pod_key').where('cluster_id', '=', handle.clusterId).where('pod_key', 'in', part).execute();
      for (const r of rows) known.add(r.pod_key);
    }
    const newSpecs = [...specs].filter(([k]) => !known.has(k)).map(([k, json]) => ({ cluster_id: handle.clusterId, pod_key: k, spec_json: json, first_seen: at }));
    for (const part of chunks(newSpecs, 500)) await db.insertInto('pod_specs').values(part).execute();
    for (const part of chunks(inserts, 400)) await db.insertInto('observations').values(part as never).execute();
    await db.updateTable('sweep_runs').set({ status: 'observed' }).where('id', '=', handle.id).execute();
  });
}

/** last_seen = max(last_seen, at), first_seen = min(first_seen, at) for the rows a sweep saw. */
async function extend(db: Db, table: 'observations' | 'node_observations', rows: Array<{ id: number; first_seen: string; last_seen: string }>, at: string): Promise<void> {
  const later = rows.filter((r) => r.last_seen < at).map((r) => r.id);
  for (const part of chunks(later, 900)) await db.updateTable(table).set({ last_seen: at }).where('id', 'in', part).execute();
  const earlier = rows.filter((r) => r.first_seen > at).map((r) => r.id);
  for (const part of chunks(earlier, 900)) await db.updateTable(table).set({ first_seen: at }).where('id', 'in', part).execute();
}

async function close(db: Db, table: 'observations' | 'node_observations', ids: number[], at: string): Promise<void> {
  for (const part of chunks(ids, 900)) {
    if (table === 'observations') await db.updateTable('observations').set({ closed_at: at, closed_by: 'sweep' }).where('id', 'in', part).execute();
    else await db.updateTable('node_observations').set({ closed_at: at }).where('id', 'in', part).execute();
  }
}

export interface SweepOutcome {
  errors?: ScanErrorRow[];
  imagesScanned?: number;
  imagesReused?: number;
  /** `--retention`: how much history to keep (default 2 years); the quarterly reports are kept. */
  retention?: string;
  now?: Date | string;
}

/**
 * Step 4: the run is done. When every shard of the run has recorded its observations, that
 * moment's figures go into the day's peak and the entitlements are held against them; runs a
 * killed sweep left 'observed' are completed too. Then history past the retention is pruned.
 */
export async function completeSweep(store: Store, handle: SweepHandle, outcome: SweepOutcome = {}): Promise<{ figured: boolean }> {
  await store.db
    .updateTable('sweep_runs')
    .set({
      finished_at: iso(outcome.now ?? new Date()),
      error_count: outcome.errors?.length ?? 0,
      errors_json: JSON.stringify(outcome.errors ?? []),
      images_scanned: outcome.imagesScanned ?? 0,
      images_reused: outcome.imagesReused ?? 0,
    })
    .where('id', '=', handle.id)
    .execute();
  const figured = await completePendingRuns(store, handle.clusterId);
  await pruneHistory(store, { clusterId: handle.clusterId, retention: outcome.retention ?? DEFAULT_RETENTION, now: outcome.now ?? handle.observedAt });
  return { figured: figured.includes(handle.runId) };
}

/** Runs of the cluster whose shards have all recorded their observations but whose figures are not in yet. */
export async function completePendingRuns(store: Store, clusterId: string): Promise<string[]> {
  const rows = await store.db.selectFrom('sweep_runs').select(['run_id', 'shard_index', 'shard_count', 'observed_at', 'status']).where('cluster_id', '=', clusterId).where('status', '=', 'observed').execute();
  const runs = new Map<string, typeof rows>();
  for (const r of rows) runs.set(r.run_id, [...(runs.get(r.run_id) ?? []), r]);
  const done: string[] = [];
  for (const [runId, shards] of runs) {
    const all = await store.db.selectFrom('sweep_runs').select(['shard_index', 'shard_count', 'status', 'observed_at', 'usage_options_json', 'entitlements_json']).where('run_id', '=', runId).where('cluster_id', '=', clusterId).execute();
    const count = shards[0].shard_count;
    const observed = new Set(all.filter((r) => r.status !== 'running').map((r) => r.shard_index));
    if (observed.size < count) continue;
    const at = all.map((r) => r.observed_at).sort().at(-1)!;
    const latest = all.find((r) => r.observed_at === at)!;
    const options = JSON.parse(latest.usage_options_json) as StoredUsageOptions;
    await addSamples(store, clusterId, [at], options);
    await writeTx(store, async (db) => {
      const ents = all.map((r) => r.entitlements_json).find((e) => e !== null);
      if (ents) await recordEntitlementStatus(db, clusterId, runId, at, JSON.parse(ents) as Entitlement[], options);
      await db.updateTable('sweep_runs').set({ status: 'complete' }).where('run_id', '=', runId).where('cluster_id', '=', clusterId).execute();
    });
    done.push(runId);
  }
  return done;
}

async function recordEntitlementStatus(db: Db, clusterId: string, runId: string, at: string, entitlements: Entitlement[], options: StoredUsageOptions): Promise<void> {
  const inv = await inventoryAt(db, clusterId, at);
  const cluster = await db.selectFrom('clusters').select('name').where('cluster_id', '=', clusterId).executeTakeFirst();
  const results = reconcile(entitlements, computeUsage(inv, options).usage, inv, { clusterName: cluster?.name ?? clusterId });
  await db.deleteFrom('entitlement_status').where('run_id', '=', runId).where('cluster_id', '=', clusterId).execute();
  const rows = results.map((r) => ({
    cluster_id: clusterId,
    run_id: runId,
    observed_at: at,
    product: r.product,
    metric: r.metric,
    used: r.used,
    owned: r.owned,
    percentage: r.percentage,
    threshold: r.threshold,
    status: r.status,
    basis: r.basis,
  }));
  for (const part of chunks(rows, 500)) await db.insertInto('entitlement_status').values(part).execute();
}

export interface ClusterReportInput extends Omit<SweepStart, 'source'> {
  report: Report;
  model: ClusterModel;
  source?: SweepStart['source'];
  retention?: string;
}

/**
 * Records one `scan cluster` report (and the model it was computed from) as of observedAt: the
 * four steps above in order. The images of the report are the scans (a digest already read with
 * this signature set is not written again).
 */
export async function recordClusterReport(store: Store, input: ClusterReportInput): Promise<SweepHandle> {
  const handle = await beginSweep(store, { ...input, source: input.source ?? input.model.source });
  let scanned = 0;
  let reused = 0;
  for (const image of input.report.images) {
    if (image.source === 'cluster-metadata') continue;
    if (await hasScan(store, image.digest, input.signatureSetVersion)) {
      reused++;
      continue;
    }
    await recordImageScan(store, handle, image, handle.observedAt);
    scanned++;
  }
  await recordObservations(store, handle, { model: input.model, report: input.report });
  await completeSweep(store, handle, { errors: input.report.errors, imagesScanned: scanned, imagesReused: reused, retention: input.retention, now: input.startedAt ?? handle.observedAt });
  log.debug({ cluster: input.clusterId, observedAt: handle.observedAt, scanned, reused }, 'sweep recorded');
  return handle;
}
