import { randomUUID } from 'node:crypto';
import https from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { statusError, type ApiError } from './apierrors.js';
import { labelSelectorObject } from './selectors.js';
import type { KObject } from './store.js';

/**
 * Validating admission as the apiserver does it: every webhook of every
 * ValidatingWebhookConfiguration whose rules match is called over HTTPS with an
 * admission.k8s.io/v1 AdmissionReview; a denial or (with failurePolicy Fail) a failed call
 * rejects the request with the apiserver's wording; warnings go back as HTTP Warning headers.
 */
export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  group: string;
  version: string;
  kind: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name: string;
  object: KObject | null;
  oldObject: KObject | null;
  user: { username: string; groups: string[] };
  dryRun: boolean;
  /** Labels of the object's namespace, for namespaceSelector. */
  namespaceLabels?: Record<string, string>;
}

/** Maps a webhook's clientConfig.service to a loopback base URL (tests register their servers). */
export type ServiceResolver = (namespace: string, name: string, port: number) => string | undefined;

const wild = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);

function ruleMatches(rule: KObject, a: AdmissionAttributes): boolean {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources: string[] = rule.resources ?? [];
  const resOk = resources.some((r) => r === '*' || r === res || (r === '*/*') || (r.endsWith('/*') && r.slice(0, -2) === a.resource) || (r.startsWith('*/') && a.subresource === r.slice(2)));
  const scope = rule.scope ?? '*';
  const scopeOk = scope === '*' || (scope === 'Namespaced' ? Boolean(a.namespace) : !a.namespace);
  return wild(rule.operations, a.operation) && wild(rule.apiGroups, a.group) && wild(rule.apiVersions, a.version) && resOk && scopeOk;
}

export function webhookMatches(hook: KObject, a: AdmissionAttributes): boolean {
  if (!(hook.rules ?? []).some((r: KObject) => ruleMatches(r, a))) return false;
  if (a.namespace && hook.namespaceSelector && !labelSelectorObject(hook.namespaceSelector)(a.namespaceLabels ?? {})) return false;
  const obj = a.object ?? a.oldObject;
  if (hook.objectSelector && !labelSelectorObject(hook.objectSelector)(obj?.metadata?.labels ?? {})) return false;
  return true;
}

interface CallResult {
  status: number;
  body: string;
}

function post(url: URL, body: string, ca: string | undefined, timeoutMs: number, servername: string | undefined): Promise<CallResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'POST',
      ca: ca || undefined,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': Buffer.byteLength(body) },
      // A service webhook's certificate names the service, not the loopback address it is mapped to.
      ...(servername ? { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(servername, cert) } : {}),
      timeout: timeoutMs,
    });
    const timer = setTimeout(() => req.destroy(new Error('context deadline exceeded')), timeoutMs);
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded')));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

export interface AdmissionOutcome {
  warnings: string[];
}

function review(a: AdmissionAttributes, uid: string) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: a.group, version: a.version, kind: a.kind },
      resource: { group: a.group, version: a.version, resource: a.resource },
      ...(a.subresource ? { subResource: a.subresource } : {}),
      requestKind: { group: a.group, version: a.version, kind: a.kind },
      requestResource: { group: a.group, version: a.version, resource: a.resource },
      name: a.name,
      ...(a.namespace ? { namespace: a.namespace } : {}),
      operation: a.operation,
      userInfo: { username: a.user.username, groups: a.user.groups },
      object: a.object,
      oldObject: a.oldObject,
      dryRun: a.dryRun,
      options: a.operation === 'CREATE' ? { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' } : a.operation === 'UPDATE' ? { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' } : null,
    },
  };
}

/** The apiserver's `toStatusErr`: a rejection is at least 400 and its message names the webhook. */
function denied(name: string, status: KObject | undefined): ApiError {
  const by = `admission webhook "${name}" denied the request`;
  const code = Number(status?.code) >= 400 ? Number(status!.code) : 400;
  const msg = status?.message ? `${by}: ${status.message}` : status?.reason ? `${by}: ${status.reason}` : `${by} without explanation`;
  return statusError(code, status?.reason ?? '', msg, status?.details);
}

async function callWebhook(hook: KObject, a: AdmissionAttributes, resolve: ServiceResolver): Promise<{ warnings: string[] } | ApiError> {
  const timeoutSeconds = hook.timeoutSeconds ?? 10;
  const cc = hook.clientConfig ?? {};
  let url: URL;
  let servername: string | undefined;
  if (cc.url) url = new URL(cc.url);
  else if (cc.service) {
    const port = cc.service.port ?? 443;
    const base = resolve(cc.service.namespace, cc.service.name, port);
    if (!base) throw new Error(`service "${cc.service.name}" not found`);
    url = new URL((cc.service.path ?? '/').replace(/^\/?/, '/'), base);
    servername = `${cc.service.name}.${cc.service.namespace}.svc`;
  } else throw new Error('webhook has no clientConfig.url or clientConfig.service');
  url.searchParams.set('timeout', `${timeoutSeconds}s`);
  const ca = cc.caBundle ? Buffer.from(cc.caBundle, 'base64').toString('utf8') : undefined;
  const uid = randomUUID();
  let res: CallResult;
  try {
    res = await post(url, JSON.stringify(review(a, uid)), ca, timeoutSeconds * 1000, servername);
  } catch (e) {
    throw new Error(`failed to call webhook: Post "${url.href}": ${(e as Error).message}`);
  }
  if (res.status < 200 || res.status >= 300) throw new Error(`received invalid webhook response: expected response code 200, got ${res.status}`);
  let parsed: KObject;
  try {
    parsed = JSON.parse(res.body);
  } catch (e) {
    throw new Error(`received invalid webhook response: ${(e as Error).message}`);
  }
  const r = parsed.response;
  if (!r) throw new Error('received invalid webhook response: webhook response was absent');
  if (r.uid !== uid) throw new Error(`expected response.uid="${uid}", got "${r.uid}"`);
  if (!r.allowed) return denied(hook.name, r.status);
  return { warnings: r.warnings ?? [] };
}

/** Runs every matching webhook (in parallel, as validating webhooks are); throws the first rejection. */
export async function admit(configs: KObject[], a: AdmissionAttributes, resolve: ServiceResolver): Promise<AdmissionOutcome> {
  const hooks = configs.flatMap((c) => (c.webhooks ?? []) as KObject[]).filter((h) => webhookMatches(h, a));
  const results = await Promise.all(hooks.map(async (h) => {
    try {
      return await callWebhook(h, a, resolve);
    } catch (e) {
      if ((h.failurePolicy ?? 'Fail') === 'Ignore') return { warnings: [] };
      return statusError(500, 'InternalError', `Internal error occurred: failed calling webhook "${h.name}": ${(e as Error).message}`,
        { causes: [{ message: `failed calling webhook "${h.name}": ${(e as Error).message}` }] });
    }
  }));
  const warnings: string[] = [];
  for (const r of results) {
    if ('body' in r) throw r;
    warnings.push(...r.warnings);
  }
  return { warnings };
}
