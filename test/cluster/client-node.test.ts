import { PassThrough, Readable, Writable } from 'node:stream';
import { AppsV1Api, AuthorizationV1Api, CoreV1Api, CustomObjectsApi, Exec, Watch, type V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, kubeConfigFor, startTestCluster, type TestCluster } from '../support/k8s.js';

/** @kubernetes/client-node, the library Kensus itself uses, against the test cluster. */
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

/** A writable that counts bytes (and keeps the first 64 KiB), for outputs too big to keep. */
function counter(): Writable & { bytes: number; head: string } {
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      w.bytes += chunk.length;
      if (w.head.length < 65536) w.head += chunk.toString('utf8').slice(0, 65536);
      cb();
    },
  }) as Writable & { bytes: number; head: string };
  w.bytes = 0;
  w.head = '';
  return w;
}

function runExec(user: string, ns: string, pod: string, command: string[], stdin?: Readable): Promise<{ status: V1Status; stdout: ReturnType<typeof counter>; stderr: ReturnType<typeof counter> }> {
  const stdout = counter();
  const stderr = counter();
  return new Promise((resolve, reject) => {
    new Exec(kubeConfigFor(cluster, user))
      .exec(ns, pod, '', command, stdout, stderr, stdin ?? null, false, (status) => resolve({ status, stdout, stderr }))
      .then((ws) => ws.on('close', () => setTimeout(() => reject(new Error('socket closed without a status')), 1000)))
      .catch(reject);
  });
}

