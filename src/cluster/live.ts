import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { readKubeConfig } from './kubeconfig.js';
import { badInput, unreachable, KensusError } from '../errors.js';
import { log } from '../log.js';
import { buildClusterModel, type ClusterModel } from './model.js';

export interface LiveOptions {
  kubeconfig?: string;
  context?: string;
  /** Only these namespaces (listed per namespace: needs `list pods` there only). */
  namespaces?: string[];
  podSelector?: string;
  /** Pod field selector (spec.nodeName=, status.phase=, metadata.name=), passed to the API server. */
  fieldSelector?: string;
  nodeSelector?: string;
  /** Only the pods on this node (fieldSelector spec.nodeName=NAME: the node agent). Nodes are all listed. */
  podsOnNode?: string;
  /** Page size for list calls. */
  pageSize?: number;
}

/** Loads the kubeconfig as kubectl does (see kubeconfig.ts) and picks --context. */
export function loadKubeConfig(opts: Pick<LiveOptions, 'kubeconfig' | 'context'>): KubeConfig {
  const kc = readKubeConfig(opts.kubeconfig);
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw badInput(`kubeconfig has no context '${opts.context}'`, `use one of: ${kc.getContexts().map((c) => c.name).join(', ') || '(none)'}`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) throw badInput('kubeconfig has no current cluster', 'set a current context (kubectl config use-context NAME) or pass --context');
  return kc;
}

/** Turns an API failure into an actionable error: which permission is missing, or why the server is unreachable. */
export function apiError(err: unknown, verb: string, resource: string, where: string, server: string, needs?: string): KensusError {
  if (err instanceof KensusError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    if (code === 403) {
      // The grant names exactly what was refused, in the namespace it was refused in.
      const ns = /namespace (\S+)/.exec(where)?.[1];
      const grant = ns ? `kubectl create role kensus-reader -n ${ns} --verb=${verb} --resource=${resource}` : `kubectl create clusterrole kensus-reader --verb=${verb} --resource=${resource}`;
      return unreachable(
        `forbidden: the current user may not ${verb} ${resource}${where}${needs ? ` (${needs})` : ''}`,
        `grant it, e.g. ${grant} and bind it to your user or service account`,
      );
    }
    if (code === 401) return unreachable(`unauthorized at ${server}: the credentials in the kubeconfig were refused`, 'refresh the token or certificate of the kubeconfig user');
    return unreachable(`${verb} ${resource}${where} failed at ${server}: HTTP ${code}`, 'check the API server');
  }
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  return unreachable(`cannot reach the Kubernetes API at ${server}: ${code ?? e.message ?? String(err)}`, 'check the kubeconfig server address and that the cluster is up');
}

/** True when the API server says the namespace does not exist (false when it cannot tell, e.g. forbidden). */
export async function namespaceMissing(api: CoreV1Api, name: string): Promise<boolean> {
  try {
    await api.readNamespace({ name });
    return false;
  } catch (err) {
    return err instanceof ApiException && err.code === 404;
  }
}

/** "namespace X not found" as bad input (the user named it), with where to look. */
export function namespaceNotFound(name: string, context: string): KensusError {
  return badInput(`namespace ${name} not found (context ${context || '(none)'})`, 'list them with kubectl get namespaces');
}

interface ListResult {
  items: unknown[];
  metadata?: { _continue?: string };
}

async function listAll(call: (cont: string | undefined) => Promise<ListResult>): Promise<unknown[]> {
  const out: unknown[] = [];
  let cont: string | undefined;
  do {
    const page = await call(cont);
    out.push(...page.items);
    cont = page.metadata?._continue || undefined;
  } while (cont);
  return out;
}

/** The cluster model from a live API server (nodes and pods, with the given selectors). */
export async function loadLiveCluster(opts: LiveOptions = {}): Promise<ClusterModel> {
  const kc = loadKubeConfig(opts);
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  const api = kc.makeApiClient(CoreV1Api);
  const limit = opts.pageSize ?? 500;
  let nodes: unknown[];
  try {
    nodes = await listAll((cont) => api.listNode({ labelSelector: opts.nodeSelector, limit, _continue: cont }));
  } catch (err) {
    throw apiError(err, 'list', 'nodes', ' (cluster-scoped)', server);
  }
  const pods: unknown[] = [];
  const fieldSelector = [opts.fieldSelector, opts.podsOnNode ? `spec.nodeName=${opts.podsOnNode}` : undefined].filter(Boolean).join(',') || undefined;
  if (opts.namespaces?.length) {
    for (const ns of opts.namespaces) {
      let found: unknown[];
      try {
        found = await listAll((cont) => api.listNamespacedPod({ namespace: ns, labelSelector: opts.podSelector, fieldSelector, limit, _continue: cont }));
      } catch (err) {
        throw apiError(err, 'list', 'pods', ` in namespace ${ns}`, server);
      }
      if (found.length === 0 && (await namespaceMissing(api, ns))) throw namespaceNotFound(ns, kc.getCurrentContext());
      pods.push(...found);
    }
  } else {
    try {
      pods.push(...(await listAll((cont) => api.listPodForAllNamespaces({ labelSelector: opts.podSelector, fieldSelector, limit, _continue: cont }))));
    } catch (err) {
      throw apiError(err, 'list', 'pods', ' in all namespaces', server);
    }
  }
  log.debug({ server, nodes: nodes.length, pods: pods.length }, 'cluster listed');
  return buildClusterModel(nodes, pods, 'live', kc.getCurrentCluster()?.name ?? null);
}
