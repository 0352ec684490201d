import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { badInput } from '../errors.js';

/**
 * The kubeconfig as kubectl reads it: --kubeconfig FILE; else every file of $KUBECONFIG (joined
 * by ":"), missing ones skipped, merged so that the first file to name a cluster, user or context
 * wins and the first current-context set wins; else ~/.kube/config; else the in-cluster service
 * account. (@kubernetes/client-node's loadFromDefault lets the last current-context win, throws on
 * a name two files share and on a missing file, and falls back to localhost:8080 silently.)
 */
export function readKubeConfig(kubeconfig?: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const home = join(env.HOME || homedir(), '.kube', 'config');
  const listed = kubeconfig ? [kubeconfig] : env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter(Boolean) : [home];
  const files = kubeconfig ? listed : listed.filter((f) => existsSync(f));
  if (files.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
      kc.loadFromCluster();
      return kc;
    }
    const checked = env.KUBECONFIG ? `$KUBECONFIG=${env.KUBECONFIG}` : `$KUBECONFIG (unset), ${home}`;
    throw badInput(`no kubeconfig found (checked ${checked})`, 'give one with --kubeconfig FILE or set KUBECONFIG; for a saved cluster use scan cluster --snapshot FILE');
  }
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let current = '';
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (err) {
      throw badInput(`cannot load kubeconfig ${file}: ${(err as Error).message}`, 'give a valid file with --kubeconfig or fix KUBECONFIG');
    }
    for (const c of one.getClusters()) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of one.getUsers()) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of one.getContexts()) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (!current && one.getCurrentContext()) current = one.getCurrentContext();
  }
  kc.loadFromOptions({ clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext: current });
  return kc;
}

/** The namespace of the kubeconfig's current context, as kubectl defaults `-n` to it; else "default". */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}
