import { PassThrough } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
// Not re-exported by the package index; needed to choose the offered subprotocols.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import WebSocket from 'ws';
import { log } from '../log.js';
import { ExecError, REAP_TIMEOUT_MS, bounded, type ExecChannel } from './channel.js';
import { trackerCommand } from './script.js';

function exitCodeOf(status: V1Status | undefined): number | null {
  if (!status) return null;
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message && /^\d+$/.test(cause.message) ? Number(cause.message) : null;
}

/** The HTTP status of a refused WebSocket upgrade ("Unexpected server response: 403"). */
function handshakeStatus(err: unknown): number | null {
  const text = (err as { message?: string })?.message ?? (err as { error?: { message?: string } })?.error?.message ?? String(err);
  const m = /Unexpected server response: (\d{3})/.exec(text);
  return m ? Number(m[1]) : null;
}

export interface KubeExecOptions {
  /**
   * WebSocket subprotocols to offer, best first. Default: client-node's list, which starts
   * with v5.channel.k8s.io (can half-close stdin) and falls back to v4 on older API servers.
   */
  protocols?: string[];
}

/**
 * Opens the tracker's session through pods/exec (WebSocket, channel protocol v5 or v4). With v4
 * stdin cannot be half-closed; the tracker does not need it: it ends on its own after the last
 * frame, and the connection's end stops it otherwise.
 */
export async function openKubeExec(kc: KubeConfig, namespace: string, pod: string, container: string, options: KubeExecOptions = {}): Promise<ExecChannel> {
  const target = `${namespace}/${pod}/${container}`;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let status: V1Status | undefined;
  const protocols = options.protocols;
  const exec = protocols
    ? new Exec(kc, new WebSocketHandler(kc, (uri, _offered, opts) => new WebSocket(uri, protocols, opts)))
    : new Exec(kc);
  const runExec = (command: string[], out: PassThrough | null, input: PassThrough | null, cb?: (s: V1Status) => void) =>
    exec.exec(namespace, pod, container, command, out, out ? stderr : null, input, false, cb);
  let ws: Awaited<ReturnType<Exec['exec']>>;
  try {
    ws = await runExec([...trackerCommand], stdout, stdin, (s) => {
      status = s;
    });
  } catch (err) {
    const code = handshakeStatus(err);
    if (code === 403) {
      throw new ExecError(
        'forbidden',
        `forbidden: the current user may not create pods/exec in namespace ${namespace} (needed to run the tracker in ${target})`,
        `grant it, e.g. kubectl create role kensus-exec -n ${namespace} --verb=create --resource=pods/exec and bind it to your user or service account`,
      );
    }
    if (code === 404) throw new ExecError('not-found', `${target}: no such pod or container`, `check with kubectl get pod ${pod} -n ${namespace}`);
    if (code === 400 || code === 409) throw new ExecError('gone', `${target}: the container is not running (HTTP ${code})`);
    const text = (err as { message?: string })?.message ?? String(err);
    throw new ExecError('failed', `${target}: pods/exec failed: ${code ? `HTTP ${code}` : text}`);
  }
  const exited = new Promise<{ exitCode: number | null; message?: string }>((resolve) => {
    ws.on('close', () => {
      stdout.end();
      stderr.end();
      resolve({ exitCode: exitCodeOf(status), message: status?.status === 'Success' ? undefined : status?.message });
    });
    ws.on('error', (err: Error) => log.debug({ err, target }, 'exec websocket error'));
  });
  return {
    stdout,
    stderr,
    write: (data) => {
      stdin.write(data);
    },
    endStdin: () => {
      stdin.end();
    },
    destroy: () => {
      const t = (ws as unknown as { terminate?: () => void }).terminate;
      if (t) t.call(ws);
      else ws.close();
    },
    exited,
    protocol: ws.protocol,
    reap: async (pid) => {
      if (!pid) return;
      const sink = new PassThrough();
      sink.resume();
      const killer = await runExec(['sh', '-c', 'kill -TERM "$1" 2>/dev/null; :', 'kensus-reap', String(pid)], sink, null);
      // The container's shell runs it: it may never end.
      await bounded(new Promise((r) => killer.on('close', r)), REAP_TIMEOUT_MS, () => killer.terminate());
    },
  };
}
