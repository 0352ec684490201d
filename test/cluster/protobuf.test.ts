import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from './apierrors.js';
import { decodeProtobufObject, PACKAGES, PROTOBUF_KINDS, protoRoot } from './protobuf.js';
import { apiVersionOf, builtinResources } from './resources.js';
import { BUSYBOX_IMAGE, kubectl, startTestCluster, type TestCluster } from '../support/k8s.js';

const MAGIC = Buffer.from('k8s\0', 'latin1');
const CORE = 'k8s.io.api.core.v1';

/** A body as client-go writes it: magic, then runtime.Unknown around the encoded object. */
function envelope(apiVersion: string, kind: string, message: string, object: Record<string, unknown>, contentEncoding = ''): Buffer {
  const root = protoRoot();
  const raw = root.lookupType(message).encode(object).finish();
  const unknown = root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown').encode({ typeMeta: { apiVersion, kind }, raw, contentEncoding, contentType: '' }).finish();
  return Buffer.concat([MAGIC, unknown]);
}

function decodeError(body: Buffer): ApiError {
  try {
    decodeProtobufObject(body);
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('decoded without error');
}

// Go's protobuf marshalling writes every non-pointer field, zero or not; these bodies do the same.
const emptyMeta = { generateName: '', selfLink: '', uid: '', resourceVersion: '', generation: 0, creationTimestamp: {} };

describe('decodeProtobufObject', () => {
  it('has a message for every built-in kind the server stores', () => {
    const builtin = builtinResources().map((t) => `${apiVersionOf(t)} ${t.kind}`).sort();
    expect(Object.entries(PROTOBUF_KINDS).flatMap(([v, kinds]) => kinds.map((k) => `${v} ${k}`)).sort()).toEqual(builtin);
    for (const t of builtinResources()) expect(protoRoot().lookupType(`${PACKAGES[apiVersionOf(t)]}.${t.kind}`).fieldsArray.length).toBeGreaterThan(0);
  });

  it('decodes a Secret: bytes as base64, maps, zero-valued omitempty fields dropped', () => {
    const body = envelope('v1', 'Secret', `${CORE}.Secret`, {
      metadata: { ...emptyMeta, name: 's1', namespace: 'team-a', labels: { app: 'x' } },
      data: { bin: Buffer.from([0, 1, 254, 255]), text: Buffer.from('hello') },
      stringData: {},
      type: 'Opaque',
    });
    expect(decodeProtobufObject(body)).toEqual({
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: 's1', namespace: 'team-a', labels: { app: 'x' } },
      data: { bin: Buffer.from([0, 1, 254, 255]).toString('base64'), text: 'aGVsbG8=' },
      type: 'Opaque',
    });
  });

  it('decodes a SubjectAccessReview: ExtraValue as a list of strings, as in JSON', () => {
    const body = envelope('authorization.k8s.io/v1', 'SubjectAccessReview', 'k8s.io.api.authorization.v1.SubjectAccessReview', {
      metadata: { ...emptyMeta },
      spec: { user: 'alice', groups: ['system:authenticated'], uid: '', extra: { scopes: { items: ['a', 'b'] } }, resourceAttributes: { namespace: '', verb: 'get', group: 'kensus.dev', version: '', resource: 'reports', subresource: '', name: '' } },
      status: { allowed: false, denied: false, reason: '', evaluationError: '' },
    });
    expect(decodeProtobufObject(body)).toMatchObject({
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: 'alice', groups: ['system:authenticated'], extra: { scopes: ['a', 'b'] }, resourceAttributes: { verb: 'get', group: 'kensus.dev', resource: 'reports' } },
    });
  });

  it('decodes a Deployment: Time, IntOrString, Quantity, inline volume sources, zero pointers kept', () => {
    const body = envelope('apps/v1', 'Deployment', 'k8s.io.api.apps.v1.Deployment', {
      metadata: { ...emptyMeta, name: 'd1', creationTimestamp: { seconds: 1700000000, nanos: 0 } },
      spec: {
        replicas: 0, // *int32: set to zero, so JSON has it
        minReadySeconds: 0, // int32 omitempty: JSON leaves it out
        selector: { matchLabels: { app: 'd1' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: { type: 1, intVal: 0, strVal: '25%' }, maxUnavailable: { type: 0, intVal: 1, strVal: '' } } },
        template: {
          metadata: { ...emptyMeta, labels: { app: 'd1' } },
          spec: {
            containers: [{
              name: 'main', image: BUSYBOX_IMAGE, command: ['sleep', '600'],
              ports: [{ name: '', containerPort: 8080, protocol: 'TCP', hostPort: 0, hostIP: '' }],
              resources: { limits: { cpu: { string: '500m' }, memory: { string: '64Mi' } } },
              securityContext: { runAsUser: 0, privileged: false },
              volumeMounts: [{ name: 'v', mountPath: '/v', readOnly: false, subPath: '' }],
            }],
            volumes: [{ name: 'v', volumeSource: { emptyDir: {} } }, { name: 'h', volumeSource: { hostPath: { path: '/tmp' } } }],
          },
        },
      },
      status: {},
    });
    expect(decodeProtobufObject(body)).toEqual({
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'd1', creationTimestamp: '2023-11-14T22:13:20Z' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'd1' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
        template: {
          metadata: { labels: { app: 'd1' } },
          spec: {
            containers: [{
              name: 'main', image: BUSYBOX_IMAGE, command: ['sleep', '600'],
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
              resources: { limits: { cpu: '500m', memory: '64Mi' } },
              securityContext: { runAsUser: 0, privileged: false },
              volumeMounts: [{ name: 'v', mountPath: '/v' }],
            }],
            volumes: [{ name: 'v', emptyDir: {} }, { name: 'h', hostPath: { path: '/tmp' } }],
          },
        },
      },
      status: {},
    });
  });

  it('decodes an Event: MicroTime with microseconds, absent non-omitempty strings as ""', () => {
    const body = envelope('v1', 'Event', `${CORE}.Event`, {
      metadata: { name: 'e1', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'p' },
      eventTime: { seconds: 1700000000, nanos: 123456789 },
      count: 3,
    });
    expect(decodeProtobufObject(body)).toEqual({
      apiVersion: 'v1', kind: 'Event',
      metadata: { name: 'e1', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'p' },
      eventTime: '2023-11-14T22:13:20.123456Z',
      count: 3,
      reportingComponent: '',
      reportingInstance: '',
    });
  });

  it('decodes a CustomResourceDefinition schema: embedded JSON, $ref, x-kubernetes-*, schema-or-bool/array', () => {
    const APIEXT = 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1';
    const body = envelope('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `${APIEXT}.CustomResourceDefinition`, {
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com', scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [{
          name: 'v1', served: true, storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', xKubernetesPreserveUnknownFields: true, default: { raw: Buffer.from('{"size":1}') } },
                tags: { type: 'array', items: { schema: { type: 'string' } }, maxItems: 5 },
                other: { ref: '#/x', additionalProperties: { allows: false } },
                mode: { type: 'string', enum: [{ raw: Buffer.from('"a"') }, { raw: Buffer.from('"b"') }] },
              },
            },
          },
        }],
      },
    });
    expect(decodeProtobufObject(body)).toEqual({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com', scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [{
          name: 'v1', served: true, storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, default: { size: 1 } },
                tags: { type: 'array', items: { type: 'string' }, maxItems: 5 },
                other: { $ref: '#/x', additionalProperties: false },
                mode: { type: 'string', enum: ['a', 'b'] },
              },
            },
          },
        }],
      },
    });
  });

  it('rejects bodies that are not Kubernetes protobuf with 400, kinds it has no messages for with 415', () => {
    const noMagic = decodeError(Buffer.from('{"kind":"Secret"}'));
    expect(noMagic.body).toMatchObject({ code: 400, reason: 'BadRequest', message: expect.stringContaining('does not start with the Kubernetes protobuf prefix') });
    const garbage = decodeError(Buffer.concat([MAGIC, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])]));
    expect(garbage.body).toMatchObject({ code: 400, reason: 'BadRequest', message: expect.stringMatching(/not valid application\/vnd\.kubernetes\.protobuf: cannot decode the runtime\.Unknown envelope/) });
    const badObject = decodeError(Buffer.concat([MAGIC, protoRoot().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown')
      .encode({ typeMeta: { apiVersion: 'v1', kind: 'Secret' }, raw: Buffer.from([0x0a, 0x05, 0x01]) }).finish()]));
    expect(badObject.body).toMatchObject({ code: 400, message: expect.stringContaining('cannot decode Secret v1') });
    const noType = decodeError(Buffer.concat([MAGIC, protoRoot().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown').encode({ raw: Buffer.from([]) }).finish()]));
    expect(noType.body).toMatchObject({ code: 400, message: expect.stringContaining('names no apiVersion and kind') });
    const gzip = decodeError(envelope('v1', 'Secret', `${CORE}.Secret`, { type: 'Opaque' }, 'gzip'));
    expect(gzip.body).toMatchObject({ code: 400, message: expect.stringContaining('contentEncoding "gzip" is not supported') });
    const custom = decodeError(envelope('example.com/v1', 'Widget', `${CORE}.ConfigMap`, {}));
    expect(custom.body).toMatchObject({ code: 415, reason: 'UnsupportedMediaType', message: expect.stringContaining('cannot decode Widget (example.com/v1) from protobuf') });
  });
});

