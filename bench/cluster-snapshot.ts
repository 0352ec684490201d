/**
 * A large cluster as `kubectl get nodes,pods -A -o json` prints it, written as a stream (the
 * file is hundreds of MB; it is never held whole). Objects carry what real ones carry —
 * managedFields, conditions, container statuses, env, volumes, probes, a service-mesh sidecar
 * in a third of the pods — so parse cost and memory match a real snapshot of that size, not a
 * skeleton. Deterministic: the same arguments give the same bytes.
 *
 * Products in it: IBM MQ with License Service annotations, Oracle Database, MongoDB Enterprise,
 * NVIDIA NIM on GPU nodes; the rest is ordinary web and batch workloads.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface SnapshotShape {
  pods: number;
  /** Pods per node (110 is the kubelet default maximum). */
  podsPerNode: number;
  namespaces: number;
}

export const LARGE: SnapshotShape = { pods: 50_000, podsPerNode: 100, namespaces: 250 };

type Json = Record<string, unknown>;

function hex(seed: number, len: number): string {
  let h = (seed * 2654435761) >>> 0;
  let out = '';
  while (out.length < len) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h + 0x6d2b79f5) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, len);
}

function uid(seed: number): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const time = '2026-03-01T08:00:00Z';

function managedFields(manager: string, fields: Json): Json[] {
  return [{ apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: fields, manager, operation: 'Update', time }];
}

export function snapshotNode(i: number, shape: SnapshotShape): Json {
  const name = `node-${String(i).padStart(4, '0')}`;
  const gpu = i % 20 === 0;
  const capacity: Record<string, string> = {
    cpu: gpu ? '96' : '32',
    'ephemeral-storage': '507944084Ki',
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: gpu ? '2113408876Ki' : '131811580Ki',
    pods: String(Math.max(110, shape.podsPerNode)),
    ...(gpu ? { 'nvidia.com/gpu': '8' } : {}),
  };
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node-role.kubernetes.io/worker': '',
    'node.kubernetes.io/instance-type': gpu ? 'p5.48xlarge' : 'm6i.8xlarge',
    'topology.kubernetes.io/region': 'eu-west-1',
    'topology.kubernetes.io/zone': `eu-west-1${'abc'[i % 3]}`,
    ...(gpu
      ? { 'nvidia.com/gpu.present': 'true', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/gpu.count': '8', 'nvidia.com/gpu.memory': '81559', 'nvidia.com/gpu.family': 'hopper', 'nvidia.com/mig.strategy': 'none' }
      : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      creationTimestamp: time,
      labels,
      managedFields: managedFields('kubelet', { 'f:metadata': { 'f:labels': Object.fromEntries(Object.keys(labels).map((k) => [`f:${k}`, {}])) }, 'f:status': { 'f:capacity': {}, 'f:allocatable': {} } }),
      name,
      resourceVersion: String(1000 + i),
      uid: uid(i + 1),
    },
    spec: { podCIDR: `10.${i >> 8}.${i & 255}.0/24`, providerID: `aws:///eu-west-1a/i-${hex(i, 17)}` },
    status: {
      addresses: [
        { address: `10.0.${i >> 8}.${i & 255}`, type: 'InternalIP' },
        { address: name, type: 'Hostname' },
      ],
      allocatable: { ...capacity, cpu: gpu ? '95500m' : '31750m', memory: gpu ? '2113306476Ki' : '131709180Ki' },
      capacity,
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({
        lastHeartbeatTime: time,
        lastTransitionTime: time,
        message: type === 'Ready' ? 'kubelet is posting ready status' : `kubelet has no ${type}`,
        reason: type === 'Ready' ? 'KubeletReady' : `KubeletHasNo${type}`,
        status: type === 'Ready' ? 'True' : 'False',
        type,
      })),
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: uid(i + 7),
        containerRuntimeVersion: 'containerd://1.7.22',
        kernelVersion: '6.1.0-28-amd64',
        kubeProxyVersion: 'v1.31.2',
        kubeletVersion: 'v1.31.2',
        machineID: hex(i + 3, 32),
        operatingSystem: 'linux',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        systemUUID: uid(i + 11),
      },
    },
  };
}

