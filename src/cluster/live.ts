import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { badInput, unreachable, KensusError } from '../errors.js';
import { log } from '../log.js';
import { buildClusterModel, type ClusterModel } from './model.js';

export interface LiveOptions {
  kubeconfig?: string;
  context?: string;
  /** Only these namespaces (listed per namespace: needs `list pods` there only). */
  namespaces?: string[];
  podSelector?: string;
  nodeSelector?: string;
  /** Only the pods on this node (fieldSelector spec.nodeName=NAME: the node agent). Nodes are all listed. */
  podsOnNode?: string;
  /** Page size for list calls. */
  pageSize?: number;
}

/** Loads the kubeconfig: a file, or the default chain ($KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(opts: Pick<LiveOptions, 'kubeconfig' | 'context'>): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw badInput(`cannot load kubeconfig ${opts.kubeconfig ?? '(default)'}: ${(err as Error).message}`, 'give a valid file with --kubeconfig or set KUBECONFIG');
  }
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
export function apiError(err: unknown, verb: string, resource: string, where: string, server: string): KensusError {
  if (err instanceof KensusError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    if (code === 403) {
      return unreachable(
        `forbidden: the current user may not ${verb} ${resource}${where}`,
        `grant it, e.g. kubectl create clusterrole kensus-reader --verb=list --resource=nodes,pods and bind it to your user or service account`,
      );
    }
    if (code === 401) return unreachable(`unauthorized at ${server}: the credentials in the kubeconfig were refused`, 'refresh the token or certificate of the kubeconfig user');
    return unreachable(`${verb} ${resource}${where} failed at ${server}: HTTP ${code}`, 'check the API server');
  }
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  return unreachable(`cannot reach the Kubernetes API at ${server}: ${code ?? e.message ?? String(err)}`, 'check the kubeconfig server address and that the cluster is up');
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
  const fieldSelector = opts.podsOnNode ? `spec.nodeName=${opts.podsOnNode}` : undefined;
  if (opts.namespaces?.length) {
    for (const ns of opts.namespaces) {
      try {
        pods.push(...(await listAll((cont) => api.listNamespacedPod({ namespace: ns, labelSelector: opts.podSelector, fieldSelector, limit, _continue: cont }))));
      } catch (err) {
        throw apiError(err, 'list', 'pods', ` in namespace ${ns}`, server);
      }
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
