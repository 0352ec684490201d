import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admit, webhookMatches, type AdmissionAttributes } from './admission.js';
import { ApiError } from './apierrors.js';
import { startWebhookServer, type WebhookServer } from '../support/k8s.js';

/** Admission against a real HTTPS webhook: matching, service references, failure policies. */
let hook: WebhookServer;

beforeAll(async () => {
  hook = await startWebhookServer((req) => (req.object?.metadata?.labels?.deny ? { allowed: false } : { allowed: true, warnings: [`seen ${req.kind.kind}`] }),
    ['kensus-webhook.kensus.svc']);
});
afterAll(async () => hook?.stop());

const attrs = (over: Partial<AdmissionAttributes> = {}): AdmissionAttributes => ({
  operation: 'CREATE', group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: 'team-a', name: 'web',
  object: { metadata: { name: 'web', labels: { app: 'web' } }, spec: { template: { spec: { containers: [] } } } }, oldObject: null,
  user: { username: 'admin', groups: [] }, dryRun: false, namespaceLabels: { 'kubernetes.io/metadata.name': 'team-a' }, ...over,
});

const rule = { operations: ['CREATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'statefulsets'] };

describe('validating admission webhooks', () => {
  it('matches rules, namespace and object selectors', () => {
    expect(webhookMatches({ rules: [rule] }, attrs())).toBe(true);
    expect(webhookMatches({ rules: [rule] }, attrs({ operation: 'UPDATE' }))).toBe(false);
    expect(webhookMatches({ rules: [{ ...rule, resources: ['*'] }] }, attrs())).toBe(true);
    expect(webhookMatches({ rules: [{ ...rule, resources: ['pods/*'], apiGroups: [''] }] }, attrs({ group: '', resource: 'pods', subresource: 'exec' }))).toBe(true);
    expect(webhookMatches({ rules: [rule], namespaceSelector: { matchLabels: { team: 'b' } } }, attrs())).toBe(false);
    expect(webhookMatches({ rules: [rule], objectSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] } }, attrs())).toBe(true);
  });

  it('calls a service-referenced webhook, verifying the certificate against the service name', async () => {
    const config = { webhooks: [{ name: 'svc.kensus.test', rules: [rule], clientConfig: { service: { namespace: 'kensus', name: 'kensus-webhook', path: '/validate', port: 443 }, caBundle: hook.caBundle } }] };
    const out = await admit([config], attrs(), () => hook.url);
    expect(out.warnings).toEqual(['seen Deployment']);
    expect(hook.requests.at(-1)).toMatchObject({ kind: { kind: 'Deployment' }, namespace: 'team-a', operation: 'CREATE' });
  });

  it('denies without explanation with code 400 when the webhook gives no status', async () => {
    const config = { webhooks: [{ name: 'deny.kensus.test', rules: [rule], clientConfig: { url: `${hook.url}/`, caBundle: hook.caBundle } }] };
    const err = await admit([config], attrs({ object: { metadata: { name: 'web', labels: { deny: 'yes' } } } }), () => undefined).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.body).toMatchObject({ code: 400, message: 'admission webhook "deny.kensus.test" denied the request without explanation' });
  });

  it('applies failurePolicy to unreachable webhooks and untrusted certificates', async () => {
    const unreachable = { name: 'gone.kensus.test', rules: [rule], clientConfig: { url: 'https://127.0.0.1:1/validate' } };
    await expect(admit([{ webhooks: [{ ...unreachable, failurePolicy: 'Ignore' }] }], attrs(), () => undefined)).resolves.toEqual({ warnings: [] });
    const err = await admit([{ webhooks: [unreachable] }], attrs(), () => undefined).catch((e) => e);
    expect(err.body.code).toBe(500);
    expect(err.body.message).toMatch(/^Internal error occurred: failed calling webhook "gone.kensus.test": failed to call webhook: Post "https:\/\/127.0.0.1:1\/validate\?timeout=10s": .*ECONNREFUSED/);
    const noCa = await admit([{ webhooks: [{ name: 'noca.kensus.test', rules: [rule], clientConfig: { url: hook.url } }] }], attrs(), () => undefined).catch((e) => e);
    expect(noCa.body.message).toMatch(/self-signed|unable to verify|certificate/i);
  });
});
