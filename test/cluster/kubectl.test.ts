import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, kubectl, startTestCluster, startWebhookServer, type TestCluster, type WebhookServer } from '../support/k8s.js';

/** The machine's real kubectl is the conformance client: these run it unchanged against the server. */
let cluster: TestCluster;
let webhook: WebhookServer;
const dir = mkdtempSync(join(tmpdir(), 'kensus-kubectl-test-'));
const testdata = join(import.meta.dirname, 'testdata');

function podYaml(name: string, ns: string, labels: Record<string, string> = {}): string {
  const file = join(dir, `${name}.yaml`);
  const lbl = Object.entries(labels).map(([k, v]) => `    ${k}: "${v}"`).join('\n');
  writeFileSync(file, `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
    app: ${name}
${lbl}
spec:
  containers:
  - name: main
    image: ${BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`);
  return file;
}

beforeAll(async () => {
  cluster = await startTestCluster();
  // One webhook server whose verdict depends on a pod label, so a single configuration covers
  // allow, deny, warn and a timeout.
  webhook = await startWebhookServer((req) => {
    const verdict = req.object?.metadata?.labels?.verdict;
    if (verdict === 'deny') return { allowed: false, status: { code: 403, message: 'pods labelled verdict=deny are not welcome' } };
    if (verdict === 'warn') return { allowed: true, warnings: ['this pod runs unlicensed software'] };
    if (verdict === 'slow') return { allowed: true, delayMs: 3000 };
    return { allowed: true };
  });
  await cluster.create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'kensus-test' },
    webhooks: [{
      name: 'verdict.kensus.test',
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      timeoutSeconds: 1,
      failurePolicy: 'Fail',
      clientConfig: { url: `${webhook.url}/validate`, caBundle: webhook.caBundle },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'team-a' } },
    }],
  });
});

afterAll(async () => {
  await cluster?.stop();
  await webhook?.stop();
});

