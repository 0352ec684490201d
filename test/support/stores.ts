import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClusterModel, type ClusterModel } from '../../src/cluster/model.js';
import { rawNode, rawPod, type NodeSpec, type PodSpec } from './cluster-objects.js';
import { buildInventory } from '../../src/inventory/inventory.js';
import { patternMetadataMatcher } from '../../src/inventory/metadata.js';
import { computeUsage } from '../../src/licensing/usage.js';
import type { Report } from '../../src/model/report.js';
import { buildClusterReport } from '../../src/report/cluster.js';
import { openStore, type Store } from '../../src/store/open.js';
import { freshPostgresDatabase } from './postgres.js';

/**
 * The two stores every store test runs against (describe.each): an SQLite file in a temp dir and
 * a fresh database on the test PostgreSQL (test/support/postgres.ts).
 */
export const storeKinds = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof storeKinds)[number];

export interface TestStore {
  kind: StoreKind;
  url: string;
  /** Opens (and migrates) the store; a test may open it several times, as several processes would. */
  open(opts?: Parameters<typeof openStore>[1]): Promise<Store>;
  cleanup(): Promise<void>;
}

export async function freshStore(kind: StoreKind): Promise<TestStore> {
  const opened: Store[] = [];
  const open = async (opts?: Parameters<typeof openStore>[1]) => {
    const s = await openStore(url, opts);
    opened.push(s);
    return s;
  };
  let url: string;
  let drop: () => Promise<void>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'kensus-store-'));
    url = `sqlite:${join(dir, 'kensus.db')}`;
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const db = await freshPostgresDatabase();
    url = db.url;
    drop = db.drop;
  }
  return {
    kind,
    url,
    open,
    async cleanup() {
      for (const s of opened) await s.close().catch(() => {});
      await drop();
    },
  };
}

/** A cluster as `kubectl get nodes,pods -A -o json` would give it, normalised as the scan does. */
export function clusterOf(nodes: NodeSpec[], pods: PodSpec[], name: string | null = null): ClusterModel {
  return buildClusterModel(nodes.map(rawNode), pods.map(rawPod), 'snapshot', name);
}

/** The `scan cluster --metadata-only` report of a model (products from annotations and image names). */
export async function reportOf(model: ClusterModel, clusterId: string, now: Date): Promise<Report> {
  const inv = await buildInventory(model, { matchMetadata: patternMetadataMatcher }, { metadataOnly: true });
  const figures = computeUsage(inv);
  return buildClusterReport(inv, figures, null, { version: 'test', clusterId, now });
}

export const IBM_MQ = {
  productID: '208423bb063c43288328b1d788745b0c',
  productName: 'IBM MQ Advanced',
  productMetric: 'VIRTUAL_PROCESSOR_CORE',
  productChargedContainers: 'All',
};

/** One IBM MQ pod with `cores` of CPU limit on `node`. */
export function mqPod(name: string, node: string, cores: number, extra: Partial<PodSpec> = {}): PodSpec {
  return {
    namespace: 'mq',
    name,
    node,
    annotations: IBM_MQ,
    containers: [{ name: 'qmgr', image: 'icr.io/ibm-messaging/mq:9.4.0.0-r1', limits: { cpu: String(cores) } }],
    ...extra,
  };
}