describe('kubectl typed generators (protobuf request bodies)', () => {
  let cluster: TestCluster;
  const dir = mkdtempSync(join(tmpdir(), 'kensus-protobuf-test-'));

  beforeAll(async () => {
    cluster = await startTestCluster({ fixture: { nodes: [{ name: 'worker-1' }], namespaces: ['team-a', 'team-b'] } });
  });
  afterAll(async () => cluster?.stop());

  async function ok(args: string[], context?: string): Promise<string> {
    const r = await kubectl(cluster, args, { context });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  }
  const getJson = async (args: string[]) => JSON.parse(await ok(['get', ...args, '-o', 'json']));

  it('creates secrets and configmaps with the values sent', async () => {
    const file = join(dir, 'settings.conf');
    writeFileSync(file, 'mode=fast\nbinary=\u00e9\n');
    // -v=8 logs the request headers: the body really went out as protobuf.
    const created = await kubectl(cluster, ['create', 'secret', 'generic', 's1', '-n', 'team-a', '--from-literal=a=b', '--from-literal=token=s3cr3t!', '-v=8']);
    expect(created.code).toBe(0);
    expect(created.stdout).toBe('secret/s1 created\n');
    expect(created.stderr).toContain('Content-Type: application/vnd.kubernetes.protobuf');
    expect(created.stderr).toMatch(/"Request Body" body=<\s+00000000 {2}6b 38 73 00 /); // "k8s\0"
    expect(created.stderr).toContain('Response Status: 201 Created');
    expect(await ok(['create', 'configmap', 'c1', '-n', 'team-a', '--from-literal=a=b', `--from-file=${file}`])).toBe('configmap/c1 created\n');
    const secret = await getJson(['secret', 's1', '-n', 'team-a']);
    expect(secret.type).toBe('Opaque');
    expect(Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))).toEqual({ a: 'b', token: 's3cr3t!' });
    const cm = await getJson(['configmap', 'c1', '-n', 'team-a']);
    expect(cm.data).toEqual({ a: 'b', 'settings.conf': 'mode=fast\nbinary=\u00e9\n' });
    expect(cm.metadata).toMatchObject({ name: 'c1', namespace: 'team-a' });
    expect(cm.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creates a deployment equal to what kubectl would send as JSON', async () => {
    const args = ['create', 'deployment', 'd1', '-n', 'team-a', `--image=${BUSYBOX_IMAGE}`, '--replicas=2', '--port=8080'];
    const asJson = JSON.parse(await ok([...args, '--dry-run=client', '-o', 'json']));
    expect(await ok(args)).toBe('deployment.apps/d1 created\n');
    const d = await getJson(['deployment', 'd1', '-n', 'team-a']);
    expect(d.spec.replicas).toBe(2);
    expect(d.metadata.labels).toEqual({ app: 'd1' });
    expect(d.spec.selector).toEqual({ matchLabels: { app: 'd1' } });
    expect(d.spec.template.spec.containers).toEqual([{ name: 'busybox', image: BUSYBOX_IMAGE, ports: [{ containerPort: 8080 }], resources: {} }]);
    // JSON writes a zero metav1.Time as null, protobuf leaves it out: the same object either way.
    expect(d.spec).toEqual(JSON.parse(JSON.stringify(asJson.spec, (_k, v) => (v === null ? undefined : v))));
  });

  it('creates namespaces, service accounts, services, jobs and cronjobs', async () => {
    expect(await ok(['create', 'namespace', 'n1'])).toBe('namespace/n1 created\n');
    expect((await getJson(['namespace', 'n1'])).metadata.name).toBe('n1');
    expect(await ok(['create', 'serviceaccount', 'sa1', '-n', 'n1'])).toBe('serviceaccount/sa1 created\n');
    expect((await getJson(['serviceaccount', 'sa1', '-n', 'n1'])).metadata).toMatchObject({ name: 'sa1', namespace: 'n1' });

    expect(await ok(['create', 'service', 'clusterip', 'svc1', '-n', 'n1', '--tcp=80:8080', '--tcp=9443:https'])).toBe('service/svc1 created\n');
    const svc = await getJson(['service', 'svc1', '-n', 'n1']);
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.selector).toEqual({ app: 'svc1' });
    expect(svc.spec.ports).toEqual([
      { name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 },
      { name: '9443-https', port: 9443, protocol: 'TCP', targetPort: 'https' },
    ]);

    expect(await ok(['create', 'job', 'j1', '-n', 'n1', `--image=${BUSYBOX_IMAGE}`, '--', 'echo', 'hi'])).toBe('job.batch/j1 created\n');
    const job = await getJson(['job', 'j1', '-n', 'n1']);
    expect(job.spec.template.spec).toMatchObject({ restartPolicy: 'Never', containers: [{ name: 'j1', image: BUSYBOX_IMAGE, command: ['echo', 'hi'] }] });

    expect(await ok(['create', 'cronjob', 'c1', '-n', 'n1', `--image=${BUSYBOX_IMAGE}`, '--schedule=*/5 * * * *'])).toBe('cronjob.batch/c1 created\n');
    const cj = await getJson(['cronjob', 'c1', '-n', 'n1']);
    expect(cj.spec.schedule).toBe('*/5 * * * *');
    expect(cj.spec.jobTemplate.spec.template.spec).toMatchObject({ restartPolicy: 'OnFailure', containers: [{ name: 'c1', image: BUSYBOX_IMAGE }] });
  });

  it('creates RBAC roles and bindings (rules with resourceNames, subjects)', async () => {
    expect(await ok(['create', 'clusterrole', 'cr1', '--verb=get,list', '--resource=pods,nodes'])).toBe('clusterrole.rbac.authorization.k8s.io/cr1 created\n');
    expect((await getJson(['clusterrole', 'cr1'])).rules).toEqual([
      { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list'] },
    ]);
    await ok(['create', 'namespace', 'rb']);
    expect(await ok(['create', 'role', 'r1', '-n', 'rb', '--verb=get', '--resource=secrets', '--resource-name=pull'])).toBe('role.rbac.authorization.k8s.io/r1 created\n');
    expect((await getJson(['role', 'r1', '-n', 'rb'])).rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['pull'], verbs: ['get'] }]);
    expect(await ok(['create', 'rolebinding', 'rb1', '-n', 'rb', '--role=r1', '--serviceaccount=rb:sa'])).toBe('rolebinding.rbac.authorization.k8s.io/rb1 created\n');
    expect(await getJson(['rolebinding', 'rb1', '-n', 'rb'])).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r1' },
      subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'rb' }],
    });
    expect(await ok(['create', 'clusterrolebinding', 'crb1', '--clusterrole=cr1', '--serviceaccount=rb:sa'])).toBe('clusterrolebinding.rbac.authorization.k8s.io/crb1 created\n');
    expect((await getJson(['clusterrolebinding', 'crb1'])).roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cr1' });
  });

  it('answers kubectl auth can-i (SelfSubjectAccessReview) per user', async () => {
    expect(await ok(['auth', 'can-i', 'list', 'pods'])).toBe('yes\n');
    expect(await ok(['auth', 'can-i', 'create', 'deployments.apps', '-n', 'team-b'])).toBe('yes\n');
    expect(await ok(['auth', 'can-i', 'list', 'pods', '-n', 'team-a'], 'restricted')).toBe('yes\n');
    const denied = await kubectl(cluster, ['auth', 'can-i', 'list', 'pods', '-n', 'team-b'], { context: 'restricted' });
    expect({ code: denied.code, stdout: denied.stdout }).toEqual({ code: 1, stdout: 'no\n' });
    const denied2 = await kubectl(cluster, ['auth', 'can-i', 'create', 'secrets', '-n', 'team-a'], { context: 'restricted' });
    expect({ code: denied2.code, stdout: denied2.stdout }).toEqual({ code: 1, stdout: 'no\n' });
  });

  it('answers a body that is not protobuf with a 400 Status', async () => {
    const res = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = https.request(new URL('/api/v1/namespaces/team-a/secrets', cluster.url), {
        method: 'POST', ca: cluster.caCert,
        headers: { Authorization: `Bearer ${cluster.tokens.admin}`, 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: 'application/json' },
      }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      req.end(Buffer.concat([MAGIC, Buffer.from('not protobuf at all')]));
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400, message: expect.stringContaining('the body of the request was not valid application/vnd.kubernetes.protobuf') });
  });
});
