import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { User } from './auth.js';

/**
 * A kubeconfig with the cluster's CA inline and one user + context per token; the first user's
 * context is current.
 */
export function kubeconfigText(url: string, caCert: string, users: User[], clusterName = 'kensus-test'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server: url, 'certificate-authority-data': Buffer.from(caCert).toString('base64') } }],
    users: users.map((u) => ({ name: u.name, user: { token: u.token } })),
    contexts: users.map((u) => ({ name: u.name, context: { cluster: clusterName, user: u.name, namespace: 'default' } })),
    'current-context': users[0]?.name ?? '',
    preferences: {},
  });
}

export function writeKubeconfig(path: string, url: string, caCert: string, users: User[]): void {
  writeFileSync(path, kubeconfigText(url, caCert, users), { mode: 0o600 });
}
