import { afterEach, describe, expect, it } from 'vitest';
import { recordHeartbeat } from '../store/agents.js';
import { freshStore, type TestStore } from '../../test/support/stores.js';
import { coverageOfNodes, coverageWhereAgentsRan, markAgents } from './coverage.js';

describe('node-agent coverage of the nodes a scan listed', () => {
  let t: TestStore | undefined;
  afterEach(async () => t?.cleanup());

  it('covers a node whose agent reported within 75 minutes of the time judged; an older or later heartbeat does not count', async () => {
    t = await freshStore('sqlite');
    const store = await t.open();
    const beat = (node: string, at: string) => recordHeartbeat(store, { clusterId: 'c1', node, at, toolVersion: 'test', containers: 1, containersRead: 1, errorCount: 0 });
    await beat('fresh', '2026-11-10T01:30:00Z');
    await beat('stale', '2026-11-10T00:30:00Z');
    await beat('stale', '2026-11-09T23:00:00Z');
    await beat('future', '2026-11-10T03:00:00Z');
    // another cluster's agent on a node of the same name says nothing about this one
    await recordHeartbeat(store, { clusterId: 'c2', node: 'never', at: '2026-11-10T01:59:00Z', toolVersion: 'test', containers: 0, containersRead: 0, errorCount: 0 });

    const c = await coverageOfNodes(store, 'c1', ['stale', 'fresh', 'never', 'future'], '2026-11-10T02:00:00.000Z');
    expect(c).toEqual({
      clusterId: 'c1',
      at: '2026-11-10T02:00:00.000Z',
      nodes: [
        { node: 'fresh', lastHeartbeat: '2026-11-10T01:30:00.000Z', covered: true },
        { node: 'future', lastHeartbeat: null, covered: false },
        { node: 'never', lastHeartbeat: null, covered: false },
        { node: 'stale', lastHeartbeat: '2026-11-10T00:30:00.000Z', covered: false },
      ],
      covered: 1,
      uncovered: ['future', 'never', 'stale'],
    });
    const nodes: Array<{ name: string; agent?: boolean | Record<string, unknown> }> = [{ name: 'fresh' }, { name: 'stale' }, { name: 'gone' }];
    markAgents(nodes, c);
    expect(nodes).toEqual([{ name: 'fresh', agent: { lastHeartbeat: '2026-11-10T01:30:00.000Z' } }, { name: 'stale', agent: false }, { name: 'gone', agent: false }]);
  });

  it('gives nothing for a cluster no agent ever reported for, so central-only stores keep their reports', async () => {
    t = await freshStore('sqlite');
    const store = await t.open();
    await recordHeartbeat(store, { clusterId: 'with-agents', node: 'n1', at: '2026-11-10T01:30:00Z', toolVersion: 'test', containers: 0, containersRead: 0, errorCount: 0 });
    const found = await coverageWhereAgentsRan(store, ['without-agents', 'with-agents'], '2026-11-10T02:00:00Z');
    expect(found.map((c) => c.clusterId)).toEqual(['with-agents']);
  });
});
