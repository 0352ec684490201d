import { describe, expect, it } from 'vitest';
import { checkAdmissionReview, parseAdmissionReview } from './admission-review.js';

const review = (object: unknown, request: Record<string, unknown> = {}) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', operation: 'CREATE', namespace: 'team-a', object, ...request },
});
const pod = (spec: unknown, metadata: unknown = { name: 'p', labels: { app: 'x' } }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });

describe('AdmissionReview bodies', () => {
  it('accepts what the API server sends for pods, workloads, CronJobs and deletions', () => {
    const containers = [{ name: 'mq', image: 'icr.io/ibm-messaging/mq:9.4', env: [{ name: 'LICENSE', value: 'accept' }, { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }], resources: { limits: { cpu: '2' } } }];
    const accepted = [
      review(pod({ containers, initContainers: [{ name: 'init', image: 'busybox' }] })),
      review({ kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 3, template: { metadata: { annotations: { productID: 'x' } }, spec: { containers } } } }),
      review({ kind: 'CronJob', metadata: { name: 'c' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers } } } } } }),
      review(null, { operation: 'DELETE', oldObject: pod({ containers }) }),
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'u1', object: { kind: 'ConfigMap', data: { a: 'b' } } } },
    ];
    for (const body of accepted) expect(checkAdmissionReview(body), JSON.stringify(body).slice(0, 80)).toEqual({ ok: true, review: body });
  });

  const rejected: Array<[string, string, RegExp]> = [
    ['a null body', 'null', /the body must be an AdmissionReview object$/],
    ['an array', '[1]', /the body must be an AdmissionReview object$/],
    ['text', 'POST me', /the body is not JSON$/],
    ['no request', '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}', /request is missing$/],
    ['no uid', '{"request": {"operation": "CREATE"}}', /request\.uid is missing$/],
    ['a number for the uid', '{"request": {"uid": 12345}}', /request\.uid must be of type string$/],
    ['an object for the uid', '{"request": {"uid": {"$gt": ""}}}', /request\.uid must be of type string$/],
    ['a uid with control characters', JSON.stringify({ request: { uid: 'a\nb' } }), /request\.uid must match pattern/],
    ['another kind of document', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', request: { uid: 'u' } }), /apiVersion must be one of/],
    ['initContainers that are not a list', JSON.stringify(review(pod({ containers: [], initContainers: 'x' }))), /request\.object\.spec\.initContainers must be of type array$/],
    ['a container that is not an object', JSON.stringify(review(pod({ containers: ['x'] }))), /request\.object\.spec\.containers\[0\] must be of type object$/],
    ['an image that is not a string', JSON.stringify(review(pod({ containers: [{ name: 'c', image: ['a'] }] }))), /containers\[0\]\.image must be of type string$/],
    ['an env value that is not a string', JSON.stringify(review(pod({ containers: [{ name: 'c', image: 'i', env: [{ name: 'A', value: 1 }] }] }))), /env\[0\]\.value must be of type string$/],
    ['labels that are not strings', JSON.stringify(review({ kind: 'Deployment', spec: { template: { metadata: { labels: { a: { b: 1 } } }, spec: { containers: [] } } } })), /template\.metadata\.labels\.a must be of type string$/],
    ['a CronJob template that is not a pod spec', JSON.stringify(review({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: 'x' } } } } })), /jobTemplate\.spec\.template\.spec must be of type object$/],
  ];
  for (const [what, body, message] of rejected) {
    it(`answers ${what} with a short 400 that echoes nothing it was sent`, () => {
      const r = parseAdmissionReview(body);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.status).toBe(400);
      expect(r.message).toMatch(/^not an admission\.k8s\.io\/v1 AdmissionReview: /);
      expect(r.message).toMatch(message);
      expect(r.message.length).toBeLessThan(200);
      expect(r.message).not.toMatch(/12345|\$gt|POST me/);
    });
  }
});
