import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, kubectl, startTestCluster, type TestCluster } from '../support/k8s.js';
import { makeTls, type TlsMaterial } from '../cluster/tls.js';

/**
 * `kensus serve` as users run it (`node bin/kensus.js serve`, a child process over HTTPS) behind
 * a ValidatingWebhookConfiguration of the test cluster, driven by the machine's real kubectl.
 */

const MQ_REPO = 'cp.icr.io/cp/ibm-mqadvanced-server';
const MQ_IMAGE = `${MQ_REPO}:9.4.1.0-r1`;
/** The same busybox digest under a name that shows no product (issue 13: names are per reference). */
const MIRROR_REPO = 'registry.example.com/mirror/plain';
const MIRROR_IMAGE = `${MIRROR_REPO}:1-k7serve`;
const IBM_ANNOTATIONS = {
  productID: 'c661609261d5471fb4ff8970a36bccea',
  productName: 'IBM MQ Advanced',
  productMetric: 'VIRTUAL_PROCESSOR_CORE',
};

interface Serve {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<number | null>;
}

const dir = mkdtempSync(join(tmpdir(), 'kensus-serve-e2e-'));
let cluster: TestCluster;
let tls: TlsMaterial;
let denyServe: Serve;
let warnServe: Serve;

/** Starts `kensus serve` on port 0 and resolves once it says where it listens (no fixed sleep). */
function startServe(policyFile: string): Promise<Serve> {
  const child = spawn(process.execPath, [
    'bin/kensus.js', 'serve', '--host', '127.0.0.1', '--port', '0',
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'),
    '--policy', policyFile, '--no-sweep', '--cache-dir', join(dir, 'cache'), '--api-token-file', join(dir, 'api-tokens'),
  ], { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, KENSUS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kensus serve did not start in 20 s; stderr: ${err}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /kensus: serving on (https:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          child,
          stderr: () => err,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kensus serve exited with ${code} before serving; stderr: ${err}`));
    });
  });
}

const apiToken = 'serve-admission-e2e-api-token';

/** GET over HTTPS trusting only the test CA, as the API server does with caBundle; with the read API's token. */
function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca: tls.caCert, headers: { authorization: `Bearer ${apiToken}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

/** POST an AdmissionReview over HTTPS, as the API server does. */
function httpsReview(url: string, image: string, uid: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, operation: 'CREATE', namespace: 'team-c', object: { kind: 'Pod', metadata: { name: uid }, spec: { containers: [{ name: 'c', image }] } } } });
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}/validate`, { method: 'POST', ca: tls.caCert, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function podSpecYaml(indent: string, annotated: boolean, name: string): string {
  const ann = annotated ? Object.entries(IBM_ANNOTATIONS).map(([k, v]) => `\n${indent}  ${k}: "${v}"`).join('') : ' {}';
  return `${indent}labels:
${indent}  app: ${name}
${indent}annotations:${ann}
`;
}

function podFile(name: string, ns: string, annotated: boolean): string {
  const file = join(dir, `${ns}-${name}.yaml`);
  writeFileSync(file, `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
${podSpecYaml('  ', annotated, name)}spec:
  containers:
  - name: qmgr
    image: ${MQ_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`);
  return file;
}

function deploymentFile(name: string, ns: string, annotated: boolean): string {
  const file = join(dir, `${ns}-deploy-${name}.yaml`);
  writeFileSync(file, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
${podSpecYaml('      ', annotated, name)}    spec:
      containers:
      - name: qmgr
        image: ${MQ_IMAGE}
`);
  return file;
}

