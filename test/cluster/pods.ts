import { chmodSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { log } from '../../src/log.js';
import type { KObject } from './store.js';

/**
 * Pods backed by real Docker containers: one container per pod container, labelled like
 * cri-dockerd labels them (io.kubernetes.*) plus kensus.test/* labels that let a later run clean
 * up after a crashed one. The node is virtual: every container runs on the one test dockerd.
 */
export const LABEL = {
  server: 'kensus.test/server',
  serverPid: 'kensus.test/server-pid',
  namespace: 'kensus.test/namespace',
  pod: 'kensus.test/pod',
  container: 'kensus.test/container',
  podUid: 'io.kubernetes.pod.uid',
} as const;

export type Lookup = (plural: 'configmaps' | 'secrets', ns: string, name: string) => KObject | undefined;

export interface PodRuntimeOptions {
  docker: Docker;
  serverId: string;
  stateDir: string;
  lookup: Lookup;
  /** Called whenever a pod's containers change state, with a freshly computed status. */
  onStatus: (ns: string, name: string, uid: string, status: KObject) => void;
}

const k8sTime = (t: string | undefined) => (t && !t.startsWith('0001') ? t.replace(/\.\d+Z$/, 'Z') : undefined);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function dockerName(pod: KObject, container: string): string {
  return `k8s_${container}_${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid}_0`;
}

export class PodRuntime {
  private readonly docker: Docker;
  private events?: NodeJS.ReadableStream;
  private readonly pods = new Map<string, KObject>(); // uid -> pod spec as started
  private readonly missing = new Map<string, Map<string, { reason: string; message: string }>>();

  constructor(private readonly opts: PodRuntimeOptions) {
    this.docker = opts.docker;
  }

  /** Removes containers left by test clusters whose process is gone (never another live cluster's). */
  async removeLeftovers(): Promise<number> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [LABEL.server] } });
    const stale = list.filter((c) => !pidAlive(Number(c.Labels[LABEL.serverPid] ?? 0)) || c.Labels[LABEL.server] === this.opts.serverId);
    await Promise.all(stale.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
    return stale.length;
  }

  async watchDocker(): Promise<void> {
    const stream = (await this.docker.getEvents({
      filters: { type: ['container'], label: [`${LABEL.server}=${this.opts.serverId}`] },
    })) as NodeJS.ReadableStream;
    this.events = stream;
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const ev = JSON.parse(line);
          const uid = ev.Actor?.Attributes?.[LABEL.podUid];
          if (uid && ['start', 'die', 'restart', 'oom', 'kill', 'stop'].includes(ev.status ?? ev.Action)) void this.refresh(uid);
        } catch {
          /* partial or foreign line */
        }
      }
    });
    stream.on('error', () => {});
  }

  stopWatching(): void {
    (this.events as any)?.destroy?.();
  }

  private podDir(uid: string): string {
    return join(this.opts.stateDir, 'pods', uid);
  }

  private volumeBinds(pod: KObject): Map<string, { host?: string; tmpfs?: boolean; readOnly?: boolean }> {
    const out = new Map<string, { host?: string; tmpfs?: boolean; readOnly?: boolean }>();
    const uid = pod.metadata.uid;
    for (const v of pod.spec.volumes ?? []) {
      if (v.hostPath) {
        const p = v.hostPath.path;
        if (v.hostPath.type === 'DirectoryOrCreate' && !existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o755 });
        if (v.hostPath.type === 'FileOrCreate' && !existsSync(p)) {
          mkdirSync(dirname(p), { recursive: true });
          writeFileSync(p, '');
        }
        out.set(v.name, { host: p });
      } else if (v.emptyDir) {
        if (v.emptyDir.medium === 'Memory') {
          out.set(v.name, { tmpfs: true });
          continue;
        }
        const dir = join(this.podDir(uid), 'volumes', 'kubernetes.io~empty-dir', v.name);
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777); // like kubelet: writable for any runAsUser
        out.set(v.name, { host: dir });
      } else if (v.configMap || v.secret) {
        const kind = v.configMap ? 'configmaps' : 'secrets';
        const ref = v.configMap ? v.configMap.name : v.secret.secretName;
        const obj = this.opts.lookup(kind, pod.metadata.namespace, ref);
        const dir = join(this.podDir(uid), 'volumes', `kubernetes.io~${kind === 'configmaps' ? 'configmap' : 'secret'}`, v.name);
        mkdirSync(dir, { recursive: true });
        const data: Record<string, Buffer> = {};
        for (const [k, val] of Object.entries<string>(obj?.data ?? {})) data[k] = kind === 'secrets' ? Buffer.from(val, 'base64') : Buffer.from(val);
        for (const [k, val] of Object.entries<string>(obj?.stringData ?? {})) data[k] = Buffer.from(val);
        for (const [k, val] of Object.entries<string>(obj?.binaryData ?? {})) data[k] = Buffer.from(val, 'base64');
        const items: { key: string; path: string }[] = (v.configMap ?? v.secret).items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
        for (const it of items) {
          if (!data[it.key]) continue;
          mkdirSync(dirname(join(dir, it.path)), { recursive: true });
          writeFileSync(join(dir, it.path), data[it.key], { mode: 0o644 });
        }
        out.set(v.name, { host: dir, readOnly: true });
      } else {
        // Other volume types (projected, downwardAPI, PVCs) become an empty directory: enough to mount.
        const dir = join(this.podDir(uid), 'volumes', 'other', v.name);
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777);
        out.set(v.name, { host: dir });
      }
    }
    return out;
  }

  private env(pod: KObject, c: KObject): string[] {
    const ns = pod.metadata.namespace;
    const out: string[] = [];
    const fromObj = (kind: 'configmaps' | 'secrets', name: string): Record<string, string> => {
      const o = this.opts.lookup(kind, ns, name);
      const res: Record<string, string> = {};
      for (const [k, v] of Object.entries<string>(o?.data ?? {})) res[k] = kind === 'secrets' ? Buffer.from(v, 'base64').toString('utf8') : v;
      for (const [k, v] of Object.entries<string>(o?.stringData ?? {})) res[k] = v;
      return res;
    };
    for (const ef of c.envFrom ?? []) {
      const vals = ef.configMapRef ? fromObj('configmaps', ef.configMapRef.name) : ef.secretRef ? fromObj('secrets', ef.secretRef.name) : {};
      for (const [k, v] of Object.entries(vals)) out.push(`${ef.prefix ?? ''}${k}=${v}`);
    }
    for (const e of c.env ?? []) {
      let value = e.value ?? '';
      const vf = e.valueFrom;
      if (vf?.fieldRef) {
        const fp: string = vf.fieldRef.fieldPath;
        const lm = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fp);
        if (lm) value = pod.metadata[lm[1]]?.[lm[2]] ?? '';
        else value = String(fp.split('.').reduce((o: any, k) => o?.[k], pod) ?? '');
      } else if (vf?.configMapKeyRef) value = fromObj('configmaps', vf.configMapKeyRef.name)[vf.configMapKeyRef.key] ?? '';
      else if (vf?.secretKeyRef) value = fromObj('secrets', vf.secretKeyRef.name)[vf.secretKeyRef.key] ?? '';
      out.push(`${e.name}=${value}`);
    }
    return out;
  }

  /** Creates and starts the pod's containers; statuses arrive through onStatus. */
  async start(pod: KObject): Promise<void> {
    const uid = pod.metadata.uid;
    this.pods.set(uid, pod);
    const missing = new Map<string, { reason: string; message: string }>();
    this.missing.set(uid, missing);
    const binds = this.volumeBinds(pod);
    const restart = { Always: 'always', OnFailure: 'on-failure', Never: 'no' }[pod.spec.restartPolicy as string] ?? 'always';
    const podSc = pod.spec.securityContext ?? {};
    // Containers start in parallel: docker start is the slow part (most of a second on a busy machine).
    await Promise.all((pod.spec.containers as KObject[]).map(async (c) => {
      try {
        await this.docker.getImage(c.image).inspect();
      } catch {
        // Nothing can be pulled here; kubelet's message for a local-only image.
        missing.set(c.name, { reason: 'ErrImageNeverPull', message: `Container image "${c.image}" is not present with pull policy of Never` });
        return;
      }
      const sc = { ...podSc, ...(c.securityContext ?? {}) };
      const user = sc.runAsUser !== undefined ? `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ''}` : undefined;
      const mounts: string[] = [];
      const tmpfs: Record<string, string> = {};
      for (const m of c.volumeMounts ?? []) {
        const b = binds.get(m.name);
        if (!b) continue;
        if (b.tmpfs) tmpfs[m.mountPath] = 'rw,mode=1777';
        else mounts.push(`${m.subPath ? join(b.host!, m.subPath) : b.host}:${m.mountPath}${m.readOnly || b.readOnly ? ':ro' : ''}`);
      }
      try {
        const created = await this.docker.createContainer({
          name: dockerName(pod, c.name),
          Image: c.image,
          Entrypoint: c.command,
          Cmd: c.command ? (c.args ?? []) : c.args,
          Env: this.env(pod, c),
          WorkingDir: c.workingDir,
          User: user,
          Hostname: pod.spec.hostname ?? pod.metadata.name,
          Tty: Boolean(c.tty),
          OpenStdin: Boolean(c.stdin),
          StdinOnce: Boolean(c.stdinOnce),
          Labels: {
            [LABEL.server]: this.opts.serverId,
            [LABEL.serverPid]: String(process.pid),
            [LABEL.namespace]: pod.metadata.namespace,
            [LABEL.pod]: pod.metadata.name,
            [LABEL.container]: c.name,
            [LABEL.podUid]: uid,
            'io.kubernetes.pod.name': pod.metadata.name,
            'io.kubernetes.pod.namespace': pod.metadata.namespace,
            'io.kubernetes.container.name': c.name,
            'io.kubernetes.docker.type': 'container',
          },
          HostConfig: {
            NetworkMode: 'none',
            Binds: mounts,
            Tmpfs: tmpfs,
            ReadonlyRootfs: Boolean(sc.readOnlyRootFilesystem),
            Privileged: Boolean(sc.privileged),
            CapAdd: sc.capabilities?.add,
            CapDrop: sc.capabilities?.drop,
            RestartPolicy: { Name: restart, MaximumRetryCount: 0 },
            Init: false,
          },
        });
        if (!this.pods.has(uid)) {
          // Deleted while its containers were being created: don't leave this one behind.
          await created.remove({ force: true }).catch(() => {});
          return;
        }
        await created.start();
      } catch (e) {
        missing.set(c.name, { reason: 'CreateContainerError', message: (e as Error).message });
      }
    }));
    await this.refresh(uid);
  }

  async remove(pod: KObject): Promise<void> {
    const uid = pod.metadata.uid;
    this.pods.delete(uid);
    this.missing.delete(uid);
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.podUid}=${uid}`, `${LABEL.server}=${this.opts.serverId}`] } });
    await Promise.all(list.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
    rmSync(this.podDir(uid), { recursive: true, force: true });
  }

  async removeAll(): Promise<void> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.server}=${this.opts.serverId}`] } });
    await Promise.all(list.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
    rmSync(join(this.opts.stateDir, 'pods'), { recursive: true, force: true });
  }

  /** Recomputes a pod's status from docker inspect, as the kubelet's status manager would. */
  async refresh(uid: string): Promise<void> {
    const pod = this.pods.get(uid);
    if (!pod) return;
    try {
      const status = await this.computeStatus(pod);
      if (this.pods.has(uid)) this.opts.onStatus(pod.metadata.namespace, pod.metadata.name, uid, status);
    } catch (e) {
      log.debug({ err: e }, 'pod status refresh failed');
    }
  }

  private async computeStatus(pod: KObject): Promise<KObject> {
    const uid = pod.metadata.uid;
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.podUid}=${uid}`, `${LABEL.server}=${this.opts.serverId}`] } });
    const byName = new Map(list.map((c) => [c.Labels[LABEL.container], c.Id]));
    const missing = this.missing.get(uid) ?? new Map();
    const statuses: KObject[] = [];
    for (const c of pod.spec.containers) {
      const id = byName.get(c.name);
      const base = { name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, lastState: {} as KObject };
      if (!id) {
        const w = missing.get(c.name) ?? { reason: 'ContainerCreating' };
        statuses.push({ ...base, state: { waiting: w } });
        continue;
      }
      const info = await this.docker.getContainer(id).inspect();
      const img = await this.docker.getImage(info.Image).inspect().catch(() => undefined);
      // cri-dockerd's shape: a pullable digest when the image came from a registry, else the image id.
      const imageID = img?.RepoDigests?.length ? `docker-pullable://${img.RepoDigests[0]}` : `docker://${info.Image}`;
      const st = info.State;
      const s: KObject = { ...base, containerID: `docker://${id}`, imageID, restartCount: info.RestartCount ?? 0 };
      const terminated = {
        exitCode: st.ExitCode, reason: st.OOMKilled ? 'OOMKilled' : st.ExitCode === 0 ? 'Completed' : 'Error',
        startedAt: k8sTime(st.StartedAt), finishedAt: k8sTime(st.FinishedAt), containerID: `docker://${id}`,
      };
      if (st.Running && !st.Restarting) {
        s.state = { running: { startedAt: k8sTime(st.StartedAt) } };
        s.ready = true;
        s.started = true;
      } else if (st.Status === 'created') {
        s.state = { waiting: { reason: 'ContainerCreating' } };
      } else if (st.Restarting || (info.HostConfig?.RestartPolicy?.Name === 'always' && st.Status === 'exited' && s.restartCount > 0)) {
        s.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${uid})` } };
        s.lastState = { terminated };
      } else {
        s.state = { terminated };
      }
      statuses.push(s);
    }
    const running = statuses.filter((s) => s.state.running).length;
    const terminated = statuses.filter((s) => s.state.terminated);
    const restarting = statuses.some((s) => s.restartCount > 0);
    let phase = 'Pending';
    if (terminated.length === statuses.length && statuses.length > 0) phase = terminated.every((s) => s.state.terminated.exitCode === 0) ? 'Succeeded' : 'Failed';
    else if (running > 0 || restarting) phase = 'Running';
    const allReady = statuses.every((s) => s.ready);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now });
    return {
      phase,
      conditions: [cond('PodReadyToStartContainers', true), cond('Initialized', true), cond('Ready', allReady && phase === 'Running'),
        cond('ContainersReady', allReady), cond('PodScheduled', true)],
      containerStatuses: statuses,
    };
  }
}
