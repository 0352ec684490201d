import { describe, expect, it } from 'vitest';
import { buildClusterModel } from './model.js';
import { filterModel } from './filter.js';
import { rawNode, rawPod } from '../../test/support/cluster-objects.js';

describe('absurd quantities in the cluster model (issue 19)', () => {
  const nodes = [
    rawNode({ name: 'good', cpu: '8' }),
    rawNode({ name: 'infinite', cpu: '1e309' }),
    rawNode({ name: 'negative', cpu: '-1', memory: '999999999Ei' }),
    rawNode({ name: 'gpus', cpu: '16', extraCapacity: { 'nvidia.com/gpu': 'NaN' } }),
  ];
  const pods = [
    rawPod({ namespace: 'a', name: 'ok', node: 'good', containers: [{ name: 'c', image: 'x:1', limits: { cpu: '2' } }] }),
    rawPod({ namespace: 'a', name: 'bad', node: 'good', containers: [{ name: 'c', image: 'x:1', limits: { cpu: '-1', 'nvidia.com/gpu': '999999999Ei' }, requests: { cpu: '1e309' } }] }),
    rawPod({ namespace: 'b', name: 'frac', node: 'good', containers: [{ name: 'side', image: 'y:1' }, { name: 'gpu', image: 'y:1', limits: { 'nvidia.com/gpu': '0.5' } }] }),
  ];
  const model = buildClusterModel(nodes, pods, 'snapshot');

  it('gives every object a believable figure and one problem row per field that is not', () => {
    const n = Object.fromEntries(model.nodes.map((x) => [x.name, x]));
    expect(n.good.cpuCapacityMilli).toBe(8000);
    // allocatable is a copy of capacity in these fixtures: also absurd, so nothing is left
    expect(n.infinite.cpuCapacityMilli).toBe(0);
    expect(n.negative.cpuCapacityMilli).toBe(0);
    expect(n.negative.memoryBytes).toBe(0);
    expect(n.gpus.gpuCapacity).toBe(0);
    const bad = model.pods.find((p) => p.name === 'bad')!.containers[0];
    expect([bad.cpuLimitMilli, bad.cpuRequestMilli, bad.gpus]).toEqual([null, null, 0]);
    expect(model.pods.find((p) => p.name === 'ok')!.containers[0].cpuLimitMilli).toBe(2000);

    expect(model.problems).toEqual([
      { target: 'node/infinite', message: 'status.capacity.cpu "1e309" is not a finite number; ignored (counted as 0)' },
      { target: 'node/infinite', message: 'status.allocatable.cpu "1e309" is not a finite number; ignored (capacity used instead)' },
      { target: 'node/negative', message: 'status.capacity.cpu "-1" is negative; ignored (counted as 0)' },
      { target: 'node/negative', message: 'status.allocatable.cpu "-1" is negative; ignored (capacity used instead)' },
      { target: 'node/negative', message: expect.stringMatching(/^status\.capacity\.memory "999999999Ei" is more than 1125899906842624 bytes \(1 PiB\): not a real machine; ignored/) },
      { target: 'node/gpus', message: 'status.capacity.nvidia.com/gpu "NaN" is not a finite number; ignored (counted as 0)' },
      { target: 'node/gpus', message: 'status.allocatable.nvidia.com/gpu "NaN" is not a finite number; ignored (capacity used instead)' },
      { target: 'a/bad/c', message: expect.stringMatching(/^spec\.containers\[0\]\.resources\.limits\.nvidia\.com\/gpu "999999999Ei" is more than 100000 devices/) },
      { target: 'a/bad/c', message: 'spec.containers[0].resources.limits.cpu "-1" is negative; ignored (the container counts as having no CPU limit)' },
      { target: 'a/bad/c', message: 'spec.containers[0].resources.requests.cpu "1e309" is not a finite number; ignored' },
      { target: 'b/frac/gpu', message: 'spec.containers[1].resources.limits.nvidia.com/gpu "0.5" is not a whole number of devices; ignored (counted as 0)' },
    ]);
  });

  it('keeps the problem rows of the objects a filter keeps, and only those', () => {
    const onlyB = filterModel(model, { namespaces: ['b'] });
    expect(onlyB.problems.map((p) => p.target)).toEqual(['node/infinite', 'node/infinite', 'node/negative', 'node/negative', 'node/negative', 'node/gpus', 'node/gpus', 'b/frac/gpu']);
    const goodNodes = filterModel(model, { nodeSelector: 'kubernetes.io/hostname=good' });
    expect(goodNodes.problems.map((p) => p.target)).toEqual(['a/bad/c', 'a/bad/c', 'a/bad/c', 'b/frac/gpu']);
  });
});
