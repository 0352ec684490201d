import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeHardware } from '../cluster/hardware.js';
import { agentCoverage, latestNodeHardware, recordHeartbeat, recordNodeHardware } from './agents.js';
import { openStore, type Store } from './open.js';

const hw = (cores: number): NodeHardware => ({
  sockets: 1,
  cores,
  threads: cores * 2,
  memoryBytes: 32 * 2 ** 30,
  cpuModel: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz',
  cpuVendor: 'GenuineIntel',
  dmi: { sysVendor: 'Amazon EC2', productName: 'm6i.2xlarge', productSerial: 'ec2e1916-9099-7caf-fd21-012345678901', productUuid: null, biosVendor: 'Amazon EC2', biosVersion: '1.0', biosDate: '10/16/2017' },
  instanceType: 'm6i.2xlarge',
  architecture: 'amd64',
});

let dir: string | null = null;
let store: Store | null = null;
afterEach(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  store = null;
  dir = null;
});

async function fresh(): Promise<Store> {
  dir = mkdtempSync(join(tmpdir(), 'kensus-agents-'));
  store = await openStore(`sqlite:${join(dir, 'k.db')}`);
  return store;
}

async function nodes(s: Store, names: string[], at: string) {
  await s.db
    .insertInto('node_observations')
    .values(names.map((node) => ({ cluster_id: 'c1', node, node_key: node, spec_json: '{}', first_seen: at, last_seen: at, closed_at: null })))
    .execute();
}

describe('node hardware history', () => {
  it('extends an unchanged reading and starts a new row when the node changes', async () => {
    const s = await fresh();
    expect(await recordNodeHardware(s, 'c1', 'w1', hw(4), '2026-11-01T00:00:00Z')).toBe('new');
    expect(await recordNodeHardware(s, 'c1', 'w1', hw(4), '2026-11-01T00:30:00Z')).toBe('unchanged');
    expect(await recordNodeHardware(s, 'c1', 'w1', hw(8), '2026-11-01T01:00:00Z')).toBe('new');
    const rows = await s.db.selectFrom('node_hardware').select(['cores', 'first_seen', 'last_seen', 'dmi_serial']).orderBy('first_seen').execute();
    expect(rows).toEqual([
      { cores: 4, first_seen: '2026-11-01T00:00:00.000Z', last_seen: '2026-11-01T00:30:00.000Z', dmi_serial: 'ec2e1916-9099-7caf-fd21-012345678901' },
      { cores: 8, first_seen: '2026-11-01T01:00:00.000Z', last_seen: '2026-11-01T01:00:00.000Z', dmi_serial: 'ec2e1916-9099-7caf-fd21-012345678901' },
    ]);
    const latest = await latestNodeHardware(s, 'c1');
    expect(latest.map((r) => [r.node, r.hardware.cores])).toEqual([['w1', 8]]);
  });
});

describe('agentCoverage', () => {
  it('says which present nodes have a recent heartbeat, which a stale one, which none', async () => {
    const s = await fresh();
    await nodes(s, ['w1', 'w2', 'w3'], '2026-11-01T00:00:00.000Z');
    const beat = (node: string, at: string) => recordHeartbeat(s, { clusterId: 'c1', node, at, toolVersion: 't', containers: 1, containersRead: 1, errorCount: 0 });
    await beat('w1', '2026-11-01T02:00:00Z');
    await beat('w2', '2026-11-01T00:10:00Z');
    const cov = await agentCoverage(s, 'c1', { now: '2026-11-01T02:10:00Z' });
    expect(cov.nodes).toEqual([
      { node: 'w1', lastHeartbeat: '2026-11-01T02:00:00.000Z', covered: true },
      { node: 'w2', lastHeartbeat: '2026-11-01T00:10:00.000Z', covered: false },
      { node: 'w3', lastHeartbeat: null, covered: false },
    ]);
    expect(cov.covered).toBe(1);
    expect(cov.uncovered).toEqual(['w2', 'w3']);
    // Another cluster's heartbeats do not count.
    expect((await agentCoverage(s, 'other', { now: '2026-11-01T02:10:00Z' })).nodes).toEqual([]);
  });
});
