import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KubeReviews } from './auth.js';

/** What a dashboard reader needs: `get` on `reports` in API group `kensus.dev` (cluster scope). */
export const readAttributes = { group: 'kensus.dev', resource: 'reports', verb: 'get' } as const;

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * TokenReview and SubjectAccessReview against the API server of a kubeconfig (in a pod: the
 * service account, which needs `create` on tokenreviews and subjectaccessreviews, as the
 * `system:auth-delegator` ClusterRole grants).
 */
export function kubeReviews(kc: KubeConfig, opts: { timeoutMs?: number; audiences?: string[] } = {}): KubeReviews {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return {
    async tokenReview(token) {
      const r = await within(timeoutMs, 'TokenReview', authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(opts.audiences ? { audiences: opts.audiences } : {}) } } }));
      const s = r.status;
      if (!s?.authenticated || !s.user?.username) return null;
      return { user: s.user.username, uid: s.user.uid, groups: s.user.groups ?? [], extra: s.user.extra };
    },
    async mayRead(who) {
      const r = await within(
        timeoutMs,
        'SubjectAccessReview',
        authz.createSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: { user: who.user, uid: who.uid, groups: who.groups, extra: who.extra, resourceAttributes: { ...readAttributes } },
          },
        }),
      );
      return { allowed: r.status?.allowed === true, reason: r.status?.reason };
    },
  };
}