/** Two webhooks as deploy/kubernetes/base/webhook.yaml has them, one per namespace and serve process. */
function webhookFile(failurePolicy: 'Fail' | 'Ignore'): string {
  const file = join(dir, `webhooks-${failurePolicy}.yaml`);
  const caBundle = Buffer.from(tls.caCert).toString('base64');
  const hook = (name: string, url: string, ns: string) => `- name: ${name}
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: ${failurePolicy}
  timeoutSeconds: 5
  namespaceSelector:
    matchLabels: { kubernetes.io/metadata.name: ${ns} }
  rules:
  - apiGroups: ["", apps, batch]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [pods, deployments, statefulsets, daemonsets, replicasets, jobs, cronjobs]
  clientConfig:
    url: ${url}/validate
    caBundle: ${caBundle}
`;
  writeFileSync(file, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: kensus-precheck
webhooks:
${hook('deny.precheck.kensus.dev', denyServe.url, 'team-a')}${hook('warn.precheck.kensus.dev', warnServe.url, 'team-b')}`);
  return file;
}

const lacks = /lacks the IBM License Service annotations \(productID, productName, productMetric\)/;

beforeAll(async () => {
  cluster = await startTestCluster();
  // The MQ reference must exist on the test dockerd: pods then run, and the background scan
  // kensus serve queues for an unseen image finds it locally instead of asking cp.icr.io.
  await cluster.docker.getImage(BUSYBOX_IMAGE).tag({ repo: MQ_REPO, tag: '9.4.1.0-r1' });
  await cluster.docker.getImage(BUSYBOX_IMAGE).tag({ repo: MIRROR_REPO, tag: '1-k7serve' });
  tls = makeTls(['localhost'], ['127.0.0.1'], 'kensus-serve');
  writeFileSync(join(dir, 'tls.crt'), tls.cert);
  writeFileSync(join(dir, 'tls.key'), tls.key);
  writeFileSync(join(dir, 'api-tokens'), `${apiToken}\n`);
  writeFileSync(join(dir, 'deny.yaml'), 'mode: deny\nrequireIbmAnnotations: true\n');
  writeFileSync(join(dir, 'warn.yaml'), 'mode: warn\nrequireIbmAnnotations: true\n');
  [denyServe, warnServe] = await Promise.all([startServe(join(dir, 'deny.yaml')), startServe(join(dir, 'warn.yaml'))]);
  const r = await kubectl(cluster, ['apply', '-f', webhookFile('Fail')]);
  expect(r.stdout.trim(), r.stderr).toBe('validatingwebhookconfiguration.admissionregistration.k8s.io/kensus-precheck created');
});

afterAll(async () => {
  await Promise.all([denyServe?.stop(), warnServe?.stop()]);
  await cluster?.stop();
});

describe('kensus serve as the admission webhook of a cluster', () => {
  it('serves its health endpoint over HTTPS with the certificate the caBundle vouches for', async () => {
    expect(denyServe.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await httpsGet(`${denyServe.url}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    expect((await httpsGet(`${denyServe.url}/readyz`)).status).toBe(200); // --no-sweep: ready at once
  });

  it('denies an IBM MQ pod without the License Service annotations, in kubectl the apiserver way', async () => {
    const r = await kubectl(cluster, ['apply', '-f', podFile('qm-bare', 'team-a', false)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/admission webhook "deny\.precheck\.kensus\.dev" denied the request: kensus: IBM MQ\b[^\n]* in container qmgr \(cp\.icr\.io\/cp\/ibm-mqadvanced-server:9\.4\.1\.0-r1\) lacks the IBM License Service annotations/);
    expect(r.stderr).toMatch(lacks);
    expect(cluster.get('v1', 'Pod', 'team-a', 'qm-bare')).toBeUndefined();
  });

  it('admits the same pod once it carries productID, productName and productMetric', async () => {
    const r = await kubectl(cluster, ['apply', '-f', podFile('qm-annotated', 'team-a', true)]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('pod/qm-annotated created');
    expect(cluster.get('v1', 'Pod', 'team-a', 'qm-annotated')?.metadata.annotations).toMatchObject(IBM_ANNOTATIONS);
  });

  it('denies a Deployment whose pod template lacks the annotations, admits an annotated one', async () => {
    const bare = await kubectl(cluster, ['apply', '-f', deploymentFile('mq-bare', 'team-a', false)]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/admission webhook "deny\.precheck\.kensus\.dev" denied the request: kensus: /);
    expect(bare.stderr).toMatch(lacks);
    expect(cluster.get('apps/v1', 'Deployment', 'team-a', 'mq-bare')).toBeUndefined();
    const ok = await kubectl(cluster, ['apply', '-f', deploymentFile('mq-ok', 'team-a', true)]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('deployment.apps/mq-ok created');
  });

  it('in warn mode creates the pod and kubectl prints the violation as a warning', async () => {
    const r = await kubectl(cluster, ['apply', '-f', podFile('qm-warned', 'team-b', false)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('pod/qm-warned created');
    expect(r.stderr).toMatch(/^Warning: IBM MQ\b[^\n]* in container qmgr \(cp\.icr\.io\/cp\/ibm-mqadvanced-server:9\.4\.1\.0-r1\) lacks the IBM License Service annotations/m);
    expect(cluster.get('v1', 'Pod', 'team-b', 'qm-warned')).toBeDefined();
  });

  it('counts its reviews in /metrics by result', async () => {
    const deny = await httpsGet(`${denyServe.url}/metrics`);
    expect(deny.status).toBe(200);
    const denied = /^kensus_admission_reviews_total\{result="denied"\} (\d+)$/m.exec(deny.body);
    expect(Number(denied?.[1])).toBeGreaterThanOrEqual(2); // the bare pod and the bare Deployment
    const allowed = /^kensus_admission_reviews_total\{result="allowed"\} (\d+)$/m.exec(deny.body);
    expect(Number(allowed?.[1])).toBeGreaterThanOrEqual(2);
    const warn = await httpsGet(`${warnServe.url}/metrics`);
    expect(Number(/^kensus_admission_reviews_total\{result="warned"\} (\d+)$/m.exec(warn.body)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('scans an image it first met in admission in the background, from the local docker daemon', async () => {
    const url = `${denyServe.url}/api/v1/findings?image=${encodeURIComponent(MQ_IMAGE)}`;
    let found = await httpsGet(url);
    for (const until = Date.now() + 20_000; found.status === 404 && Date.now() < until; found = await httpsGet(url)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(found.status, `${found.body}\n${denyServe.stderr()}`).toBe(200);
    const body = JSON.parse(found.body);
    expect(body.image).toBe(MQ_IMAGE);
    expect(body.products.map((p: { id: string }) => p.id)).toContain('ibm-mq');
    expect(denyServe.stderr()).not.toMatch(/background image scan failed/);
  });

  it('a background scan gives a reference only its own name: the same digest under a plain name is no IBM MQ', async () => {
    // The docker engine lists every tag of the busybox digest (the MQ name, this mirror, other tests' names).
    const first = await httpsReview(denyServe.url, MIRROR_IMAGE, 'mirror-1');
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body).response.allowed).toBe(true);
    const url = `${denyServe.url}/api/v1/findings?image=${encodeURIComponent(MIRROR_IMAGE)}`;
    let found = await httpsGet(url);
    for (const until = Date.now() + 20_000; found.status === 404 && Date.now() < until; found = await httpsGet(url)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(found.status, `${found.body}\n${denyServe.stderr()}`).toBe(200);
    expect(JSON.parse(found.body).products).toEqual([]);
    // Known now: admitted from what the scan found, still no MQ verdict; the MQ name keeps its own.
    const again = JSON.parse((await httpsReview(denyServe.url, MIRROR_IMAGE, 'mirror-2')).body).response;
    expect(again).toEqual({ uid: 'mirror-2', allowed: true });
    const mq = JSON.parse((await httpsGet(`${denyServe.url}/api/v1/findings?image=${encodeURIComponent(MQ_IMAGE)}`)).body);
    expect(mq.products.map((p: { id: string }) => p.id)).toEqual(['ibm-mq']);
  });

  it('never takes the cluster down: with failurePolicy Ignore a stopped kensus lets pods through', async () => {
    expect(await denyServe.stop()).toBe(0); // SIGTERM: a clean shutdown
    // Under Fail the same outage blocks every pod in the namespace; that is why Ignore ships.
    const blocked = await kubectl(cluster, ['apply', '-f', podFile('qm-outage-fail', 'team-a', true)]);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/Internal error occurred: failed calling webhook "deny\.precheck\.kensus\.dev": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/validate\?timeout=5s": .*(ECONNREFUSED|connection refused)/);
    const ignore = await kubectl(cluster, ['apply', '-f', webhookFile('Ignore')]);
    expect(ignore.stdout.trim(), ignore.stderr).toBe('validatingwebhookconfiguration.admissionregistration.k8s.io/kensus-precheck configured');
    const r = await kubectl(cluster, ['apply', '-f', podFile('qm-outage', 'team-a', false)]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('pod/qm-outage created');
    expect(cluster.get('v1', 'Pod', 'team-a', 'qm-outage')).toBeDefined();
  });
});
