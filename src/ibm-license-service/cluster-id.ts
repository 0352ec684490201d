import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { log } from '../log.js';

/**
 * The cluster's id for the .ndi (`clusterid`, the ServiceProvider's Name): the uid of the
 * kube-system namespace, the usual stable identity of a Kubernetes cluster (Kensus's other .ndi
 * files use it too). Without cluster access, a stable UUID-shaped id derived from the License
 * Service URL, with a warning: pass --cluster-id to choose one.
 */
export async function licenseServiceClusterId(kubeConfig: (() => KubeConfig) | undefined, url: string): Promise<string> {
  if (kubeConfig) {
    try {
      const ns = await kubeConfig().makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' });
      if (ns.metadata?.uid) return ns.metadata.uid;
    } catch (err) {
      log.warn({ error: (err as Error).message }, 'cannot read the kube-system namespace for the cluster id');
    }
  }
  const h = createHash('sha256').update(`kensus-ibm-license-service:${new URL(url).host}`).digest('hex');
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  log.warn({ clusterId: id }, 'no cluster id known: derived one from the License Service URL (give --cluster-id to set it)');
  return id;
}
