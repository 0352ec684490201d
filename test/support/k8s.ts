import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startTestCluster, type TestCluster, type TestClusterOptions } from '../cluster/server.js';
import { makeTls } from '../cluster/tls.js';
import { requireBinary } from './daemons.js';

/**
 * Helpers for tests that need a Kubernetes cluster: start the test cluster (test/cluster),
 * run the machine's real kubectl against it, get a client-node KubeConfig for any of its users,
 * and run an HTTPS admission webhook.
 */
export { startTestCluster, type TestCluster, type TestClusterOptions };
export { defaultFixture, type Fixture } from '../cluster/fixture.js';
export { BUSYBOX_IMAGE, ensureBusyboxImage } from '../cluster/image.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

const cacheDir = mkdtempSync(join(tmpdir(), 'kensus-kubectl-cache-'));

/** Runs /usr/bin/kubectl against the cluster (admin context unless `context` names another user). */
export function kubectl(cluster: TestCluster, args: string[], opts: { input?: string | Buffer; context?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<KubectlResult> {
  const bin = requireBinary('kubectl', 'kubectl');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--kubeconfig', cluster.kubeconfigPath, ...(opts.context ? ['--context', opts.context] : []), ...args], {
      // A private discovery cache: CRDs created by one test must not hide behind another's cache.
      env: { ...process.env, KUBECACHEDIR: cacheDir, HOME: cacheDir, ...(opts.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl ${args.join(' ')} timed out; stderr: ${Buffer.concat(err).toString()}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** A @kubernetes/client-node KubeConfig for the cluster, with the given user's context current. */
export function kubeConfigFor(cluster: TestCluster, user = 'admin'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  kc.setCurrentContext(user);
  return kc;
}

export interface WebhookServer {
  url: string;
  /** base64 PEM of the CA that signed the server certificate, as caBundle wants it. */
  caBundle: string;
  /** AdmissionReview requests received, newest last. */
  requests: any[];
  stop(): Promise<void>;
}

/**
 * An HTTPS admission webhook for tests: `decide` gets the AdmissionReview request and returns the
 * response fields (allowed, status, warnings) or a delay in ms to simulate a slow webhook.
 * The certificate also names `dnsNames` so a service-referenced webhook can be mapped to it.
 */
export async function startWebhookServer(
  decide: (request: any) => { allowed: boolean; status?: Record<string, unknown>; warnings?: string[]; delayMs?: number },
  dnsNames: string[] = ['localhost'],
): Promise<WebhookServer> {
  const tls = makeTls(dnsNames, ['127.0.0.1'], 'kensus-test-webhook');
  const requests: any[] = [];
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      requests.push(review.request);
      const { delayMs, ...verdict } = decide(review.request);
      const reply = () => {
        if (res.destroyed) return;
        const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, ...verdict } });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(body);
      };
      if (delayMs) setTimeout(reply, delayMs);
      else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    caBundle: Buffer.from(tls.caCert).toString('base64'),
    requests,
    stop: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
