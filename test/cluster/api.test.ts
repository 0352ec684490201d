import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../support/k8s.js';

/** The wire protocol itself: discovery documents, Status errors, tables, lists, watches. */
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster({
    fixture: { nodes: [{ name: 'n1', capacity: { cpu: '4', memory: '8Gi', pods: '10' } }], namespaces: ['a', 'b'] },
    watchHistory: 20,
  });
});
afterAll(async () => cluster?.stop());

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

function call(method: string, path: string, opts: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {}): Promise<Res> {
  const url = new URL(path, cluster.url);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method,
      ca: cluster.caCert,
      headers: {
        Accept: 'application/json',
        ...(opts.token === null ? {} : { Authorization: `Bearer ${opts.token ?? cluster.tokens.admin}` }),
        ...(payload ? { 'Content-Type': 'application/json' } : {}),
        ...(opts.headers ?? {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const cm = (name: string, ns = 'a', labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data: { k: name } });

/** Reads a watch stream until `count` events arrived (or the server ends it). */
function watchEvents(path: string, count: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    const req = https.request(new URL(path, cluster.url), { ca: cluster.caCert, headers: { Authorization: `Bearer ${cluster.tokens.admin}` } }, (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
          if (events.length === count) {
            req.destroy();
            resolve(events);
          }
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', (e) => (events.length >= count ? undefined : reject(e)));
    req.end();
  });
}

describe('wire protocol', () => {
  it('serves discovery for core and named groups', async () => {
    const api = await call('GET', '/api');
    expect(api.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = await call('GET', '/api/v1');
    const pods = v1.body.resources.find((r: any) => r.name === 'pods');
    expect(pods).toMatchObject({ kind: 'Pod', namespaced: true, shortNames: ['po'] });
    expect(pods.verbs).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'create', 'delete']));
    expect(v1.body.resources.find((r: any) => r.name === 'pods/exec')).toMatchObject({ kind: 'PodExecOptions', verbs: ['create', 'get'] });
    const groups = await call('GET', '/apis');
    expect(groups.body.groups.map((g: any) => g.name)).toEqual(expect.arrayContaining(['apps', 'apiextensions.k8s.io', 'admissionregistration.k8s.io']));
    expect((await call('GET', '/apis/apps/v1')).body.groupVersion).toBe('apps/v1');
    expect((await call('GET', '/version', { token: null })).body.gitVersion).toMatch(/^v1\.32\./);
  });

  it('answers errors with Status objects shaped like the real ones', async () => {
    const unauth = await call('GET', '/api/v1/nodes', { token: 'wrong' });
    expect(unauth.status).toBe(401);
    expect(unauth.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const missing = await call('GET', '/api/v1/namespaces/a/configmaps/none');
    expect(missing.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "none" not found', reason: 'NotFound', details: { name: 'none', kind: 'configmaps' }, code: 404 });
    expect((await call('POST', '/api/v1/namespaces/a/configmaps', { body: cm('dup') })).status).toBe(201);
    const dup = await call('POST', '/api/v1/namespaces/a/configmaps', { body: cm('dup') });
    expect(dup.body).toMatchObject({ status: 'Failure', reason: 'AlreadyExists', message: 'configmaps "dup" already exists', code: 409 });
    const bad = await call('POST', '/api/v1/namespaces/a/pods', { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } } });
    expect(bad.body).toMatchObject({ reason: 'Invalid', code: 422, message: 'Pod "p" is invalid: spec.containers: Required value', details: { causes: [{ field: 'spec.containers' }] } });
    const stale = await call('PUT', '/api/v1/namespaces/a/configmaps/dup', { body: { ...cm('dup'), metadata: { name: 'dup', namespace: 'a', resourceVersion: '1' } } });
    expect(stale.body).toMatchObject({ reason: 'Conflict', code: 409 });
    const forbidden = await call('GET', '/api/v1/nodes', { token: cluster.tokens.restricted });
    expect(forbidden.body).toMatchObject({ reason: 'Forbidden', code: 403, message: 'nodes is forbidden: User "restricted" cannot list resource "nodes" in API group "" at the cluster scope' });
    const proto = await call('POST', '/api/v1/namespaces/a/secrets', { body: 'k8s', headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' } });
    expect(proto.body).toMatchObject({ reason: 'BadRequest', code: 400, message: expect.stringContaining('not valid application/vnd.kubernetes.protobuf') });
    const selector = await call('GET', '/api/v1/pods?fieldSelector=spec.hostname%3Dx');
    expect(selector.body).toMatchObject({ reason: 'BadRequest', code: 400, message: 'field label not supported: spec.hostname' });
  });

  it('lists with label selectors, limit and continue', async () => {
    for (const n of ['l1', 'l2', 'l3']) await call('POST', '/api/v1/namespaces/b/configmaps', { body: cm(n, 'b', { set: 'page' }) });
    const page1 = await call('GET', '/api/v1/namespaces/b/configmaps?labelSelector=set%3Dpage&limit=2');
    expect(page1.body.kind).toBe('ConfigMapList');
    expect(page1.body.items.map((i: any) => i.metadata.name)).toEqual(['l1', 'l2']);
    expect(page1.body.metadata.remainingItemCount).toBe(1);
    const page2 = await call('GET', `/api/v1/namespaces/b/configmaps?labelSelector=set%3Dpage&limit=2&continue=${page1.body.metadata.continue}`);
    expect(page2.body.items.map((i: any) => i.metadata.name)).toEqual(['l3']);
    expect(page2.body.metadata.continue).toBeUndefined();
  });

  it('serves Tables when kubectl asks for them', async () => {
    const t = await call('GET', '/api/v1/nodes', { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    expect(t.body.kind).toBe('Table');
    expect(t.body.columnDefinitions.map((c: any) => c.name)).toEqual(['Name', 'Status', 'Roles', 'Age', 'Version']);
    expect(t.body.rows[0].cells.slice(0, 3)).toEqual(['n1', 'Ready', '<none>']);
    expect(t.body.rows[0].object.kind).toBe('PartialObjectMetadata');
  });

  it('patches with merge, strategic merge and JSON patch', async () => {
    await call('POST', '/api/v1/namespaces/a/configmaps', { body: cm('p1') });
    const merge = await call('PATCH', '/api/v1/namespaces/a/configmaps/p1', { body: { data: { extra: 'x' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(merge.body.data).toEqual({ k: 'p1', extra: 'x' });
    const json = await call('PATCH', '/api/v1/namespaces/a/configmaps/p1', { body: [{ op: 'remove', path: '/data/k' }], headers: { 'Content-Type': 'application/json-patch+json' } });
    expect(json.body.data).toEqual({ extra: 'x' });
    expect(Number(json.body.metadata.resourceVersion)).toBeGreaterThan(Number(merge.body.metadata.resourceVersion));
  });

  it('watches from a resourceVersion and answers 410 Gone when it is too old', async () => {
    const list = await call('GET', '/api/v1/namespaces/a/configmaps');
    const rv = list.body.metadata.resourceVersion;
    const pending = watchEvents(`/api/v1/namespaces/a/configmaps?watch=true&resourceVersion=${rv}`, 3);
    await call('POST', '/api/v1/namespaces/a/configmaps', { body: cm('w1') });
    await call('PATCH', '/api/v1/namespaces/a/configmaps/w1', { body: { data: { k: 'changed' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    await call('DELETE', '/api/v1/namespaces/a/configmaps/w1');
    const events = await pending;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([['ADDED', 'w1'], ['MODIFIED', 'w1'], ['DELETED', 'w1']]);
    expect(events[1].object.data.k).toBe('changed');
    // The same events again, replayed from history by a watch that starts late.
    const replay = await watchEvents(`/api/v1/namespaces/a/configmaps?watch=1&resourceVersion=${rv}`, 3);
    expect(replay.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    for (let i = 0; i < 25; i++) await call('POST', '/api/v1/namespaces/b/configmaps', { body: cm(`flood-${i}`, 'b') });
    const gone = await watchEvents(`/api/v1/namespaces/a/configmaps?watch=1&resourceVersion=${rv}`, 1);
    expect(gone[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });
});
