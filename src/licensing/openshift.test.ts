import { describe, expect, it } from 'vitest';
import { buildClusterModel } from '../cluster/model.js';
import { rawNode, testClusterObjects } from '../../test/support/cluster-objects.js';
import { looksLikeOpenShift, openshiftNodeCounts, openshiftUsage } from './openshift.js';

describe('OpenShift core pairs', () => {
  const { nodes, pods } = testClusterObjects();
  const model = buildClusterModel(nodes, pods, 'snapshot');

  it('counts worker nodes only by default: 120 vCPU → 60 cores → 30 two-core subscriptions', () => {
    const [cores, pairs] = openshiftUsage(model);
    expect([cores.metric, cores.quantity, cores.scope]).toEqual(['core', 60, 'worker-nodes']);
    expect([pairs.metric, pairs.quantity]).toEqual(['core-pair', 30]);
    expect(cores.nodes).toEqual(['gpu-h100', 'gpu-mig', 'gpu-nolabel', 'plain-1']);
    expect(openshiftNodeCounts(model).find((c) => c.node === 'cp-1')).toMatchObject({ counted: false, reason: 'control plane: excluded (worker nodes only; --openshift-all-nodes counts it)' });
  });

  it('counts the control plane too when asked: 124 vCPU → 62 cores → 31', () => {
    const [cores, pairs] = openshiftUsage(model, { allNodes: true });
    expect([cores.quantity, pairs.quantity, cores.scope]).toEqual([62, 31, 'all-nodes']);
  });

  it('takes the hyperthreading factor from the option and per node from a label or annotation', () => {
    expect(openshiftUsage(model, { htFactor: 1 })[0].quantity).toBe(120);
    const m = buildClusterModel(
      [
        rawNode({ name: 'a', cpu: '16', labels: { 'node-role.kubernetes.io/worker': '', 'kensus.io/hyperthreading-factor': '1' } }),
        rawNode({ name: 'b', cpu: '16', annotations: { 'kensus.io/hyperthreading-factor': '4' } }),
        rawNode({ name: 'c', cpu: '6' }),
        rawNode({ name: 'd', cpu: '3' }),
      ],
      [],
      'snapshot',
    );
    // a: 16/1 = 16; b: 16/4 = 4; c: 6/2 = 3; d: 3/2 → 2 whole cores. 25 cores → 13 pairs (rounded up).
    const [cores, pairs] = openshiftUsage(m);
    expect(cores.quantity).toBe(25);
    expect(pairs.quantity).toBe(13);
  });

  it('counts a control-plane node that is also a worker (compact cluster)', () => {
    const m = buildClusterModel(
      [rawNode({ name: 'x', cpu: '8', labels: { 'node-role.kubernetes.io/master': '', 'node-role.kubernetes.io/worker': '' } })],
      [],
      'snapshot',
    );
    expect(openshiftUsage(m)[0].quantity).toBe(4);
  });

  it('recognises OpenShift nodes by their labels', () => {
    expect(looksLikeOpenShift(model)).toBe(false);
    const os = buildClusterModel([rawNode({ name: 'w', cpu: '4', labels: { 'node.openshift.io/os_id': 'rhcos' } })], [], 'snapshot');
    expect(looksLikeOpenShift(os)).toBe(true);
  });
});
