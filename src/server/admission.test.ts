import { beforeAll, describe, expect, it } from 'vitest';
import { loadSignatureSet, type SignatureSet } from '../signatures/load.js';
import type { ProductFinding } from '../model/finding.js';
import { reviewAdmission, type AdmissionDeps, type AdmissionReview } from './admission.js';
import { parsePolicy } from './policy.js';

let set: SignatureSet;
beforeAll(async () => {
  set = await loadSignatureSet();
});

function podReview(image: string, annotations: Record<string, string> = {}, namespace = 'apps', kind = 'Pod'): AdmissionReview {
  const podSpec = { containers: [{ name: 'main', image, env: [{ name: 'ACCEPT_EULA', value: 'Y' }] }] };
  const object =
    kind === 'Pod'
      ? { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace, annotations }, spec: podSpec }
      : { apiVersion: 'apps/v1', kind, metadata: { name: 'd', namespace }, spec: { template: { metadata: { annotations }, spec: podSpec } } };
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', operation: 'CREATE', namespace, object } };
}

function deps(policyText: string, known: Record<string, ProductFinding[]> = {}, entitled = false): AdmissionDeps & { queued: string[] } {
  const queued: string[] = [];
  return {
    set,
    policy: parsePolicy(policyText),
    knownFindings: (image) => known[image],
    entitled: () => entitled,
    requestScan: (image) => queued.push(image),
    queued,
  };
}

const oracleEE: ProductFinding = {
  id: 'oracle-database', vendor: 'Oracle', product: 'Oracle Database', edition: 'Enterprise Edition', version: '19.3.0.0.0',
  licenseMetric: 'per-core', licensable: true, confidence: 'high', evidence: [{ kind: 'file', path: '/opt/oracle/product/19c/dbhome_1/bin/oracle', rule: 'oracle-database/oracle-binary' }],
};

describe('admission pre-check', () => {
  it('denies an entitled IBM MQ image without License Service annotations, naming what is missing', () => {
    const d = deps('mode: deny');
    const answer = reviewAdmission(podReview('cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0-r1'), d);
    expect(answer.response.uid).toBe('u-1');
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.code).toBe(403);
    expect(answer.response.status?.message).toMatch(/IBM MQ.*lacks the IBM License Service annotations \(productID, productName, productMetric\)/);
    // never scanned before: queued for a background scan, admission did not wait for it
    expect(d.queued).toEqual(['cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0-r1']);
  });

  it('allows the same pod with the annotations, and the same workload template', () => {
    const annotations = { productID: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', productMetric: 'VIRTUAL_PROCESSOR_CORE' };
    expect(reviewAdmission(podReview('cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0-r1', annotations), deps('mode: deny')).response).toEqual({ uid: 'u-1', allowed: true });
    expect(reviewAdmission(podReview('cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0-r1', {}, 'apps', 'Deployment'), deps('mode: deny')).response.allowed).toBe(false);
  });

  it('in warn mode allows but tells kubectl users why', () => {
    const answer = reviewAdmission(podReview('cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0-r1'), deps('mode: warn'));
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.warnings?.[0]).toMatch(/lacks the IBM License Service annotations/);
  });

  it('uses earlier scan results for the image and applies deny lists and entitlements', () => {
    const known = { 'registry.local/erp/db:1': [oracleEE] };
    const denied = reviewAdmission(podReview('registry.local/erp/db:1'), deps('mode: deny\ndeny: [oracle-database]', known));
    expect(denied.response.allowed).toBe(false);
    expect(denied.response.status?.message).toMatch(/Oracle Database Enterprise Edition in container main \(registry\.local\/erp\/db:1\) is not allowed by policy/);
    const unentitled = reviewAdmission(podReview('registry.local/erp/db:1'), deps('mode: deny\nrequireEntitlement: true', known, false));
    expect(unentitled.response.status?.message).toMatch(/has no entitlement for namespace apps/);
    const entitled = reviewAdmission(podReview('registry.local/erp/db:1'), deps('mode: deny\nrequireEntitlement: true', known, true));
    expect(entitled.response.allowed).toBe(true);
  });

  it('lets excluded namespaces, deletes and plain images through untouched', () => {
    expect(reviewAdmission(podReview('cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0', {}, 'kube-system'), deps('mode: deny')).response.allowed).toBe(true);
    const del = podReview('cp.icr.io/cp/ibm-mqadvanced-server:9.4.1.0');
    del.request!.operation = 'DELETE';
    expect(reviewAdmission(del, deps('mode: deny')).response.allowed).toBe(true);
    expect(reviewAdmission(podReview('busybox:1.36'), deps('mode: deny')).response).toEqual({ uid: 'u-1', allowed: true });
  });
});
