import { describe, expect, it } from 'vitest';
import type { AdmissionResponse } from './admission.js';
import { withLicenceHeadroom } from './admission-licence.js';
import { defaultPolicy } from './policy.js';

const allowed = (warnings?: string[]): AdmissionResponse => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u1', allowed: true, ...(warnings ? { warnings } : {}) } });
const pod = { metadata: { name: 'nim-new', namespace: 'ai-inference' }, spec: { containers: [] } };
const create = { operation: 'CREATE', namespace: 'ai-inference', object: pod };
const OVER = 'kensus: NVIDIA AI Enterprise per-gpu: this pod adds 4 to 10 in use of 12 entitled, 2 left: 14 would exceed the entitlement by 2';

describe('licence-aware admission', () => {
  it('denies a pod that would go over when the policy denies, naming figure, entitlement and headroom', async () => {
    const r = await withLicenceHeadroom(allowed(), create, async () => ({ over: [OVER], notes: [] }), { ...defaultPolicy, mode: 'deny' });
    expect(r.response).toEqual({ uid: 'u1', allowed: false, status: { code: 403, reason: 'Forbidden', message: OVER } });
  });

  it('warns instead when the policy warns, keeping the warnings it had', async () => {
    const r = await withLicenceHeadroom(allowed(['kensus: earlier']), create, async () => ({ over: [OVER], notes: [] }), defaultPolicy);
    expect(r.response).toEqual({ uid: 'u1', allowed: true, warnings: ['kensus: earlier', OVER] });
  });

  it('leaves a pod that fits, an update, an excluded namespace and a denied answer as they were', async () => {
    let asked = 0;
    const check = async () => (asked++, { over: [OVER], notes: [] });
    expect(await withLicenceHeadroom(allowed(), create, async () => ({ over: [], notes: [] }), defaultPolicy)).toEqual(allowed());
    expect(await withLicenceHeadroom(allowed(), { ...create, operation: 'UPDATE' }, check, defaultPolicy)).toEqual(allowed());
    expect(await withLicenceHeadroom(allowed(), { ...create, namespace: 'kube-system' }, check, defaultPolicy)).toEqual(allowed());
    const denied: AdmissionResponse = { ...allowed(), response: { uid: 'u1', allowed: false, status: { code: 403, message: 'kensus: deny list' } } };
    expect(await withLicenceHeadroom(denied, create, check, defaultPolicy)).toEqual(denied);
    expect(asked).toBe(0);
  });

  it("warns of IBM's 90-day rule whatever the mode, beside a denial too", async () => {
    const NOTE = 'IBM MQ has run 120 days in cluster prod without IBM License Service';
    const warned = await withLicenceHeadroom(allowed(), create, async () => ({ over: [], notes: [NOTE] }), { ...defaultPolicy, mode: 'deny' });
    expect(warned.response).toEqual({ uid: 'u1', allowed: true, warnings: [NOTE] });
    const both = await withLicenceHeadroom(allowed(), create, async () => ({ over: [OVER], notes: [NOTE] }), { ...defaultPolicy, mode: 'deny' });
    expect(both.response).toEqual({ uid: 'u1', allowed: false, status: { code: 403, reason: 'Forbidden', message: OVER }, warnings: [NOTE] });
  });

  it('answers within its budget when the store is slow or fails: as before, with a warning that it was not checked', async () => {
    const slow = () => new Promise<{ over: string[]; notes: string[] }>((resolve) => setTimeout(() => resolve({ over: [OVER], notes: [] }), 2_000));
    const started = Date.now();
    const r = await withLicenceHeadroom(allowed(), create, slow, { ...defaultPolicy, mode: 'deny' }, 50);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(r.response.allowed).toBe(true);
    expect(r.response.warnings).toEqual(['kensus: licence headroom not checked: the store did not answer within 50 ms']);
    const failed = await withLicenceHeadroom(allowed(), create, async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.9:5432');
    }, defaultPolicy);
    // Whoever creates the pod is not told the database's address; the log is.
    expect(failed.response.warnings).toEqual(['kensus: licence headroom not checked: the store could not be read (the kensus log says why)']);
  });
});