describe('kubectl against the test cluster', () => {
  it('gets nodes with roles, status and version', async () => {
    const r = await kubectl(cluster, ['get', 'nodes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(lines.find((l) => l.startsWith('gpu-h100-1'))).toMatch(/^gpu-h100-1\s+Ready\s+worker\s+\S+\s+v1\.32\.0$/);
    expect(lines.find((l) => l.startsWith('control-plane-1'))).toMatch(/control-plane/);
  });

  it('gets GPU capacity and labels of nodes as JSON', async () => {
    const r = await kubectl(cluster, ['get', 'node', 'gpu-h100-1', '-o', 'json']);
    const node = JSON.parse(r.stdout);
    expect(node.status.capacity['nvidia.com/gpu']).toBe('8');
    expect(node.metadata.labels['nvidia.com/gpu.product']).toBe('NVIDIA-H100-80GB-HBM3');
    expect(node.spec.taints[0].key).toBe('nvidia.com/gpu');
  });

  it('gets pods of all namespaces as JSON with container ids, image ids and nodes', async () => {
    const r = await kubectl(cluster, ['get', 'pods', '-A', '-o', 'json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout);
    const byName = Object.fromEntries(list.items.map((p: any) => [p.metadata.name, p]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(['web-0', 'trainer-0']));
    const web = byName['web-0'];
    expect(web.metadata.namespace).toBe('team-a');
    expect(web.spec.nodeName).toBe('worker-1');
    expect(web.status.phase).toBe('Running');
    const cs = web.status.containerStatuses[0];
    expect(cs.containerID).toMatch(/^docker:\/\/[0-9a-f]{64}$/);
    const image = await cluster.docker.getImage(BUSYBOX_IMAGE).inspect();
    expect(cs.imageID).toBe(`docker://${image.Id}`);
    const container = await cluster.docker.getContainer(cs.containerID.slice(9)).inspect();
    expect(container.State.Running).toBe(true);
    expect(container.Config.Labels['kensus.test/pod']).toBe('web-0');
  });

  it('filters by label and field selectors', async () => {
    const r = await kubectl(cluster, ['get', 'pods', '-A', '-l', 'app=trainer', '--field-selector', 'spec.nodeName=gpu-h100-1,status.phase=Running', '-o', 'name']);
    expect(r.stdout.trim()).toBe('pod/trainer-0');
    const none = await kubectl(cluster, ['get', 'pods', '-A', '--field-selector', 'spec.nodeName=worker-1', '-l', 'app=trainer', '-o', 'name']);
    expect(none.stdout.trim()).toBe('');
  });

  it('execs a command and returns its output', async () => {
    const r = await kubectl(cluster, ['exec', '-n', 'team-a', 'web-0', '--', 'sh', '-c', 'echo hi; echo oops >&2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toBe('oops\n');
  });

  it('execs with stdin piped and passes the exit code on', async () => {
    const r = await kubectl(cluster, ['exec', '-i', '-n', 'team-a', 'web-0', '--', 'sh', '-c', 'tr a-z A-Z; exit 3'], { input: 'hello stdin\n' });
    expect(r.stdout).toBe('HELLO STDIN\n');
    expect(r.stderr).toContain('command terminated with exit code 3');
    expect(r.code).toBe(3);
  });

  it('execs a command that never reads stdin', async () => {
    const r = await kubectl(cluster, ['exec', '-i', '-n', 'team-a', 'web-0', '--', 'echo', 'done'], { input: 'x'.repeat(1 << 20) });
    expect(r.stdout).toBe('done\n');
    expect(r.code).toBe(0);
  });

  it('applies, re-applies and deletes a pod backed by a container', async () => {
    const file = podYaml('applied', 'team-b');
    const r1 = await kubectl(cluster, ['apply', '-f', file]);
    expect(r1.stderr).toBe('');
    expect(r1.stdout.trim()).toBe('pod/applied created');
    const pod = await cluster.waitForPod('team-b', 'applied');
    expect(pod.status.phase).toBe('Running');
    const id = cluster.containerId('team-b', 'applied');
    const r2 = await kubectl(cluster, ['apply', '-f', file]);
    expect(r2.stdout.trim()).toBe('pod/applied unchanged');
    writeFileSync(file, readFileSync(file, 'utf8').replace('app: applied', 'app: applied-v2'));
    const r3 = await kubectl(cluster, ['apply', '-f', file]);
    expect(r3.stdout.trim()).toBe('pod/applied configured');
    expect(cluster.get('v1', 'Pod', 'team-b', 'applied')?.metadata.labels.app).toBe('applied-v2');
    const del = await kubectl(cluster, ['delete', 'pod', '-n', 'team-b', 'applied']);
    expect(del.stdout.trim()).toBe('pod "applied" deleted');
    await expect(cluster.docker.getContainer(id).inspect()).rejects.toThrow(/no such container/i);
    const gone = await kubectl(cluster, ['get', 'pod', '-n', 'team-b', 'applied']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Error from server (NotFound): pods "applied" not found');
  });

  it('lets an admission webhook allow a pod', async () => {
    const r = await kubectl(cluster, ['apply', '-f', podYaml('allowed', 'team-a', { verdict: 'allow' })]);
    expect(r.stdout.trim()).toBe('pod/allowed created');
    const req = webhook.requests.find((q) => q.name === 'allowed');
    expect(req).toMatchObject({ operation: 'CREATE', namespace: 'team-a', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { resource: 'pods' }, userInfo: { username: 'admin' } });
    await kubectl(cluster, ['delete', 'pod', '-n', 'team-a', 'allowed']);
  });

  it('shows a webhook denial the way the apiserver words it', async () => {
    const r = await kubectl(cluster, ['apply', '-f', podYaml('denied', 'team-a', { verdict: 'deny' })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('admission webhook "verdict.kensus.test" denied the request: pods labelled verdict=deny are not welcome');
    expect(cluster.get('v1', 'Pod', 'team-a', 'denied')).toBeUndefined();
  });

  it('prints webhook warnings and creates the pod', async () => {
    const r = await kubectl(cluster, ['apply', '-f', podYaml('warned', 'team-a', { verdict: 'warn' })]);
    expect(r.stderr).toContain('Warning: this pod runs unlicensed software');
    expect(r.stdout.trim()).toBe('pod/warned created');
    await kubectl(cluster, ['delete', 'pod', '-n', 'team-a', 'warned']);
  });

  it('rejects a pod when the webhook times out under failurePolicy Fail', async () => {
    const r = await kubectl(cluster, ['apply', '-f', podYaml('slow', 'team-a', { verdict: 'slow' })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Internal error occurred: failed calling webhook "verdict.kensus.test": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/validate\?timeout=1s": context deadline exceeded/);
  });

  it('runs a pod that kubectl run sent as protobuf: admission sees it, docker runs it', async () => {
    const loop = ['--command', '--', 'sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"];
    const r = await kubectl(cluster, ['run', 'pb-run', '-n', 'team-a', `--image=${BUSYBOX_IMAGE}`, '--labels=verdict=warn', '--env=MODE=fast', ...loop]);
    expect(r.stderr).toContain('Warning: this pod runs unlicensed software');
    expect(r.stdout.trim()).toBe('pod/pb-run created');
    const req = webhook.requests.find((q) => q.name === 'pb-run');
    expect(req.object.metadata.labels).toEqual({ verdict: 'warn' });
    expect(req.object.spec.containers[0]).toMatchObject({ name: 'pb-run', image: BUSYBOX_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"], env: [{ name: 'MODE', value: 'fast' }] });
    const pod = await cluster.waitForPod('team-a', 'pb-run');
    expect(pod.status.phase).toBe('Running');
    const container = await cluster.docker.getContainer(cluster.containerId('team-a', 'pb-run')).inspect();
    expect(container.Config.Env).toContain('MODE=fast');
    const denied = await kubectl(cluster, ['run', 'pb-denied', '-n', 'team-a', `--image=${BUSYBOX_IMAGE}`, '--labels=verdict=deny', ...loop]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('admission webhook "verdict.kensus.test" denied the request: pods labelled verdict=deny are not welcome');
    await kubectl(cluster, ['delete', 'pod', '-n', 'team-a', 'pb-run']);
  });

  it('runs webhooks on workloads with a pod template too', async () => {
    await cluster.create({
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'kensus-test-workloads' },
      webhooks: [{
        name: 'workloads.kensus.test', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail',
        clientConfig: { url: `${webhook.url}/validate`, caBundle: webhook.caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'statefulsets'] }],
      }],
    });
    const file = join(dir, 'deploy.yaml');
    writeFileSync(file, `apiVersion: apps/v1
kind: Deployment
metadata: {name: licensed, namespace: team-b, labels: {verdict: deny}}
spec:
  selector: {matchLabels: {app: licensed}}
  template:
    metadata: {labels: {app: licensed}}
    spec: {containers: [{name: main, image: ${BUSYBOX_IMAGE}}]}
`);
    const r = await kubectl(cluster, ['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('admission webhook "workloads.kensus.test" denied the request: pods labelled verdict=deny are not welcome');
    const req = webhook.requests.at(-1);
    expect(req).toMatchObject({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', resource: 'deployments' }, name: 'licensed' });
    expect(req.object.spec.template.spec.containers[0].image).toBe(BUSYBOX_IMAGE);
    await cluster.delete('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'kensus-test-workloads');
  });

  it('does not call the webhook for namespaces its selector excludes', async () => {
    const before = webhook.requests.length;
    const r = await kubectl(cluster, ['apply', '-f', podYaml('unwatched', 'team-b', { verdict: 'deny' })]);
    expect(r.stdout.trim()).toBe('pod/unwatched created');
    expect(webhook.requests.length).toBe(before);
    await kubectl(cluster, ['delete', 'pod', '-n', 'team-b', 'unwatched']);
  });

  it('serves a CRD and its custom resources (IBM License Service)', async () => {
    const crd = await kubectl(cluster, ['apply', '-f', join(testdata, 'ibmlicensing-crd.yaml')]);
    expect(crd.stdout.trim()).toBe('customresourcedefinition.apiextensions.k8s.io/ibmlicensings.operator.ibm.com created');
    const cr = await kubectl(cluster, ['apply', '-f', join(testdata, 'ibmlicensing-cr.yaml')]);
    expect(cr.stderr).toBe('');
    expect(cr.stdout.trim()).toBe('ibmlicensing.operator.ibm.com/instance created');
    const r = await kubectl(cluster, ['get', 'ibmlicensings', '-A']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+AGE\ninstance\s+\S+\n$/);
    const json = JSON.parse((await kubectl(cluster, ['get', 'ibmlicensing', 'instance', '-o', 'json'])).stdout);
    expect(json.spec.datasource).toBe('datacollector');
  });

  it('answers 403 with the RBAC wording for a restricted user', async () => {
    const exec = await kubectl(cluster, ['exec', '-n', 'team-a', 'web-0', '--', 'echo', 'x'], { context: 'restricted' });
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain('Error from server (Forbidden): pods "web-0" is forbidden: User "restricted" cannot create resource "pods/exec" in API group "" in the namespace "team-a"');
    const all = await kubectl(cluster, ['get', 'pods', '-A'], { context: 'restricted' });
    expect(all.stderr).toContain('pods is forbidden: User "restricted" cannot list resource "pods" in API group "" at the cluster scope');
    const own = await kubectl(cluster, ['get', 'pods', '-n', 'team-a', '-o', 'name'], { context: 'restricted' });
    expect(own.stdout).toContain('pod/web-0');
  });

  it('refuses a wrong token with 401', async () => {
    const bad = join(dir, 'bad-kubeconfig');
    writeFileSync(bad, readFileSync(cluster.kubeconfigPath, 'utf8').replace(cluster.tokens.admin, 'not-a-token'));
    const r = await kubectl({ ...cluster, kubeconfigPath: bad }, ['get', 'nodes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
  });
});