interface Workload {
  image: string;
  cpu: string | null;
  gpus?: number;
  annotations?: Record<string, string>;
  env?: Record<string, string>;
}

const MQ = { productID: '208423bb063c43288328b1d788745b0c', productName: 'IBM MQ Advanced', productMetric: 'VIRTUAL_PROCESSOR_CORE', productChargedContainers: 'All' };

function workloadOf(i: number): Workload {
  switch (i % 50) {
    case 0:
      return { image: 'icr.io/ibm-messaging/mq:9.4.0.5-r2', cpu: '2', annotations: MQ };
    case 1:
      return { image: 'container-registry.oracle.com/database/enterprise:19.3.0.0', cpu: '4', env: { ORACLE_SID: 'ORCLCDB', ORACLE_PDB: 'ORCLPDB1' } };
    case 2:
      return { image: 'quay.io/mongodb/mongodb-enterprise-server:7.0.14-ubi8', cpu: '2' };
    case 3:
      // a few inference services: 4 GPUs in use per GPU node
      if (i % 500 === 3) return { image: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3', cpu: '8', gpus: 1 };
    // falls through
    default: {
      const kinds = ['docker.io/library/nginx:1.27.2', 'docker.io/library/redis:7.2.6', 'ghcr.io/example/api:3.14.1', 'ghcr.io/example/worker:3.14.1', 'docker.io/library/postgres:16.4'];
      return { image: kinds[i % kinds.length], cpu: i % 3 === 0 ? null : `${100 + (i % 9) * 100}m`, env: { LOG_LEVEL: 'info', PORT: '8080', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4317' } };
    }
  }
}

function container(name: string, image: string, cpu: string | null, env: Record<string, string>, gpus: number | undefined): Json {
  const limits: Record<string, string> = { memory: '512Mi', ...(cpu ? { cpu } : {}), ...(gpus ? { 'nvidia.com/gpu': String(gpus) } : {}) };
  return {
    env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
    image,
    imagePullPolicy: 'IfNotPresent',
    livenessProbe: { failureThreshold: 3, httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, successThreshold: 1, timeoutSeconds: 1 },
    name,
    ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
    readinessProbe: { failureThreshold: 3, httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, successThreshold: 1, timeoutSeconds: 1 },
    resources: { limits, requests: { memory: '256Mi', ...(cpu ? { cpu } : { cpu: '50m' }), ...(gpus ? { 'nvidia.com/gpu': String(gpus) } : {}) } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [
      { mountPath: '/tmp', name: 'tmp' },
      { mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', name: 'kube-api-access', readOnly: true },
    ],
  };
}

function repoOf(image: string): string {
  return image.replace(/:[^/:]*$/, '');
}

/** Replicas per Deployment: the pods of one share everything but their name, uid, node and IPs. */
const REPLICAS = 5;

export function snapshotPod(i: number, shape: SnapshotShape): Json {
  const nodes = Math.ceil(shape.pods / shape.podsPerNode);
  const d = Math.floor(i / REPLICAS);
  const w = workloadOf(d);
  // NIM only where the GPUs are (every 20th node).
  const nodeIndex = w.gpus ? Math.floor(((i * 20) % nodes) / 20) * 20 : i % nodes;
  const node = `node-${String(nodeIndex).padStart(4, '0')}`;
  const ns = `team-${String(d % shape.namespaces).padStart(3, '0')}`;
  const app = `${repoOf(w.image).split('/').pop()}-${Math.floor(d / shape.namespaces)}`;
  const rs = `${app}-${hex(d, 10)}`;
  const name = `${rs}-${hex(i, 5)}`;
  const mesh = d % 3 === 0;
  const containers = [container(app.replace(/-\d+$/, ''), w.image, w.cpu, w.env ?? {}, w.gpus)];
  if (mesh) containers.push(container('istio-proxy', 'docker.io/istio/proxyv2:1.23.2', '500m', { ISTIO_META_MESH_ID: 'cluster.local', PILOT_CERT_PROVIDER: 'istiod' }, undefined));
  const phase = i % 97 === 0 ? 'Pending' : 'Running';
  const labels = { app, 'app.kubernetes.io/name': app, 'app.kubernetes.io/part-of': ns, 'pod-template-hash': hex(d, 10), ...(mesh ? { 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': app } : {}) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      annotations: { 'kubectl.kubernetes.io/restartedAt': time, ...(mesh ? { 'sidecar.istio.io/status': '{"initContainers":null,"containers":["istio-proxy"],"volumes":["istio-envoy"]}' } : {}), ...(w.annotations ?? {}) },
      creationTimestamp: time,
      generateName: `${rs}-`,
      labels,
      managedFields: managedFields('kube-controller-manager', {
        'f:metadata': { 'f:generateName': {}, 'f:labels': Object.fromEntries(Object.keys(labels).map((k) => [`f:${k}`, {}])), 'f:ownerReferences': { [`k:{"uid":"${uid(d)}"}`]: {} } },
        'f:spec': { 'f:containers': Object.fromEntries(containers.map((c) => [`k:{"name":"${c.name}"}`, { '.': {}, 'f:env': {}, 'f:image': {}, 'f:resources': {} }])) },
      }),
      name,
      namespace: ns,
      ownerReferences: [{ apiVersion: 'apps/v1', blockOwnerDeletion: true, controller: true, kind: 'ReplicaSet', name: rs, uid: uid(d) }],
      resourceVersion: String(100000 + i),
      uid: uid(1_000_000 + i),
    },
    spec: {
      containers,
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      nodeName: phase === 'Pending' ? undefined : node,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: { fsGroup: 1000, runAsUser: 1000 },
      serviceAccount: 'default',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      tolerations: [
        { effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 },
        { effect: 'NoExecute', key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 300 },
      ],
      volumes: [
        { emptyDir: {}, name: 'tmp' },
        { name: 'kube-api-access', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { items: [{ key: 'ca.crt', path: 'ca.crt' }], name: 'kube-root-ca.crt' } }] } },
      ],
    },
    status: {
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ lastProbeTime: null, lastTransitionTime: time, status: phase === 'Running' ? 'True' : 'False', type })),
      containerStatuses:
        phase === 'Pending'
          ? []
          : containers.map((c, k) => ({
              containerID: `containerd://${hex(i * 7 + k, 64)}`,
              image: c.image,
              imageID: `${repoOf(String(c.image))}@sha256:${hex(String(c.image).length * 977 + String(c.image).charCodeAt(8), 64)}`,
              lastState: {},
              name: c.name,
              ready: true,
              restartCount: 0,
              started: true,
              state: { running: { startedAt: time } },
            })),
      hostIP: `10.0.${nodeIndex >> 8}.${nodeIndex & 255}`,
      phase,
      podIP: `10.${nodeIndex >> 8}.${nodeIndex & 255}.${(i % 250) + 2}`,
      qosClass: 'Burstable',
      startTime: time,
    },
  };
}

/** Writes the snapshot to `path` object by object, as kubectl pretty-prints it (4-space indent). */
export async function writeSnapshot(path: string, shape: SnapshotShape = LARGE): Promise<{ nodes: number; pods: number; bytes: number }> {
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  const indent = (obj: Json) => JSON.stringify(obj, null, 4).replace(/\n/g, '\n        ');
  const nodes = Math.ceil(shape.pods / shape.podsPerNode);
  await write('{\n    "apiVersion": "v1",\n    "items": [\n');
  let first = true;
  for (let i = 0; i < nodes; i++) {
    await write(`${first ? '' : ',\n'}        ${indent(snapshotNode(i, shape))}`);
    first = false;
  }
  for (let i = 0; i < shape.pods; i++) await write(`,\n        ${indent(snapshotPod(i, shape))}`);
  await write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n');
  out.end();
  await once(out, 'finish');
  return { nodes, pods: shape.pods, bytes };
}
