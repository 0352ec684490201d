import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { WebSocketServer, type WebSocket } from 'ws';
import { parse as parseYaml } from 'yaml';
import { log } from '../../src/log.js';
import { ensureDockerd } from '../support/daemons.js';
import { admit, type ServiceResolver } from './admission.js';
import { ApiError, badRequest, invalid, internal, methodNotAllowed, notFound, statusError, unauthorized, type Cause } from './apierrors.js';
import { allowed, authenticate, forbidden, newToken, type Attributes, type Rule, type User } from './auth.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, openapiV3GroupVersion, openapiV3Root, serverVersion } from './discovery.js';
import { EXEC_PROTOCOLS, runExec } from './exec.js';
import { defaultFixture, loadFixture, nodeObject, type Fixture } from './fixture.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from './image.js';
import { writeKubeconfig } from './kubeconfig.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { Demuxer } from './exec.js';
import { PodRuntime } from './pods.js';
import { decodeProtobufObject } from './protobuf.js';
import { apiVersionOf, Registry, typesFromCrd, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { Store, resourceKey, type KObject, type WatchEvent } from './store.js';
import { toTable, wantsTable } from './table.js';
import { makeTls } from './tls.js';

/**
 * A Kubernetes API server for tests: HTTPS, bearer tokens, discovery, generic storage with
 * resourceVersions and watches, pods as real Docker containers, pods/exec over WebSocket,
 * validating admission webhooks, CRDs with their custom resources.
 */
export interface TestClusterOptions {
  /** Defaults to the DOCKER_HOST the vitest global setup exports, else starts the test dockerd. */
  docker?: Docker;
  /** A fixture object or a YAML file path; default: defaultFixture(). */
  fixture?: Fixture | string;
  /** Where to write the kubeconfig; default: a file in a temp dir removed on stop(). */
  kubeconfigPath?: string;
  port?: number;
  /** Extra users; the admin and the restricted user always exist. */
  users?: { name: string; rules?: Rule[]; groups?: string[] }[];
  /** Rules of the built-in restricted user (default: read pods in team-a, nothing else). */
  restrictedRules?: Rule[];
  /** Maps webhook clientConfig.service references to loopback URLs (see also mapService). */
  services?: Record<string, string>;
  /** How many watch events are kept for resuming watches (default 5000); older resourceVersions get 410 Gone. */
  watchHistory?: number;
  /** Don't wait for fixture pods to run (default: wait). */
  noWait?: boolean;
}

export interface TestCluster {
  url: string;
  kubeconfigPath: string;
  caCert: string;
  /** Tokens by user name: `admin`, `restricted` and any extra users. */
  tokens: Record<string, string>;
  /** Context names in the kubeconfig equal user names; `admin` is current. */
  contexts: string[];
  docker: Docker;
  /** Creates an object as the admin would (admission included); pods start as containers. */
  create(obj: KObject): Promise<KObject>;
  /** Creates a pod and waits until it runs (or ends, or cannot start). */
  createPod(pod: KObject, opts?: { wait?: boolean; timeoutMs?: number }): Promise<KObject>;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KObject | undefined;
  list(apiVersion: string, kind: string, namespace?: string): KObject[];
  delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void>;
  deletePod(namespace: string, name: string): Promise<void>;
  waitForPod(namespace: string, name: string, until?: (pod: KObject) => boolean, timeoutMs?: number): Promise<KObject>;
  /** The docker container id behind a pod container (first container when omitted). */
  containerId(namespace: string, pod: string, container?: string): string;
  /** Adds a user with RBAC-like rules; returns its token (and adds a kubeconfig context of that name). */
  addUser(name: string, rules?: Rule[]): string;
  /** Routes webhook calls for service ns/name to a loopback base URL like https://127.0.0.1:8443. */
  mapService(namespace: string, name: string, baseUrl: string): void;
  stop(): Promise<void>;
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const truthy = (v: string | null) => v === 'true' || v === '1';

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
}

async function defaultDocker(): Promise<Docker> {
  const host = process.env.KENSUS_TEST_DOCKER_HOST ?? process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return new Docker({ socketPath: host.slice(7) });
  const d = await ensureDockerd();
  return new Docker({ socketPath: d.socket });
}

function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(statusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseObject(buf: Buffer, contentType: string | undefined): KObject {
  // Typed clients (kubectl create secret/deployment, auth can-i) send protobuf.
  if (/protobuf/.test(contentType ?? '')) return decodeProtobufObject(buf);
  if (/cbor/.test(contentType ?? '')) {
    throw statusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
  }
  const text = buf.toString('utf8');
  try {
    const obj = /yaml/.test(contentType ?? '') ? parseYaml(text) : JSON.parse(text);
    if (obj === null || typeof obj !== 'object') throw new Error('not an object');
    return obj;
  } catch (e) {
    throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${(e as Error).message})`);
  }
}

function quantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  const s = String(q);
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(s);
  if (!m) return Number(s) || 0;
  const n = Number(m[1]);
  const mult: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return n * (mult[m[2]] ?? 1);
}

function qosClass(pod: KObject): string {
  const cs: KObject[] = pod.spec.containers ?? [];
  const any = cs.some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length);
  if (!any) return 'BestEffort';
  const guaranteed = cs.every((c) => {
    const l = c.resources?.limits ?? {};
    const r = { ...l, ...(c.resources?.requests ?? {}) };
    return ['cpu', 'memory'].every((k) => l[k] !== undefined && quantity(l[k]) === quantity(r[k]));
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function tolerates(pod: KObject, taint: KObject): boolean {
  return (pod.spec.tolerations ?? []).some((t: KObject) =>
    (t.effect === undefined || t.effect === '' || t.effect === taint.effect) &&
    (t.operator === 'Exists' ? (t.key === undefined || t.key === '' || t.key === taint.key) : t.key === taint.key && (t.value ?? '') === (taint.value ?? '')));
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const docker = options.docker ?? (await defaultDocker());
  const stateDir = mkdtempSync(join(tmpdir(), 'kensus-cluster-'));
  const serverId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const registry = new Registry();
  const store = new Store(options.watchHistory);
  const services = new Map<string, string>(Object.entries(options.services ?? {}));
  const resolveService: ServiceResolver = (ns, name) => services.get(`${ns}/${name}`);
  const users: User[] = [
    { name: 'admin', token: newToken(), groups: ['system:masters', 'system:authenticated'] },
    {
      name: 'restricted', token: newToken(), groups: ['system:authenticated'],
      rules: options.restrictedRules ?? [{ verbs: ['get', 'list', 'watch'], resources: ['pods', 'pods/log'], namespaces: ['team-a'] }],
    },
    ...(options.users ?? []).map((u) => ({ name: u.name, token: newToken(), rules: u.rules, groups: u.groups ?? ['system:authenticated'] })),
  ];
  const podIps = new Map<string, number>();
  const sockets = new Set<Duplex>();
  const watches = new Set<ServerResponse>();
  const execSockets = new Set<WebSocket>();
  let stopping = false;

  const runtime = new PodRuntime({
    docker,
    serverId,
    stateDir,
    lookup: (plural, ns, name) => store.get(resourceKey('', plural), ns, name),
    onStatus: (ns, name, uid, computed) => {
      const pod = store.get('/pods', ns, name);
      if (!pod || pod.metadata.uid !== uid || pod.metadata.deletionTimestamp) return;
      const old = pod.status ?? {};
      // Keep transition times of conditions whose status did not change.
      computed.conditions = computed.conditions.map((c: KObject) => {
        const prev = (old.conditions ?? []).find((o: KObject) => o.type === c.type);
        return prev && prev.status === c.status ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
      });
      const status = { ...old, ...computed };
      if (JSON.stringify(status) === JSON.stringify(old)) return;
      pod.status = status;
      delete pod.metadata.resourceVersion;
      store.update('/pods', pod);
    },
  });

  // ---------- object lifecycle ----------

  function resourceOf(obj: KObject): ResourceType {
    const t = registry.byKind(obj.apiVersion, obj.kind);
    if (!t) throw badRequest(`no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`);
    return t;
  }

  function validateMeta(t: ResourceType, obj: KObject): void {
    const name = obj.metadata?.name;
    const causes: Cause[] = [];
    if (!name) causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
    else if (!NAME_RE.test(name) || name.length > 253) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`, field: 'metadata.name' });
    }
    if (causes.length) throw invalid(t.group, t.kind, name ?? '', causes);
  }

  function validatePod(pod: KObject): void {
    const causes: Cause[] = [];
    const cs = pod.spec?.containers;
    if (!Array.isArray(cs) || cs.length === 0) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' });
    const names = new Set<string>();
    const volumes = new Set<string>((pod.spec?.volumes ?? []).map((v: KObject) => v.name));
    (cs ?? []).forEach((c: KObject, i: number) => {
      if (!c.name) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.containers[${i}].name` });
      else if (!LABEL_RE.test(c.name)) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`, field: `spec.containers[${i}].name` });
      else if (names.has(c.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: "${c.name}"`, field: `spec.containers[${i}].name` });
      names.add(c.name);
      if (!c.image) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.containers[${i}].image` });
      (c.volumeMounts ?? []).forEach((m: KObject, j: number) => {
        if (!volumes.has(m.name)) causes.push({ reason: 'FieldValueNotFound', message: `Not found: "${m.name}"`, field: `spec.containers[${i}].volumeMounts[${j}].name` });
      });
    });
    if (causes.length) throw invalid('', 'Pod', pod.metadata.name, causes);
  }

  function schedule(pod: KObject): string | undefined {
    const nodes = store.list('/nodes');
    const pods = store.list('/pods').filter((p) => p.spec.nodeName);
    const need: Record<string, number> = {};
    for (const c of pod.spec.containers) {
      const r = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
      for (const [k, v] of Object.entries<string>(r)) if (k.includes('/')) need[k] = (need[k] ?? 0) + quantity(v);
    }
    const fits = nodes.filter((n) => {
      if (n.spec?.unschedulable) return false;
      if (!Object.entries<string>(pod.spec.nodeSelector ?? {}).every(([k, v]) => n.metadata.labels?.[k] === v)) return false;
      if ((n.spec?.taints ?? []).some((t: KObject) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(pod, t))) return false;
      for (const [res, q] of Object.entries(need)) {
        const used = pods.filter((p) => p.spec.nodeName === n.metadata.name).flatMap((p) => p.spec.containers)
          .reduce((s: number, c: KObject) => s + quantity(c.resources?.requests?.[res] ?? c.resources?.limits?.[res]), 0);
        if (quantity(n.status?.allocatable?.[res]) - used < q) return false;
      }
      return true;
    });
    fits.sort((a, b) => pods.filter((p) => p.spec.nodeName === a.metadata.name).length - pods.filter((p) => p.spec.nodeName === b.metadata.name).length);
    return fits[0]?.metadata.name;
  }

  function preparePod(pod: KObject): void {
    validatePod(pod);
    const spec = pod.spec;
    spec.restartPolicy ??= 'Always';
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.schedulerName ??= 'default-scheduler';
    spec.terminationGracePeriodSeconds ??= 30;
    spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
    spec.serviceAccount ??= spec.serviceAccountName;
    spec.securityContext ??= {};
    spec.enableServiceLinks ??= true;
    spec.preemptionPolicy ??= 'PreemptLowerPriority';
    spec.priority ??= 0;
    spec.tolerations ??= [];
    for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
      if (!spec.tolerations.some((t: KObject) => t.key === key)) spec.tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
    for (const c of spec.containers) {
      c.imagePullPolicy ??= /:latest$|^[^:]+$/.test(c.image) ? 'Always' : 'IfNotPresent';
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      c.resources ??= {};
      if (c.resources.limits && !c.resources.requests) c.resources.requests = { ...c.resources.limits };
    }
    const conditions: KObject[] = [];
    if (!spec.nodeName) {
      const node = schedule(pod);
      if (node) spec.nodeName = node;
      else {
        const n = store.list('/nodes').length;
        conditions.push({ type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: now(), reason: 'Unschedulable',
          message: `0/${n} nodes are available: ${n} node(s) didn't match Pod's node affinity/selector, taints or resources.` });
      }
    }
    if (spec.nodeName) conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() });
    const node = spec.nodeName ? store.get('/nodes', '', spec.nodeName) : undefined;
    const next = (podIps.get(spec.nodeName ?? '') ?? 1) + 1;
    podIps.set(spec.nodeName ?? '', next);
    // An address inside the node's podCIDR, as the CNI would hand out (there is no real network).
    const prefix = /^(\d+\.\d+\.\d+)\./.exec(node?.spec?.podCIDR ?? '')?.[1] ?? '10.244.250';
    const podIP = spec.nodeName ? `${prefix}.${next}` : undefined;
    const hostIP = node?.status?.addresses?.find((a: KObject) => a.type === 'InternalIP')?.address;
    pod.status = {
      phase: 'Pending',
      conditions,
      qosClass: qosClass(pod),
      ...(spec.nodeName ? { hostIP, hostIPs: [{ ip: hostIP }], podIP, podIPs: [{ ip: podIP }], startTime: now() } : {}),
    };
  }

  function prepare(t: ResourceType, obj: KObject): void {
    switch (`${t.group}/${t.plural}`) {
      case '/pods':
        preparePod(obj);
        break;
      case '/namespaces':
        obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
        obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
        obj.status = { phase: 'Active' };
        break;
      case '/secrets':
        obj.type ??= 'Opaque';
        if (obj.stringData) {
          obj.data = { ...(obj.data ?? {}) };
          for (const [k, v] of Object.entries<string>(obj.stringData)) obj.data[k] = Buffer.from(v).toString('base64');
          delete obj.stringData;
        }
        break;
      case '/services':
        obj.spec ??= {};
        obj.spec.type ??= 'ClusterIP';
        if (obj.spec.type !== 'ExternalName' && obj.spec.clusterIP === undefined) {
          const n = store.list('/services').length + 10;
          obj.spec.clusterIP = `10.96.${Math.floor(n / 250)}.${n % 250}`;
          obj.spec.clusterIPs = [obj.spec.clusterIP];
        }
        break;
      case 'apiextensions.k8s.io/customresourcedefinitions': {
        const s = obj.spec ?? {};
        const causes: Cause[] = [];
        if (!s.group) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.group' });
        if (!s.names?.plural) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.plural' });
        if (!s.names?.kind) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.kind' });
        if (!Array.isArray(s.versions) || s.versions.length === 0) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.versions' });
        if (s.group && s.names?.plural && obj.metadata.name !== `${s.names.plural}.${s.group}`) {
          causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${obj.metadata.name}": must be spec.names.plural+"."+spec.group`, field: 'metadata.name' });
        }
        if (causes.length) throw invalid(t.group, t.kind, obj.metadata.name, causes);
        obj.status = {
          conditions: [
            { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now() },
            { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now() },
          ],
          acceptedNames: s.names,
          storedVersions: s.versions.filter((v: KObject) => v.storage).map((v: KObject) => v.name),
        };
        break;
      }
      default:
        break;
    }
  }

  function nsLabels(ns: string | undefined): Record<string, string> | undefined {
    return ns ? store.get('/namespaces', '', ns)?.metadata?.labels : undefined;
  }

  async function admission(t: ResourceType, operation: 'CREATE' | 'UPDATE', obj: KObject, old: KObject | null, user: User, dryRun: boolean): Promise<string[]> {
    if (t.group === 'admissionregistration.k8s.io') return []; // never for webhook configurations themselves
    const configs = store.list('admissionregistration.k8s.io/validatingwebhookconfigurations');
    if (configs.length === 0) return [];
    const out = await admit(configs, {
      operation, group: t.group, version: t.version, kind: t.kind, resource: t.plural,
      namespace: t.namespaced ? obj.metadata.namespace : undefined, name: obj.metadata.name, object: obj, oldObject: old,
      user: { username: user.name, groups: user.groups ?? [] }, dryRun, namespaceLabels: nsLabels(obj.metadata.namespace),
    }, resolveService);
    return out.warnings;
  }

  async function createObject(t: ResourceType, obj: KObject, user: User, dryRun = false): Promise<{ obj: KObject; warnings: string[] }> {
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    obj.metadata ??= {};
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (t.namespaced) {
      obj.metadata.namespace ||= 'default';
      if (!store.get('/namespaces', '', obj.metadata.namespace)) throw notFound('', 'namespaces', obj.metadata.namespace);
    } else delete obj.metadata.namespace;
    validateMeta(t, obj);
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generation']) delete obj.metadata[k];
    // Fixtures may name owners without their uid: fill it in from the stored owner.
    for (const ref of obj.metadata.ownerReferences ?? []) {
      if (ref.uid) continue;
      const ot = registry.byKind(ref.apiVersion, ref.kind);
      const owner = ot ? store.get(resourceKey(ot.group, ot.plural), ot.namespaced ? obj.metadata.namespace : '', ref.name) : undefined;
      if (!owner) throw invalid(t.group, t.kind, obj.metadata.name, [{ reason: 'FieldValueRequired', message: `Required value: owner ${ref.kind} "${ref.name}" does not exist, so its uid is unknown`, field: 'metadata.ownerReferences.uid' }]);
      ref.uid = owner.metadata.uid;
    }
    prepare(t, obj);
    const warnings = await admission(t, 'CREATE', obj, null, user, dryRun);
    if (dryRun) return { obj, warnings };
    const key = resourceKey(t.group, t.plural);
    store.create(key, obj);
    if (key === '/pods') {
      if (obj.spec.nodeName) void runtime.start(obj).catch((e) => log.warn({ err: e }, 'pod start failed'));
    } else if (key === '/namespaces') {
      store.create('/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: obj.metadata.name } });
    } else if (key === 'apiextensions.k8s.io/customresourcedefinitions') {
      registry.addCrdTypes(obj.metadata.name, typesFromCrd(obj));
    }
    return { obj, warnings };
  }

  async function deleteObject(t: ResourceType, ns: string, name: string): Promise<KObject> {
    const key = resourceKey(t.group, t.plural);
    const obj = store.get(key, ns, name);
    if (!obj) throw notFound(t.group, t.plural, name);
    if (key === '/pods') {
      await runtime.remove(obj);
    } else if (key === '/namespaces') {
      if (SYSTEM_NAMESPACES.includes(name)) throw statusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
      for (const rt of registry.all().filter((r) => r.namespaced)) {
        const rk = resourceKey(rt.group, rt.plural);
        for (const o of store.list(rk, name)) await deleteObject(rt, name, o.metadata.name).catch(() => {});
      }
    } else if (key === 'apiextensions.k8s.io/customresourcedefinitions') {
      const types = registry.all().filter((r) => r.crd === name);
      for (const rt of types.slice(0, 1)) for (const o of store.list(resourceKey(rt.group, rt.plural))) store.delete(resourceKey(rt.group, rt.plural), o.metadata.namespace ?? '', o.metadata.name);
      registry.removeCrdTypes(name);
    }
    const gone = store.delete(key, ns, name);
    if (key === '/pods') gone.metadata.deletionTimestamp = now();
    return gone;
  }

  async function updateObject(t: ResourceType, obj: KObject, user: User, sub: string | undefined, dryRun: boolean): Promise<{ obj: KObject; warnings: string[] }> {
    const key = resourceKey(t.group, t.plural);
    const old = store.get(key, obj.metadata?.namespace ?? '', obj.metadata?.name);
    if (!old) throw notFound(t.group, t.plural, obj.metadata?.name);
    let next: KObject;
    if (sub === 'status') next = { ...old, status: obj.status, metadata: { ...old.metadata, resourceVersion: obj.metadata.resourceVersion } };
    else if (key === '/pods') {
      // Pod specs are immutable but for a few fields; keep the running spec and status.
      next = { ...old, metadata: { ...obj.metadata, namespace: old.metadata.namespace, name: old.metadata.name } };
      const img = (c: KObject) => c.image;
      if (JSON.stringify((obj.spec?.containers ?? []).map(img)) !== JSON.stringify(old.spec.containers.map(img)) && obj.spec?.containers) {
        throw invalid('', 'Pod', old.metadata.name, [{ reason: 'FieldValueForbidden', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)', field: 'spec' }]);
      }
    } else {
      next = { ...obj, apiVersion: apiVersionOf(t), kind: t.kind, metadata: { ...obj.metadata, namespace: old.metadata.namespace, name: old.metadata.name } };
      if (t.crd === undefined && old.status !== undefined && next.status === undefined) next.status = old.status;
    }
    const warnings = sub === 'status' ? [] : await admission(t, 'UPDATE', next, old, user, dryRun);
    if (dryRun) return { obj: next, warnings };
    store.update(key, next);
    if (key === 'apiextensions.k8s.io/customresourcedefinitions') registry.addCrdTypes(next.metadata.name, typesFromCrd(next));
    return { obj: next, warnings };
  }

  // ---------- HTTP ----------

  function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  function warningHeaders(warnings: string[]): Record<string, string[]> {
    return warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {};
  }

  function route(path: string): Route | 'discovery' | undefined {
    const segs = path.split('/').filter(Boolean);
    let group = '';
    let version: string;
    let rest: string[];
    if (segs[0] === 'api') {
      if (segs.length <= 2) return 'discovery';
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === 'apis') {
      if (segs.length <= 3) return 'discovery';
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
    } else return undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const t = registry.find(group, version, rest[2]);
      if (t && t.namespaced) return { type: t, namespace: rest[1], name: rest[3], sub: rest[4] };
    }
    const t = registry.find(group, version, rest[0]);
    if (!t) return undefined;
    if (rest.length > 3) return undefined;
    return { type: t, name: rest[1], sub: rest[2] };
  }

  function discovery(path: string): unknown {
    const segs = path.split('/').filter(Boolean);
    if (segs[0] === 'api') {
      if (segs.length === 1) return apiVersions(`127.0.0.1:${port}`);
      return apiResourceList(registry, '', segs[1]);
    }
    if (segs.length === 1) return apiGroupList(registry);
    if (segs.length === 2) return apiGroup(registry, segs[1]);
    return apiResourceList(registry, segs[1], segs[2]);
  }

  function authorize(user: User, a: Attributes): void {
    if (!allowed(user, a)) throw forbidden(user, a);
  }

  function listMatchers(t: ResourceType, q: URLSearchParams) {
    try {
      const labels = parseLabelSelector(q.get('labelSelector'));
      const fields = parseFieldSelector(q.get('fieldSelector'), ['metadata.name', 'metadata.namespace', ...(t.fieldSelectors ?? [])]);
      return (o: KObject) => labels(o.metadata?.labels) && fields(o);
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(e.message);
      throw e;
    }
  }

  function withKind(t: ResourceType, o: KObject): KObject {
    return { apiVersion: apiVersionOf(t), kind: t.kind, ...o };
  }

  function listObjects(t: ResourceType, ns: string | undefined, q: URLSearchParams): { items: KObject[]; cont?: string; remaining?: number } {
    const match = listMatchers(t, q);
    const all = store.list(resourceKey(t.group, t.plural), t.namespaced ? ns : undefined).filter(match).map((o) => withKind(t, o));
    const limit = Number(q.get('limit') ?? 0);
    const start = q.get('continue') ? Number(Buffer.from(q.get('continue')!, 'base64url').toString('utf8')) || 0 : 0;
    if (!limit || start + limit >= all.length) return { items: all.slice(start) };
    return { items: all.slice(start, start + limit), cont: Buffer.from(String(start + limit)).toString('base64url'), remaining: all.length - start - limit };
  }

  function serveWatch(req: IncomingMessage, res: ServerResponse, t: ResourceType, ns: string | undefined, q: URLSearchParams, table: boolean): void {
    const match = listMatchers(t, q);
    const key = resourceKey(t.group, t.plural);
    const rvParam = q.get('resourceVersion');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    watches.add(res);
    const inScope = (o: KObject) => !t.namespaced || ns === undefined || o.metadata?.namespace === ns;
    const visible = new Set<string>();
    let first = true;
    const write = (type: string, o: KObject) => {
      const obj = withKind(t, o);
      const payload = table ? toTable(t, [obj], obj.metadata.resourceVersion, q.get('includeObject'), {}) : obj;
      if (table && !first) (payload as KObject).columnDefinitions = [];
      first = false;
      res.write(`${JSON.stringify({ type, object: payload })}\n`);
    };
    const onEvent = (e: WatchEvent) => {
      if (e.resource !== key || !inScope(e.object)) return;
      const id = `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
      const now = match(e.object);
      const was = visible.has(id);
      if (e.type === 'DELETED') {
        if (was || now) write('DELETED', e.object);
        visible.delete(id);
      } else if (now) {
        write(was ? 'MODIFIED' : e.type === 'ADDED' ? 'ADDED' : 'MODIFIED', e.object);
        visible.add(id);
      } else if (was) {
        write('DELETED', e.object);
        visible.delete(id);
      }
    };
    if (!rvParam || rvParam === '0') {
      for (const o of store.list(key, t.namespaced ? ns : undefined).filter(match)) {
        write('ADDED', o);
        visible.add(`${o.metadata.namespace ?? ''}/${o.metadata.name}`);
      }
    } else {
      const events = store.since(Number(rvParam));
      if (!events) {
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rvParam} (${store.resourceVersion})`, reason: 'Expired', code: 410 } })}\n`);
        watches.delete(res);
        return;
      }
      for (const o of store.list(key, t.namespaced ? ns : undefined).filter(match)) {
        if (Number(o.metadata.resourceVersion) <= Number(rvParam)) visible.add(`${o.metadata.namespace ?? ''}/${o.metadata.name}`);
      }
      for (const e of events) onEvent(e);
    }
    const unsubscribe = store.subscribe(onEvent);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const done = () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      watches.delete(res);
    };
    res.on('close', done);
    req.on('close', done);
  }

  async function podLogs(res: ServerResponse, pod: KObject, q: URLSearchParams): Promise<void> {
    const cname = q.get('container') ?? pod.spec.containers[0].name;
    const cs = (pod.status?.containerStatuses ?? []).find((c: KObject) => c.name === cname);
    if (!cs?.containerID) throw badRequest(`container "${cname}" in pod "${pod.metadata.name}" is waiting to start: ${cs?.state?.waiting?.reason ?? 'ContainerCreating'}`);
    const tail = q.get('tailLines');
    const buf = (await docker.getContainer(cs.containerID.slice(9)).logs({ stdout: true, stderr: true, follow: false, ...(tail ? { tail: Number(tail) } : {}) })) as unknown as Buffer;
    const parts: Buffer[] = [];
    if (pod.spec.containers.find((c: KObject) => c.name === cname)?.tty) parts.push(buf);
    else new Demuxer((_s, d) => parts.push(Buffer.from(d))).push(buf);
    const body = Buffer.concat(parts);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  }

  function selfSubjectAccessReview(user: User, body: KObject): KObject {
    const ra = body.spec?.resourceAttributes;
    let ok = false;
    if (ra) ok = allowed(user, { verb: ra.verb, group: ra.group ?? '', resource: ra.resource, subresource: ra.subresource || undefined, namespace: ra.namespace || undefined, name: ra.name });
    return { ...body, apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: { creationTimestamp: null }, status: { allowed: ok, ...(ok ? { reason: 'allowed by the test cluster' } : {}) } };
  }

  /** TokenReview as the apiserver answers it for a bearer token of one of this server's users. */
  function tokenReview(body: KObject): KObject {
    const token = typeof body.spec?.token === 'string' ? body.spec.token : '';
    const u = users.find((x) => x.token === token);
    const status = u
      ? { authenticated: true, user: { username: u.name, uid: `uid-user-${u.name}`, groups: u.groups ?? ['system:authenticated'] }, audiences: body.spec?.audiences ?? [] }
      : { authenticated: false, user: {}, error: 'invalid bearer token' };
    return { ...body, apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, status };
  }

  /** SubjectAccessReview: the rules of the named user (system:masters is cluster-admin, as on a real cluster). */
  function subjectAccessReview(body: KObject): KObject {
    const spec = body.spec ?? {};
    if (!spec.user && !(spec.groups ?? []).length) throw badRequest('at least one of user or group must be specified');
    const ra = spec.resourceAttributes;
    const u = users.find((x) => x.name === spec.user);
    const subject: User | undefined = (spec.groups ?? []).includes('system:masters') ? { name: spec.user, token: '' } : u;
    const ok = !!ra && !!subject && allowed(subject, { verb: ra.verb, group: ra.group ?? '', resource: ra.resource, subresource: ra.subresource || undefined, namespace: ra.namespace || undefined, name: ra.name });
    return { ...body, apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', metadata: { creationTimestamp: null }, status: { allowed: ok, ...(ok ? { reason: 'allowed by the test cluster' } : {}) } };
  }

  async function handleResource(req: IncomingMessage, res: ServerResponse, user: User, r: Route, q: URLSearchParams): Promise<void> {
    const { type: t } = r;
    const method = req.method ?? 'GET';
    const ns = t.namespaced ? r.namespace : undefined;
    const key = resourceKey(t.group, t.plural);
    const dryRun = q.getAll('dryRun').includes('All');

    let verb: string;
    if (method === 'GET') verb = r.name ? 'get' : truthy(q.get('watch')) ? 'watch' : 'list';
    else if (method === 'POST') verb = 'create';
    else if (method === 'PUT') verb = 'update';
    else if (method === 'PATCH') verb = 'patch';
    else if (method === 'DELETE') verb = r.name ? 'delete' : 'deletecollection';
    else throw methodNotAllowed(method);
    if (r.sub === 'exec') verb = method === 'GET' ? 'get' : 'create';
    if (r.sub && !(t.subresources ?? []).includes(r.sub)) throw notFound(t.group, t.plural, r.name ?? '');
    if (method === 'POST' && r.name && !r.sub) throw methodNotAllowed(method);
    // Every authenticated user may review its own access (system:basic-user), as on a real cluster.
    if (key !== 'authorization.k8s.io/selfsubjectaccessreviews') authorize(user, { verb: r.sub === 'exec' ? 'create' : verb, group: t.group, resource: t.plural, subresource: r.sub, namespace: ns, name: r.name });
    if (t.namespaced && ns && key !== '/namespaces' && !store.get('/namespaces', '', ns) && verb === 'create') throw notFound('', 'namespaces', ns);
    const table = wantsTable(req.headers.accept);

    if (r.sub === 'exec') {
      throw badRequest('Upgrade request required: this server serves pods/exec over WebSocket (v5.channel.k8s.io / v4.channel.k8s.io)');
    }
    if (key === 'authorization.k8s.io/selfsubjectaccessreviews') {
      const body = parseObject(await readBody(req), req.headers['content-type']);
      send(res, 201, selfSubjectAccessReview(user, body));
      return;
    }
    // Reviews are answered, never stored; creating them needs the permission (system:auth-delegator).
    if (key === 'authentication.k8s.io/tokenreviews' || key === 'authorization.k8s.io/subjectaccessreviews') {
      if (verb !== 'create') throw methodNotAllowed(method);
      const body = parseObject(await readBody(req), req.headers['content-type']);
      send(res, 201, key === 'authentication.k8s.io/tokenreviews' ? tokenReview(body) : subjectAccessReview(body));
      return;
    }

    switch (verb) {
      case 'get': {
        const o = store.get(key, ns ?? '', r.name!);
        if (!o) throw notFound(t.group, t.plural, r.name!);
        if (r.sub === 'log') return podLogs(res, o, q);
        send(res, 200, table ? toTable(t, [withKind(t, o)], o.metadata.resourceVersion, q.get('includeObject')) : withKind(t, o));
        return;
      }
      case 'list': {
        const { items, cont, remaining } = listObjects(t, ns, q);
        const meta: KObject = { resourceVersion: store.resourceVersion };
        if (cont) {
          meta.continue = cont;
          meta.remainingItemCount = remaining;
        }
        if (table) send(res, 200, toTable(t, items, store.resourceVersion, q.get('includeObject'), cont ? { continue: cont } : {}));
        else send(res, 200, { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: meta, items });
        return;
      }
      case 'watch':
        serveWatch(req, res, t, ns, q, table);
        return;
      case 'create': {
        const body = parseObject(await readBody(req), req.headers['content-type']);
        if (body.apiVersion && body.apiVersion !== apiVersionOf(t)) throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
        if (body.kind && body.kind !== t.kind) throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${t.kind})`);
        body.metadata ??= {};
        if (t.namespaced) {
          if (body.metadata.namespace && ns && body.metadata.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
          body.metadata.namespace = ns ?? body.metadata.namespace;
        }
        const { obj, warnings } = await createObject(t, body, user, dryRun);
        send(res, 201, obj, warningHeaders(warnings));
        return;
      }
      case 'update': {
        const body = parseObject(await readBody(req), req.headers['content-type']);
        body.metadata ??= {};
        if (body.metadata.name && body.metadata.name !== r.name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${r.name})`);
        body.metadata.name = r.name;
        if (t.namespaced) body.metadata.namespace = ns;
        const { obj, warnings } = await updateObject(t, body, user, r.sub, dryRun);
        send(res, 200, obj, warningHeaders(warnings));
        return;
      }
      case 'patch': {
        const ct = (req.headers['content-type'] ?? '').split(';')[0].trim();
        const raw = await readBody(req);
        const old = store.get(key, ns ?? '', r.name!);
        if (!old && ct !== 'application/apply-patch+yaml') throw notFound(t.group, t.plural, r.name!);
        let next: KObject;
        try {
          if (ct === 'application/json-patch+json') next = jsonPatch(old, JSON.parse(raw.toString('utf8')));
          else if (ct === 'application/merge-patch+json') next = mergePatch(old, JSON.parse(raw.toString('utf8')));
          else if (ct === 'application/strategic-merge-patch+json') {
            if (t.crd) throw statusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
            next = strategicMergePatch(old, JSON.parse(raw.toString('utf8')));
          } else if (ct === 'application/apply-patch+yaml') {
            const body = parseObject(raw, 'application/yaml');
            if (!old) {
              body.metadata = { ...(body.metadata ?? {}), name: r.name, ...(t.namespaced ? { namespace: ns } : {}) };
              const { obj, warnings } = await createObject(t, body, user, dryRun);
              send(res, 201, obj, warningHeaders(warnings));
              return;
            }
            next = mergePatch(old, body);
          } else throw statusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
        } catch (e) {
          if (e instanceof ApiError) throw e;
          throw statusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${(e as Error).message}`);
        }
        next.metadata = { ...next.metadata, resourceVersion: undefined };
        delete next.metadata.resourceVersion;
        const { obj, warnings } = await updateObject(t, next, user, r.sub, dryRun);
        send(res, 200, obj, warningHeaders(warnings));
        return;
      }
      case 'delete': {
        if (dryRun) {
          const o = store.get(key, ns ?? '', r.name!);
          if (!o) throw notFound(t.group, t.plural, r.name!);
          send(res, 200, withKind(t, o));
          return;
        }
        const gone = await deleteObject(t, ns ?? '', r.name!);
        send(res, 200, withKind(t, gone));
        return;
      }
      case 'deletecollection': {
        const { items } = listObjects(t, ns, q);
        for (const o of items) await deleteObject(t, o.metadata.namespace ?? '', o.metadata.name).catch(() => {});
        send(res, 200, { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: { resourceVersion: store.resourceVersion }, items });
        return;
      }
    }
  }

  const PUBLIC = new Set(['/version', '/healthz', '/livez', '/readyz']);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    try {
      if (path === '/healthz' || path === '/livez' || path === '/readyz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      }
      const user = authenticate(users, req.headers.authorization);
      if (!user && !PUBLIC.has(path)) throw unauthorized();
      if (path === '/version') return send(res, 200, serverVersion);
      if (path === '/openapi/v3') return send(res, 200, openapiV3Root(registry));
      if (path.startsWith('/openapi/v3/')) {
        const doc = openapiV3GroupVersion(registry, path.slice('/openapi/v3/'.length));
        if (!doc) throw statusError(404, 'NotFound', 'the server could not find the requested resource');
        return send(res, 200, doc);
      }
      const r = route(path);
      if (r === 'discovery') {
        if (req.method !== 'GET') throw methodNotAllowed(req.method ?? '');
        const doc = discovery(path);
        if (!doc) throw statusError(404, 'NotFound', 'the server could not find the requested resource', {});
        return send(res, 200, doc);
      }
      if (!r) throw statusError(404, 'NotFound', 'the server could not find the requested resource', {});
      await handleResource(req, res, user!, r, url.searchParams);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof ApiError) return send(res, e.code, e.body);
      log.warn({ err: e, path }, 'test cluster: internal error');
      send(res, 500, internal((e as Error).message).body);
    }
  }

  // ---------- exec (WebSocket upgrade) ----------

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols) => EXEC_PROTOCOLS.find((p) => protocols.has(p)) ?? false,
  });

  function rejectUpgrade(socket: Duplex, e: unknown): void {
    const body = e instanceof ApiError ? e.body : internal((e as Error).message).body;
    const text = JSON.stringify(body);
    const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[body.code] ?? 'Error';
    socket.end(`HTTP/1.1 ${body.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    try {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const user = authenticate(users, req.headers.authorization);
      if (!user) throw unauthorized();
      const r = route(url.pathname);
      if (!r || r === 'discovery' || r.type.plural !== 'pods' || r.type.group !== '' || r.sub !== 'exec' || !r.name || !r.namespace) {
        throw statusError(404, 'NotFound', 'the server could not find the requested resource', {});
      }
      authorize(user, { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: r.namespace, name: r.name });
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        throw badRequest(`unable to upgrade connection: this test server speaks pods/exec over WebSocket only (got Upgrade: ${req.headers.upgrade})`);
      }
      const pod = store.get('/pods', r.namespace, r.name);
      if (!pod) throw notFound('', 'pods', r.name);
      const q = url.searchParams;
      const cname = q.get('container') || (pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? pod.spec.containers[0].name);
      if (!pod.spec.containers.some((c: KObject) => c.name === cname)) throw badRequest(`container ${cname} is not valid for pod ${r.name}`);
      const cs = (pod.status?.containerStatuses ?? []).find((c: KObject) => c.name === cname);
      if (!cs?.state?.running || !cs.containerID) throw badRequest(`unable to upgrade connection: container not found ("${cname}")`);
      const command = q.getAll('command');
      if (command.length === 0) throw badRequest('you must specify at least 1 command');
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
      if (!EXEC_PROTOCOLS.some((p) => offered.includes(p))) throw badRequest(`unable to upgrade connection: no supported subprotocol among [${offered.join(', ')}]; this server speaks ${EXEC_PROTOCOLS.join(', ')}`);
      const containerId = cs.containerID.replace(/^docker:\/\//, '');
      wss.handleUpgrade(req, socket, head, (ws) => {
        execSockets.add(ws);
        ws.on('close', () => execSockets.delete(ws));
        void runExec(docker, ws, {
          containerId, command, stdin: truthy(q.get('stdin')), stdout: truthy(q.get('stdout')), stderr: truthy(q.get('stderr')), tty: truthy(q.get('tty')),
        });
      });
    } catch (e) {
      rejectUpgrade(socket, e);
    }
  }

  // ---------- start ----------

  const tls = makeTls(['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc']);
  const server = https.createServer({ key: tls.key, cert: tls.cert });
  server.on('request', (req, res) => void handle(req, res));
  server.on('upgrade', onUpgrade);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s) => s.on('error', () => {}));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  let kubeconfigPath = options.kubeconfigPath;
  const ownKubeconfigDir = kubeconfigPath ? undefined : mkdtempSync(join(tmpdir(), 'kensus-kubeconfig-'));
  kubeconfigPath ??= join(ownKubeconfigDir!, 'kubeconfig');
  const writeConfig = () => writeKubeconfig(kubeconfigPath!, url, tls.caCert, users);
  writeConfig();

  const admin = users[0];
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    runtime.stopWatching();
    for (const ws of execSockets) ws.terminate();
    for (const w of watches) w.end();
    server.close();
    for (const s of sockets) s.destroy();
    await runtime.removeAll().catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
    if (ownKubeconfigDir) rmSync(ownKubeconfigDir, { recursive: true, force: true });
  };

  const waitForPod = async (ns: string, name: string, until?: (pod: KObject) => boolean, timeoutMs = 30_000): Promise<KObject> => {
    const done = until ?? ((p: KObject) => {
      if (p.status?.phase !== 'Pending') return true;
      if ((p.status?.conditions ?? []).some((c: KObject) => c.type === 'PodScheduled' && c.status === 'False')) return true;
      return (p.status?.containerStatuses ?? []).some((c: KObject) => c.state?.waiting && c.state.waiting.reason !== 'ContainerCreating');
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = store.get('/pods', ns, name);
      if (!p) throw new Error(`pod ${ns}/${name} does not exist`);
      if (done(p)) return p;
      if (Date.now() > deadline) throw new Error(`timed out waiting for pod ${ns}/${name}; status: ${JSON.stringify(p.status)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const cluster: TestCluster = {
    url,
    kubeconfigPath,
    caCert: tls.caCert,
    tokens: Object.fromEntries(users.map((u) => [u.name, u.token])),
    contexts: users.map((u) => u.name),
    docker,
    async create(obj) {
      return (await createObject(resourceOf(obj), structuredClone(obj), admin)).obj;
    },
    async createPod(pod, opts = {}) {
      const p = structuredClone(pod);
      p.apiVersion ??= 'v1';
      p.kind ??= 'Pod';
      const created = (await createObject(resourceOf(p), p, admin)).obj;
      if (opts.wait === false) return created;
      return waitForPod(created.metadata.namespace, created.metadata.name, undefined, opts.timeoutMs);
    },
    get(apiVersion, kind, ns, name) {
      const t = registry.byKind(apiVersion, kind);
      return t ? store.get(resourceKey(t.group, t.plural), t.namespaced ? (ns ?? 'default') : '', name) : undefined;
    },
    list(apiVersion, kind, ns) {
      const t = registry.byKind(apiVersion, kind);
      return t ? store.list(resourceKey(t.group, t.plural), t.namespaced ? ns : undefined) : [];
    },
    async delete(apiVersion, kind, ns, name) {
      const t = registry.byKind(apiVersion, kind);
      if (!t) throw new Error(`unknown kind ${apiVersion} ${kind}`);
      await deleteObject(t, t.namespaced ? (ns ?? 'default') : '', name);
    },
    async deletePod(ns, name) {
      await deleteObject(registry.byKind('v1', 'Pod')!, ns, name);
    },
    waitForPod,
    containerId(ns, podName, container) {
      const pod = store.get('/pods', ns, podName);
      if (!pod) throw new Error(`pod ${ns}/${podName} does not exist`);
      const name = container ?? pod.spec.containers[0].name;
      const cs = (pod.status?.containerStatuses ?? []).find((c: KObject) => c.name === name);
      if (!cs?.containerID) throw new Error(`container ${name} of pod ${ns}/${podName} has no docker container (status: ${JSON.stringify(cs?.state)})`);
      return cs.containerID.replace(/^docker:\/\//, '');
    },
    addUser(name, rules) {
      const u: User = { name, token: newToken(), rules, groups: ['system:authenticated'] };
      users.push(u);
      cluster.tokens[name] = u.token;
      cluster.contexts.push(name);
      writeConfig();
      return u.token;
    },
    mapService(ns, name, baseUrl) {
      services.set(`${ns}/${name}`, baseUrl);
    },
    stop,
  };

  try {
    await runtime.removeLeftovers();
    await runtime.watchDocker();
    const fixture = typeof options.fixture === 'string' ? loadFixture(options.fixture) : (options.fixture ?? defaultFixture());
    const needsBusybox = JSON.stringify(fixture.objects ?? []).includes(BUSYBOX_IMAGE);
    const imageBuild = needsBusybox ? ensureBusyboxImage(docker) : Promise.resolve('');
    for (const ns of [...SYSTEM_NAMESPACES, ...(fixture.namespaces ?? [])]) {
      const obj = typeof ns === 'string' ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } : ns;
      await createObject(registry.byKind('v1', 'Namespace')!, structuredClone(obj), admin);
    }
    (fixture.nodes ?? []).forEach((n, i) => store.create('/nodes', nodeObject(n, i)));
    await imageBuild;
    const pods: KObject[] = [];
    for (const o of fixture.objects ?? []) {
      const created = await cluster.create(o);
      if (created.kind === 'Pod') pods.push(created);
    }
    if (!options.noWait) await Promise.all(pods.map((p) => waitForPod(p.metadata.namespace, p.metadata.name)));
  } catch (e) {
    await stop();
    throw e;
  }
  return cluster;
}
