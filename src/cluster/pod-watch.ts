import { CoreV1Api, makeInformer, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { log } from '../log.js';
import { normalizePod, type ClusterPod } from './model.js';

/**
 * Pods starting and stopping between sweeps, from a watch (client-node's informer: it lists,
 * then watches from the list's resourceVersion; a watch that ends resumes from the last
 * resourceVersion it saw, and one answered 410 Gone relists). A pod starts when it is first seen
 * Running, stops when it leaves Running (Succeeded, Failed) or is deleted. Changes are handed
 * over in batches (`flushMs`), stamped with the batch's time: starts at T, stops at T + 1 ms,
 * so an overlap of two pods inside one batch is never missed by the peak.
 */
/** `at` is the batch's time (set when the batch is handed over). */
export type PodChange =
  | { kind: 'start'; at: Date; pod: ClusterPod; resourceVersion: string | null }
  | { kind: 'stop'; at: Date; namespace: string; name: string; uid: string | null; node: string | null; resourceVersion: string | null };

export interface PodWatch {
  /** Resolves once the first list is in (the starts of the pods running now are in the first batch). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export interface PodWatchOptions {
  /** How long changes gather before they are handed over (default 1000 ms). */
  flushMs?: number;
  /** Wait before re-starting a watch that failed (default 5000 ms). */
  retryMs?: number;
  now?: () => Date;
}

export function watchPods(kc: KubeConfig, onBatch: (changes: PodChange[]) => Promise<void>, opts: PodWatchOptions = {}): PodWatch {
  const api = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer(kc, '/api/v1/pods', () => api.listPodForAllNamespaces());
  const now = opts.now ?? (() => new Date());
  const running = new Map<string, { namespace: string; name: string; node: string | null }>();
  let queue: PodChange[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  const keyOf = (p: V1Pod) => p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`;
  const flush = () => {
    timer = null;
    const batch = queue;
    queue = [];
    if (!batch.length) return;
    const t = now();
    const after = new Date(t.getTime() + 1);
    const ordered = [...batch.filter((c) => c.kind === 'start').map((c) => ({ ...c, at: t })), ...batch.filter((c) => c.kind === 'stop').map((c) => ({ ...c, at: after }))];
    flushing = flushing.then(() => onBatch(ordered)).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'recording pod changes failed'));
  };
  const push = (c: PodChange) => {
    queue.push(c);
    timer ??= setTimeout(flush, opts.flushMs ?? 1000);
  };
  const seen = (obj: V1Pod) => {
    const key = keyOf(obj);
    const pod = normalizePod(obj);
    const rv = obj.metadata?.resourceVersion ?? null;
    const was = running.get(key);
    if (pod.phase === 'Running') {
      if (!was) push({ kind: 'start', at: new Date(0), pod, resourceVersion: rv });
      running.set(key, { namespace: pod.namespace, name: pod.name, node: pod.nodeName });
    } else if (was) {
      running.delete(key);
      push({ kind: 'stop', at: new Date(0), namespace: was.namespace, name: was.name, uid: pod.uid, node: was.node, resourceVersion: rv });
    }
  };
  informer.on('add', seen);
  informer.on('update', seen);
  informer.on('delete', (obj: V1Pod) => {
    const key = keyOf(obj);
    const was = running.get(key);
    if (!was) return;
    running.delete(key);
    push({ kind: 'stop', at: new Date(0), namespace: was.namespace, name: was.name, uid: obj.metadata?.uid ?? null, node: was.node, resourceVersion: obj.metadata?.resourceVersion ?? null });
  });
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    const message = (err as Error)?.message ?? String(err);
    // A watch refused while the list was allowed is an RBAC gap, not an outage: say which permission.
    if (/forbidden/i.test(message)) log.warn({ err: message, hint: 'grant watch on pods to this service account (deploy/kubernetes/base/serve-rbac.yaml)' }, 'pod watch forbidden (watch pods); pod starts and stops between sweeps are not recorded; retrying');
    else log.warn({ err: message }, 'pod watch failed; starting it again');
    setTimeout(() => {
      if (!stopped) informer.start().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'pod watch did not start'));
    }, opts.retryMs ?? 5000);
  });
  const ready = informer.start().then(() => flush());
  return {
    ready,
    async stop() {
      stopped = true;
      await informer.stop();
      if (timer) clearTimeout(timer);
      flush();
      await flushing;
    },
  };
}
