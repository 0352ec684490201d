import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from './pods.js';
import { BUSYBOX_IMAGE, defaultFixture, kubectl, startTestCluster, type TestCluster } from '../support/k8s.js';

/** What a pod spec turns into on the Docker side: volumes, security context, phases, clean-up. */
let cluster: TestCluster;
const SLEEP = ['sleep', '600'];

beforeAll(async () => {
  cluster = await startTestCluster({ fixture: { ...defaultFixture(), objects: [] } });
});

afterAll(async () => {
  await cluster?.stop();
});

async function sh(ns: string, pod: string, script: string): Promise<string> {
  const r = await kubectl(cluster, ['exec', '-n', ns, pod, '--', 'sh', '-c', script]);
  if (r.code !== 0) throw new Error(`exec failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

describe('pods backed by Docker containers', () => {
  it('mounts emptyDir and hostPath volumes', async () => {
    const host = mkdtempSync(join(tmpdir(), 'kensus-hostpath-'));
    chmodSync(host, 0o777);
    writeFileSync(join(host, 'from-host.txt'), 'host data\n');
    await cluster.createPod({
      metadata: { name: 'vols', namespace: 'team-a' },
      spec: {
        volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'data', hostPath: { path: host, type: 'Directory' } }],
        containers: [
          { name: 'a', image: BUSYBOX_IMAGE, command: SLEEP, volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }, { name: 'data', mountPath: '/data' }] },
          { name: 'b', image: BUSYBOX_IMAGE, command: SLEEP, volumeMounts: [{ name: 'scratch', mountPath: '/shared', readOnly: true }] },
        ],
      },
    });
    expect(await sh('team-a', 'vols', 'cat /data/from-host.txt; echo written > /data/from-pod.txt; echo x > /scratch/f')).toBe('host data\n');
    expect(readFileSync(join(host, 'from-pod.txt'), 'utf8')).toBe('written\n');
    const r = await kubectl(cluster, ['exec', '-n', 'team-a', 'vols', '-c', 'b', '--', 'sh', '-c', 'cat /shared/f; echo y > /shared/g']);
    expect(r.stdout).toBe('x\n'); // the emptyDir is shared between the pod's containers...
    expect(r.stderr).toMatch(/Read-only file system/); // ...and read-only where the mount says so
    await cluster.deletePod('team-a', 'vols');
  });

  it('maps readOnlyRootFilesystem and runAsUser onto the container', async () => {
    await cluster.createPod({
      metadata: { name: 'locked', namespace: 'team-a' },
      spec: {
        securityContext: { runAsUser: 1000, runAsGroup: 1000 },
        volumes: [{ name: 'tmp', emptyDir: {} }],
        containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: SLEEP, securityContext: { readOnlyRootFilesystem: true }, volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] }],
      },
    });
    const r = await kubectl(cluster, ['exec', '-n', 'team-a', 'locked', '--', 'sh', '-c', 'id -u; id -g; touch /tmp/ok && echo tmp-ok; touch /etc/x']);
    expect(r.stdout).toBe('1000\n1000\ntmp-ok\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    const info = await cluster.docker.getContainer(cluster.containerId('team-a', 'locked')).inspect();
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.Config.User).toBe('1000:1000');
    await cluster.deletePod('team-a', 'locked');
  });

  it('passes env, configMap values and secret volumes through', async () => {
    await cluster.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'team-b' }, data: { MODE: 'audit' } });
    await cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'team-b' }, stringData: { token: 't0k' } });
    await cluster.createPod({
      metadata: { name: 'env', namespace: 'team-b' },
      spec: {
        volumes: [{ name: 's', secret: { secretName: 'sec' } }],
        containers: [{
          name: 'c', image: BUSYBOX_IMAGE, command: SLEEP,
          env: [{ name: 'A', value: '1' }, { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } }, { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          volumeMounts: [{ name: 's', mountPath: '/var/run/secret' }],
        }],
      },
    });
    const pod = cluster.get('v1', 'Pod', 'team-b', 'env')!;
    expect(await sh('team-b', 'env', 'echo $A $MODE $NODE; cat /var/run/secret/token')).toBe(`1 audit ${pod.spec.nodeName}\nt0k`);
    await cluster.deletePod('team-b', 'env');
  });

  it('schedules onto nodes by selector, taints and GPU capacity', async () => {
    const gpuPod = await cluster.createPod({
      metadata: { name: 'gpu', namespace: 'team-b' },
      spec: {
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }],
        nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
        containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: SLEEP, resources: { limits: { 'nvidia.com/gpu': '8' } } }],
      },
    });
    expect(gpuPod.spec.nodeName).toBe('gpu-h100-1');
    expect(gpuPod.status.podIP).toMatch(/^10\.244\.2\.\d+$/);
    const plain = await cluster.createPod({ metadata: { name: 'plain', namespace: 'team-b' }, spec: { containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: SLEEP }] } });
    expect(plain.spec.nodeName).toBe('worker-1'); // the only node without a NoSchedule taint
    const full = await cluster.createPod({
      metadata: { name: 'no-room', namespace: 'team-b' },
      spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: BUSYBOX_IMAGE, resources: { limits: { 'nvidia.com/gpu': '9' } } }] },
    }, { wait: false });
    expect(full.spec.nodeName).toBeUndefined();
    expect(full.status.conditions[0]).toMatchObject({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' });
    await Promise.all(['gpu', 'plain', 'no-room'].map((n) => cluster.deletePod('team-b', n)));
  });

  it('reports terminated containers and images that cannot be pulled', async () => {
    const failed = await cluster.createPod({
      metadata: { name: 'fails', namespace: 'team-a' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'exit 4'] }] },
    }, { timeoutMs: 15_000 });
    const done = await cluster.waitForPod('team-a', 'fails', (p) => p.status.phase === 'Failed');
    expect(failed.metadata.name).toBe('fails');
    expect(done.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 4, reason: 'Error' });
    const ok = await cluster.createPod({ metadata: { name: 'ok', namespace: 'team-a' }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['true'] }] } });
    expect((await cluster.waitForPod('team-a', ok.metadata.name, (p) => p.status.phase === 'Succeeded')).status.containerStatuses[0].state.terminated.reason).toBe('Completed');
    const missing = await cluster.createPod({ metadata: { name: 'missing', namespace: 'team-a' }, spec: { containers: [{ name: 'c', image: 'registry.example/none:1' }] } });
    expect(missing.status.phase).toBe('Pending');
    expect(missing.status.containerStatuses[0].state.waiting).toEqual({ reason: 'ErrImageNeverPull', message: 'Container image "registry.example/none:1" is not present with pull policy of Never' });
    const table = await kubectl(cluster, ['get', 'pods', '-n', 'team-a']);
    expect(table.stdout).toMatch(/missing\s+0\/1\s+ErrImageNeverPull/);
    expect(table.stdout).toMatch(/fails\s+0\/1\s+Error/);
    await Promise.all(['fails', 'ok', 'missing'].map((n) => cluster.deletePod('team-a', n)));
  });

  it('serves container logs', async () => {
    await cluster.createPod({ metadata: { name: 'talker', namespace: 'team-a' }, spec: { containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo line1; echo line2 >&2; sleep 600'] }] } });
    let r = await kubectl(cluster, ['logs', '-n', 'team-a', 'talker']);
    for (let i = 0; i < 50 && !r.stdout.includes('line2'); i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await kubectl(cluster, ['logs', '-n', 'team-a', 'talker']);
    }
    expect(r.stdout.split('\n').sort()).toEqual(['', 'line1', 'line2']);
    await cluster.deletePod('team-a', 'talker');
  });

  it('rejects invalid pods with a 422 Status naming the field', async () => {
    const r = await kubectl(cluster, ['run', 'Bad_Name', '--image', BUSYBOX_IMAGE, '-n', 'team-a']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"');
    const noNs = await kubectl(cluster, ['run', 'p', '--image', BUSYBOX_IMAGE, '-n', 'nowhere']);
    expect(noNs.stderr).toContain('namespaces "nowhere" not found');
  });

  it('leaves no container behind when a pod is deleted while it starts', async () => {
    const pod = await cluster.createPod({ metadata: { name: 'hasty', namespace: 'team-a' }, spec: { containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: SLEEP }] } }, { wait: false });
    await cluster.deletePod('team-a', 'hasty');
    await new Promise((r) => setTimeout(r, 2000)); // longer than a container start on this machine
    const left = await cluster.docker.listContainers({ all: true, filters: { label: [`io.kubernetes.pod.uid=${pod.metadata.uid}`] } });
    expect(left).toEqual([]);
  });

  it('removes the containers of a deleted namespace', async () => {
    await cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'short-lived' } });
    await cluster.createPod({ metadata: { name: 'p', namespace: 'short-lived' }, spec: { containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: SLEEP }] } });
    const id = cluster.containerId('short-lived', 'p');
    const r = await kubectl(cluster, ['delete', 'namespace', 'short-lived']);
    expect(r.stdout.trim()).toBe('namespace "short-lived" deleted');
    await expect(cluster.docker.getContainer(id).inspect()).rejects.toThrow(/no such container/i);
    expect(cluster.list('v1', 'Pod', 'short-lived')).toEqual([]);
  });
});

describe('test cluster lifecycle', () => {
  it('removes leftovers of a crashed cluster at start and its own containers at stop', async () => {
    // A container as a crashed run would leave it: labelled, with a pid that no longer exists.
    const stale = await cluster.docker.createContainer({
      Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' },
      Labels: { [LABEL.server]: 'crashed-run', [LABEL.serverPid]: '999999999' },
    });
    await stale.start();
    const other = await startTestCluster({ fixture: { nodes: [{ name: 'n1', capacity: { cpu: '2', memory: '4Gi', pods: '10' } }], namespaces: ['x'], objects: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'x' }, spec: { containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: SLEEP }] } }] } });
    await expect(stale.inspect()).rejects.toThrow(/no such container/i);
    // ...while this file's live cluster keeps its pods.
    const mine = await cluster.createPod({ metadata: { name: 'survivor', namespace: 'team-a' }, spec: { containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: SLEEP }] } });
    const id = other.containerId('x', 'p');
    await other.stop();
    await expect(cluster.docker.getContainer(id).inspect()).rejects.toThrow(/no such container/i);
    expect((await cluster.docker.getContainer(cluster.containerId('team-a', mine.metadata.name)).inspect()).State.Running).toBe(true);
    await cluster.deletePod('team-a', 'survivor');
  });
});