describe('@kubernetes/client-node against the test cluster', () => {
  it('lists and reads nodes, namespaces and pods', async () => {
    const api = kubeConfigFor(cluster).makeApiClient(CoreV1Api);
    const nodes = await api.listNode();
    expect(nodes.items.map((n) => n.metadata?.name).sort()).toEqual(['control-plane-1', 'gpu-a100-mig-1', 'gpu-h100-1', 'worker-1']);
    const gpu = await api.readNode({ name: 'gpu-a100-mig-1' });
    expect(gpu.status?.capacity?.['nvidia.com/mig-1g.10gb']).toBe('14');
    const ns = await api.listNamespace();
    expect(ns.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(['default', 'kube-system', 'team-a', 'team-b']));
    const all = await api.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' });
    expect(all.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toEqual(['team-a/web-0', 'team-b/trainer-0']);
    const pod = await api.readNamespacedPod({ namespace: 'team-b', name: 'trainer-0' });
    expect(pod.spec?.nodeName).toBe('gpu-h100-1');
    expect(pod.spec?.containers[0].resources?.limits?.['nvidia.com/gpu']).toBe('2');
    expect(pod.status?.containerStatuses?.[0].containerID).toBe(`docker://${cluster.containerId('team-b', 'trainer-0')}`);
    // Limits without requests default the requests to the limits: Guaranteed, as on a real cluster.
    expect(pod.status?.qosClass).toBe('Guaranteed');
    expect(pod.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const sts = await kubeConfigFor(cluster).makeApiClient(AppsV1Api).readNamespacedStatefulSet({ namespace: 'team-b', name: 'trainer' });
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 'trainer', uid: sts.metadata?.uid, controller: true });
  });

  it('reports 404 as a Status the client surfaces', async () => {
    const api = kubeConfigFor(cluster).makeApiClient(CoreV1Api);
    const err = await api.readNamespacedPod({ namespace: 'team-a', name: 'nope' }).catch((e) => e);
    expect(err.code).toBe(404);
    expect(JSON.parse(err.body)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'pods "nope" not found', code: 404 });
  });

  it('stores secrets with stringData turned into base64 data', async () => {
    const api = kubeConfigFor(cluster).makeApiClient(CoreV1Api);
    await api.createNamespacedSecret({ namespace: 'team-a', body: { metadata: { name: 'ibm-licensing-token' }, stringData: { token: 's3cret' } } });
    const s = await api.readNamespacedSecret({ namespace: 'team-a', name: 'ibm-licensing-token' });
    expect(Buffer.from(s.data!.token, 'base64').toString()).toBe('s3cret');
    expect(s.type).toBe('Opaque');
  });

  it('watches pods from creation to deletion', async () => {
    const kc = kubeConfigFor(cluster);
    const events: { type: string; phase?: string }[] = [];
    const start = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'team-b' })).metadata?.resourceVersion;
    const deleted = new Promise<void>((resolve, reject) => {
      void new Watch(kc).watch('/api/v1/namespaces/team-b/pods', { resourceVersion: start, labelSelector: 'app=watched' }, (type, obj) => {
        events.push({ type, phase: obj.status?.phase });
        if (type === 'DELETED') resolve();
      }, (err) => (err ? reject(err) : undefined));
    });
    await cluster.createPod({ metadata: { name: 'watched', namespace: 'team-b', labels: { app: 'watched' } }, spec: { containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sleep', '600'] }] } });
    await cluster.deletePod('team-b', 'watched');
    await deleted;
    expect(events[0]).toEqual({ type: 'ADDED', phase: 'Pending' });
    expect(events.some((e) => e.type === 'MODIFIED' && e.phase === 'Running')).toBe(true);
    expect(events[events.length - 1].type).toBe('DELETED');
  });

  it('execs with stdout and stderr apart and a Success status', async () => {
    const { status, stdout, stderr } = await runExec('admin', 'team-a', 'web-0', ['sh', '-c', 'echo out; echo err >&2']);
    expect(status.status).toBe('Success');
    expect(stdout.head).toBe('out\n');
    expect(stderr.head).toBe('err\n');
  });

  it('returns the exit code in the status like the kubelet', async () => {
    const { status } = await runExec('admin', 'team-a', 'web-0', ['sh', '-c', 'exit 7']);
    expect(status).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c exit 7], exit code 7',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
  });

  it('feeds stdin and closes it (v5 close frame) so the command sees EOF', async () => {
    const input = new PassThrough();
    const done = runExec('admin', 'team-a', 'web-0', ['sh', '-c', 'wc -c'], input);
    input.end(Buffer.alloc(300_000, 1));
    const { status, stdout } = await done;
    expect(status.status).toBe('Success');
    expect(stdout.head.trim()).toBe('300000');
  });

  it('finishes a command that never reads stdin while stdin stays open', async () => {
    const input = new PassThrough(); // never ended
    input.write('ignored\n');
    const { status, stdout } = await runExec('admin', 'team-a', 'web-0', ['echo', 'bye'], input);
    expect(status.status).toBe('Success');
    expect(stdout.head).toBe('bye\n');
    input.destroy();
  });

  it('runs with a TTY and applies terminal resizes', async () => {
    let out = '';
    const stdout = Object.assign(new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } }), { columns: 123, rows: 45 });
    const stdin = new PassThrough();
    // The resize frame races the command's start: poll until the size has arrived.
    const script = 'for i in $(seq 100); do s=$(stty size 2>/dev/null); [ -n "$s" ] && [ "$s" != "0 0" ] && break; sleep 0.05; done; echo "$s"; tty';
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kubeConfigFor(cluster)).exec('team-a', 'web-0', '', ['sh', '-c', script], stdout, null, stdin, true, resolve).catch(reject);
    });
    stdin.destroy();
    expect(status.status).toBe('Success');
    expect(out).toBe('45 123\r\n/dev/pts/0\r\n');
  });

  it('streams 100 MB of output with bounded server memory', async () => {
    const before = process.memoryUsage().rss;
    const { status, stdout, stderr } = await runExec('admin', 'team-a', 'web-0', ['sh', '-c', 'dd if=/dev/zero bs=1000000 count=100 2>/dev/null; echo tail >&2']);
    expect(status.status).toBe('Success');
    expect(stdout.bytes).toBe(100_000_000);
    expect(stderr.head).toBe('tail\n');
    // Server and client share this process: a buffered 100 MB would show here.
    expect(process.memoryUsage().rss - before).toBeLessThan(80 * 1024 * 1024);
  });

  it('keeps the process running when the client drops the connection, like the kubelet', async () => {
    // Real clusters do not kill an exec'd process when kubectl goes away
    // (kubernetes/kubernetes#89031, kubectl#1076); a scan that must leave nothing behind has to
    // bound its own run time. Docker exec behaves the same, and this server adds nothing to it.
    const stdout = counter();
    const ws = await new Exec(kubeConfigFor(cluster)).exec('team-a', 'web-0', '', ['sh', '-c', 'while :; do echo tick-tock-marker; sleep 0.05; done'], stdout, null, null, false);
    const deadline = Date.now() + 10_000;
    while (stdout.bytes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.terminate();
    await new Promise((r) => setTimeout(r, 300));
    const ps = (await runExec('admin', 'team-a', 'web-0', ['ps', '-o', 'args'])).stdout.head;
    expect(stdout.bytes).toBeGreaterThan(0);
    expect(ps).toContain('tick-tock-marker');
    const kill = await runExec('admin', 'team-a', 'web-0', ['sh', '-c', 'kill $(ps -o pid,args | awk \'/tick-tock-[m]arker/ {print $1}\')']);
    expect({ status: kill.status, stderr: kill.stderr.head }).toEqual({ status: { metadata: {}, status: 'Success' }, stderr: '' });
  });

  it('refuses pods/exec with 403 for the restricted token, while reads work', async () => {
    const err = await runExec('restricted', 'team-a', 'web-0', ['echo', 'x']).catch((e) => e);
    expect(String(err.message ?? err)).toMatch(/403/);
    const api = kubeConfigFor(cluster, 'restricted').makeApiClient(CoreV1Api);
    const pods = await api.listNamespacedPod({ namespace: 'team-a' });
    expect(pods.items.map((p) => p.metadata?.name)).toContain('web-0');
    const denied = await api.listNamespacedPod({ namespace: 'team-b' }).catch((e) => e);
    expect(denied.code).toBe(403);
    expect(JSON.parse(denied.body).message).toBe('pods is forbidden: User "restricted" cannot list resource "pods" in API group "" in the namespace "team-b"');
    const review = await kubeConfigFor(cluster, 'restricted').makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { namespace: 'team-a', verb: 'create', resource: 'pods', subresource: 'exec' } } },
    });
    expect(review.status?.allowed).toBe(false);
  });

  it('lists custom resources of a CRD', async () => {
    await cluster.create({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'ibmlicensings.operator.ibm.com' },
      spec: { group: 'operator.ibm.com', scope: 'Cluster', names: { kind: 'IBMLicensing', plural: 'ibmlicensings', singular: 'ibmlicensing' }, versions: [{ name: 'v1alpha1', served: true, storage: true }] },
    });
    await cluster.create({ apiVersion: 'operator.ibm.com/v1alpha1', kind: 'IBMLicensing', metadata: { name: 'instance' }, spec: { datasource: 'datacollector' } });
    const api = kubeConfigFor(cluster).makeApiClient(CustomObjectsApi);
    const list = await api.listClusterCustomObject({ group: 'operator.ibm.com', version: 'v1alpha1', plural: 'ibmlicensings' });
    expect(list.items.map((o: any) => [o.kind, o.metadata.name, o.spec.datasource])).toEqual([['IBMLicensing', 'instance', 'datacollector']]);
  });
});
