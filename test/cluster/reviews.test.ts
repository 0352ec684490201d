import { ApiException } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeReviews } from '../../src/server/kube-reviews.js';
import { kubeConfigFor, startTestCluster, type TestCluster } from '../support/k8s.js';

/** TokenReview and SubjectAccessReview of the test API server, through client-node as kensus serve sends them. */

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

describe('test API server reviews', () => {
  it('tells who a token belongs to, and nothing for an unknown token', async () => {
    const reviews = kubeReviews(kubeConfigFor(cluster));
    expect(await reviews.tokenReview(cluster.tokens.restricted)).toEqual({ user: 'restricted', uid: 'uid-user-restricted', groups: ['system:authenticated'], extra: undefined });
    expect(await reviews.tokenReview('not-a-token-of-this-cluster')).toBeNull();
  });

  it('authorises get on reports.kensus.dev by the subject user rules', async () => {
    const reviews = kubeReviews(kubeConfigFor(cluster));
    cluster.addUser('auditor', [{ verbs: ['get'], resources: ['reports'], apiGroups: ['kensus.dev'] }]);
    const auditor = (await reviews.tokenReview(cluster.tokens.auditor))!;
    expect(await reviews.mayRead(auditor)).toMatchObject({ allowed: true });
    expect(await reviews.mayRead((await reviews.tokenReview(cluster.tokens.restricted))!)).toMatchObject({ allowed: false });
    expect(await reviews.mayRead({ user: 'someone', groups: ['system:masters'] })).toMatchObject({ allowed: true });
  });

  it('needs create on tokenreviews to ask (system:auth-delegator), with the apiserver wording', async () => {
    const err = await kubeReviews(kubeConfigFor(cluster, 'restricted')).tokenReview(cluster.tokens.admin).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(403);
    expect(String((err as ApiException<unknown>).body)).toContain('User \\"restricted\\" cannot create resource \\"tokenreviews\\" in API group \\"authentication.k8s.io\\" at the cluster scope');
  });
});
