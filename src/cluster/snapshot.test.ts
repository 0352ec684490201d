import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KensusError } from '../errors.js';
import { loadSnapshot } from './snapshot.js';
import { filterModel } from './filter.js';
import { testClusterList } from '../../test/support/cluster-objects.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kensus-snapshot-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

async function expectBadInput(p: Promise<unknown>, re: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(KensusError);
  expect((err as KensusError).exitCode).toBe(2);
  expect((err as KensusError).message).toMatch(re);
}

describe('cluster snapshot', () => {
  it('reads a kubectl v1 List of nodes and pods into the model', async () => {
    const file = await write('cluster.json', JSON.stringify(testClusterList()));
    const model = await loadSnapshot(file);
    expect(model.source).toBe('snapshot');
    expect(model.nodes.map((n) => n.name)).toEqual(['cp-1', 'gpu-h100', 'gpu-mig', 'gpu-nolabel', 'plain-1']);
    const h100 = model.nodes.find((n) => n.name === 'gpu-h100')!;
    expect(h100.cpuCapacityMilli).toBe(64000);
    expect(h100.gpuCapacity).toBe(8);
    expect(h100.roles).toEqual(['worker']);
    const mig = model.nodes.find((n) => n.name === 'gpu-mig')!;
    expect(mig.mig).toEqual({ '1g.5gb': 14 });
    const cp = model.nodes.find((n) => n.name === 'cp-1')!;
    expect(cp.controlPlane).toBe(true);
    expect(cp.taints[0].effect).toBe('NoSchedule');

    const db2 = model.pods.find((p) => p.name === 'db2-limited')!;
    expect(db2.annotations.productChargedContainers).toBe('db2');
    expect(db2.containers.map((c) => [c.name, c.cpuLimitMilli])).toEqual([['db2', 2000], ['istio-proxy', null]]);
    expect(db2.containers[0].imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(db2.owners).toEqual([{ kind: 'ReplicaSet', name: 'db2-limited-rs' }]);
    const nim = model.pods.find((p) => p.name === 'nim-mig')!;
    expect(nim.containers[0].mig).toEqual({ '1g.5gb': 1 });
    const pending = model.pods.find((p) => p.name === 'mq-pending')!;
    expect(pending.phase).toBe('Pending');
    expect(pending.containers[0].imageDigest).toBeNull();
  });

  it('reads YAML output and NodeList/PodList documents too', async () => {
    const list = testClusterList() as { items: Array<{ kind: string }> };
    const yamlFile = await write('cluster.yaml', stringify(list));
    expect((await loadSnapshot(yamlFile)).pods.length).toBe(list.items.filter((i) => i.kind === 'Pod').length);
    const nodeList = { kind: 'NodeList', apiVersion: 'v1', items: list.items.filter((i) => i.kind === 'Node').map(({ kind: _k, ...rest }) => rest) };
    expect((await loadSnapshot(await write('nodes.json', JSON.stringify(nodeList)))).nodes.length).toBe(5);
  });

  it('names the file and what was expected when the snapshot is wrong', async () => {
    await expectBadInput(loadSnapshot(join(dir, 'absent.json')), /absent\.json.*no such file/);
    await expectBadInput(loadSnapshot(await write('broken.json', '{"kind": "List", "items": [')), /broken\.json is not valid JSON/);
    await expectBadInput(loadSnapshot(await write('pod.json', JSON.stringify({ kind: 'Pod', metadata: { name: 'x' } }))), /pod\.json is not a Kubernetes list.*kind Pod/);
    const podsOnly = { kind: 'List', items: [{ kind: 'Pod', metadata: { name: 'p', namespace: 'n' } }] };
    await expectBadInput(loadSnapshot(await write('pods-only.json', JSON.stringify(podsOnly))), /holds no Node \(found 1 pods\)/);
  });

  it('filters namespaces and label selectors like the API would', async () => {
    const model = await loadSnapshot(await write('c2.json', JSON.stringify(testClusterList())));
    const onlyMq = filterModel(model, { namespaces: ['mq'] });
    expect(new Set(onlyMq.pods.map((p) => p.namespace))).toEqual(new Set(['mq']));
    expect(onlyMq.nodes.length).toBe(5);
    const noMq = filterModel(model, { excludeNamespaces: ['mq', 'ace'] });
    expect(noMq.pods.some((p) => p.namespace === 'mq' || p.namespace === 'ace')).toBe(false);
    const byLabel = filterModel(model, { podSelector: 'app in (nginx, oracle-0)' });
    expect(byLabel.pods.map((p) => p.name).sort()).toEqual(['nginx', 'oracle-0']);
    const gpuNodes = filterModel(model, { nodeSelector: 'nvidia.com/gpu.present=true' });
    expect(gpuNodes.nodes.map((n) => n.name)).toEqual(['gpu-h100', 'gpu-mig']);
    expect(gpuNodes.pods.every((p) => p.nodeName === 'gpu-h100' || p.nodeName === 'gpu-mig')).toBe(true);
  });
});
