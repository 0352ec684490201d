/**
 * The test cluster of issue 7 as plain Kubernetes JSON (what `kubectl get nodes,pods -A -o json`
 * prints), shared by the unit tests, the snapshot tests and the live test against the test API
 * server. Every figure the tests expect is computed by hand in the comments below.
 */
type Json = Record<string, unknown>;

export interface NodeSpec {
  name: string;
  cpu: string;
  memory?: string;
  arch?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  extraCapacity?: Record<string, string>;
  taints?: Array<{ key: string; effect: string; value?: string }>;
}

export function rawNode(s: NodeSpec): Json {
  const capacity = { cpu: s.cpu, memory: s.memory ?? '64Gi', pods: '110', ...(s.extraCapacity ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: s.name,
      uid: `uid-node-${s.name}`,
      labels: { 'kubernetes.io/hostname': s.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': s.arch ?? 'amd64', ...(s.labels ?? {}) },
      annotations: s.annotations ?? {},
    },
    spec: s.taints ? { taints: s.taints } : {},
    status: {
      capacity,
      allocatable: { ...capacity },
      nodeInfo: { architecture: s.arch ?? 'amd64', operatingSystem: 'linux' },
    },
  };
}

export interface ContainerSpec {
  name: string;
  image: string;
  digest?: string;
  limits?: Record<string, string>;
  requests?: Record<string, string>;
}

export interface PodSpec {
  namespace: string;
  name: string;
  node: string;
  phase?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  containers: ContainerSpec[];
}

export function digestOf(seed: string): string {
  // Deterministic fake-but-well-formed digests (64 hex chars) per image name.
  let h = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${seed}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return `sha256:${out.slice(0, 64)}`;
}

export function rawPod(s: PodSpec): Json {
  const phase = s.phase ?? 'Running';
  const repo = (image: string) => image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: s.name,
      namespace: s.namespace,
      uid: `uid-pod-${s.namespace}-${s.name}`,
      labels: s.labels ?? { app: s.name },
      annotations: s.annotations ?? {},
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${s.name}-rs`, uid: `uid-rs-${s.name}`, controller: true }],
    },
    spec: {
      nodeName: s.node,
      containers: s.containers.map((c) => ({
        name: c.name,
        image: c.image,
        resources: { ...(c.limits ? { limits: c.limits } : {}), ...(c.requests ? { requests: c.requests } : {}) },
      })),
    },
    status: {
      phase,
      containerStatuses:
        phase === 'Pending'
          ? []
          : s.containers.map((c) => ({
              name: c.name,
              image: c.image,
              imageID: `${repo(c.image)}@${c.digest ?? digestOf(repo(c.image))}`,
              containerID: `containerd://${digestOf(`${s.namespace}/${s.name}/${c.name}`).slice(7)}`,
              ready: phase === 'Running',
              restartCount: 0,
              started: phase === 'Running',
              state: phase === 'Running' ? { running: { startedAt: '2026-01-01T00:00:00Z' } } : { terminated: { exitCode: 0, reason: 'Completed' } },
            })),
    },
  };
}

const MQ = {
  productID: '208423bb063c43288328b1d788745b0c',
  productName: 'IBM MQ Advanced',
  productMetric: 'VIRTUAL_PROCESSOR_CORE',
  productChargedContainers: 'All',
};
const ACE = {
  productID: 'e6f1d4ef3a2e4b9ea7c0b3a1f3d2c1b0',
  productName: 'IBM App Connect Enterprise',
  productMetric: 'PROCESSOR_VALUE_UNIT',
};
const DB2 = {
  productID: '5737-K75db2',
  productName: 'IBM Db2',
  productMetric: 'VIRTUAL_PROCESSOR_CORE',
};
const CP4I = { cloudpakId: 'c8b82d189e7545f0892db9ef2731b90d', cloudpakName: 'IBM Cloud Pak for Integration', cloudpakVersion: '2023.4.1', cloudpakMetric: 'VIRTUAL_PROCESSOR_CORE' };
const APIC = { ...CP4I, productID: '2c717d4ecc924aa5ac345015b55492eb', productName: 'IBM API Connect', productMetric: 'VIRTUAL_PROCESSOR_CORE', productCloudpakRatio: '3:1' };
const ES = { ...CP4I, productID: '2a79e49111f44ec3acd89608e56138f5', productName: 'IBM Event Streams', productMetric: 'VIRTUAL_PROCESSOR_CORE', productCloudpakRatio: '1:1' };

// Tags carry a test suffix so that the images the live test builds in the shared test dockerd
// never replace another test's image of the same name.
const T = '-k7test';
export const NIM_IMAGE = `nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3${T}`;
export const ORACLE_IMAGE = `container-registry.oracle.com/database/enterprise:19.3.0.0${T}`;
export const MONGO_IMAGE = `quay.io/mongodb/mongodb-enterprise-server:7.0.2-ubi8${T}`;

/**
 * Nodes (vCPU; physical cores at 2 threads per core):
 *   cp-1        4 vCPU, control plane                        (2 cores)
 *   gpu-h100   64 vCPU, 8× NVIDIA-H100-80GB-HBM3 (GFD labels) (32 cores)
 *   gpu-mig    32 vCPU, 2× NVIDIA-A100-SXM4-40GB, MIG mixed: 14× mig-1g.5gb (16 cores)
 *   plain-1     8 vCPU, no GPU                                (4 cores)
 *   gpu-nolabel 16 vCPU, 2× nvidia.com/gpu without GFD labels (8 cores)
 *
 * IBM (Running pods only):
 *   MQ (VPC): plain-1 3+3+3 = 9 → capped 8; gpu-mig 0.5 → cluster 8.5 → 9 VPC, 630 PVU.
 *             A Pending MQ pod (3 cores) does not count.
 *   App Connect (PVU): gpu-h100 0.5 + 0.4 + 1.0 = 1.9 → 2 cores → 140 PVU.
 *   Db2 (VPC): plain-1 pod without CPU limit → node capacity 8; gpu-mig pod charging only
 *             container "db2" (limit 2; the sidecar has no limit but is not charged) → 2.
 *             plain-1 total (8) ≤ 8 → 8 + 2 = 10 VPC, 700 PVU.
 *   Cloud Pak for Integration: API Connect 3:1 on gpu-h100 3+3+3 = 9 → converted 3;
 *             Event Streams 1:1 on gpu-mig 4 → 4; Cloud Pak = 7 VPC, 490 PVU.
 * OpenShift (workers only): 64+32+8+16 = 120 vCPU → 60 cores → 30 core pairs.
 *             All nodes: 124 vCPU → 62 cores → 31 core pairs.
 * GPUs: NVAIE-H100 8 (gpu-h100), NVAIE-A100 2 (gpu-mig), unknown 2 (gpu-nolabel).
 * NVAIE (NIM on gpu-h100 with 2 GPUs in ai-inference, NIM on gpu-mig with one 1g.5gb slice in
 *   ml-training): nodes rule: H100 8 + A100 2; allocated rule: H100 2 + A100 ceil(1×2/14) = 1.
 * Oracle Database EE (per core) on plain-1 and gpu-h100: 4×0.5 + 32×0.5 = 18 processor licences.
 * MongoDB Enterprise (per server → running instances): mongo-0 and mongo-1 → 2.
 * CUDA base image on gpu-nolabel: free, no NVAIE.
 */
export function testClusterObjects(): { nodes: Json[]; pods: Json[] } {
  const gfd = (product: string, count: number, extra: Record<string, string> = {}) => ({
    'nvidia.com/gpu.present': 'true',
    'nvidia.com/gpu.product': product,
    'nvidia.com/gpu.count': String(count),
    ...extra,
  });
  const nodes = [
    rawNode({ name: 'cp-1', cpu: '4', labels: { 'node-role.kubernetes.io/control-plane': '' }, taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
    rawNode({
      name: 'gpu-h100',
      cpu: '64',
      memory: '1024Gi',
      labels: { 'node-role.kubernetes.io/worker': '', ...gfd('NVIDIA-H100-80GB-HBM3', 8, { 'nvidia.com/gpu.memory': '81559', 'nvidia.com/gpu.family': 'hopper', 'nvidia.com/mig.strategy': 'none' }) },
      extraCapacity: { 'nvidia.com/gpu': '8' },
    }),
    rawNode({
      name: 'gpu-mig',
      cpu: '32',
      labels: { 'node-role.kubernetes.io/worker': '', ...gfd('NVIDIA-A100-SXM4-40GB', 2, { 'nvidia.com/gpu.memory': '40960', 'nvidia.com/gpu.family': 'ampere', 'nvidia.com/mig.strategy': 'mixed' }) },
      extraCapacity: { 'nvidia.com/gpu': '0', 'nvidia.com/mig-1g.5gb': '14' },
    }),
    rawNode({ name: 'plain-1', cpu: '8', labels: { 'node-role.kubernetes.io/worker': '' } }),
    rawNode({ name: 'gpu-nolabel', cpu: '16', labels: { 'node-role.kubernetes.io/worker': '' }, extraCapacity: { 'nvidia.com/gpu': '2' } }),
  ];
  const busy = 'registry.example.com/ibm';
  const pods = [
    ...[1, 2, 3].map((i) => rawPod({ namespace: 'mq', name: `mq-${i}`, node: 'plain-1', annotations: MQ, containers: [{ name: 'qmgr', image: `${busy}/mq:9.3${T}`, limits: { cpu: '3' } }] })),
    rawPod({ namespace: 'mq', name: 'mq-4', node: 'gpu-mig', annotations: MQ, containers: [{ name: 'qmgr', image: `${busy}/mq:9.3${T}`, limits: { cpu: '500m' } }] }),
    rawPod({ namespace: 'mq', name: 'mq-pending', node: 'gpu-mig', phase: 'Pending', annotations: MQ, containers: [{ name: 'qmgr', image: `${busy}/mq:9.3${T}`, limits: { cpu: '3' } }] }),
    rawPod({ namespace: 'ace', name: 'ace-1', node: 'gpu-h100', annotations: ACE, containers: [{ name: 'ace', image: `${busy}/ace:12${T}`, limits: { cpu: '500m' } }] }),
    rawPod({ namespace: 'ace', name: 'ace-2', node: 'gpu-h100', annotations: ACE, containers: [{ name: 'ace', image: `${busy}/ace:12${T}`, limits: { cpu: '400m' } }] }),
    rawPod({ namespace: 'ace', name: 'ace-3', node: 'gpu-h100', annotations: ACE, containers: [{ name: 'ace', image: `${busy}/ace:12${T}`, limits: { cpu: '1' } }] }),
    rawPod({ namespace: 'db2', name: 'db2-nolimit', node: 'plain-1', annotations: DB2, containers: [{ name: 'db2', image: `${busy}/db2:11.5${T}`, requests: { cpu: '1' } }] }),
    rawPod({
      namespace: 'db2',
      name: 'db2-limited',
      node: 'gpu-mig',
      annotations: { ...DB2, productChargedContainers: 'db2' },
      containers: [
        { name: 'db2', image: `${busy}/db2:11.5${T}`, limits: { cpu: '2' } },
        { name: 'istio-proxy', image: `docker.io/istio/proxyv2:1.20.0${T}` },
      ],
    }),
    ...[1, 2, 3].map((i) => rawPod({ namespace: 'cp4i', name: `apic-${i}`, node: 'gpu-h100', annotations: APIC, containers: [{ name: 'apic', image: `${busy}/apic:10${T}`, limits: { cpu: '3' } }] })),
    rawPod({ namespace: 'cp4i', name: 'es-1', node: 'gpu-mig', annotations: ES, containers: [{ name: 'kafka', image: `${busy}/eventstreams:11${T}`, limits: { cpu: '4' } }] }),
    rawPod({ namespace: 'ai-inference', name: 'nim-llm', node: 'gpu-h100', containers: [{ name: 'nim', image: NIM_IMAGE, limits: { cpu: '8', 'nvidia.com/gpu': '2' } }] }),
    rawPod({ namespace: 'ml-training', name: 'nim-mig', node: 'gpu-mig', containers: [{ name: 'nim', image: NIM_IMAGE, limits: { cpu: '4', 'nvidia.com/mig-1g.5gb': '1' } }] }),
    rawPod({ namespace: 'db', name: 'oracle-0', node: 'plain-1', containers: [{ name: 'oracle', image: ORACLE_IMAGE, limits: { cpu: '2' } }] }),
    rawPod({ namespace: 'db', name: 'oracle-1', node: 'gpu-h100', containers: [{ name: 'oracle', image: ORACLE_IMAGE, limits: { cpu: '2' } }] }),
    rawPod({ namespace: 'db', name: 'oracle-done', node: 'gpu-nolabel', phase: 'Succeeded', containers: [{ name: 'oracle', image: ORACLE_IMAGE, limits: { cpu: '2' } }] }),
    rawPod({ namespace: 'db', name: 'mongo-0', node: 'gpu-mig', containers: [{ name: 'mongod', image: MONGO_IMAGE, limits: { cpu: '2' } }] }),
    rawPod({ namespace: 'db', name: 'mongo-1', node: 'plain-1', containers: [{ name: 'mongod', image: MONGO_IMAGE, limits: { cpu: '2' } }] }),
    rawPod({ namespace: 'cuda', name: 'cuda-job', node: 'gpu-nolabel', containers: [{ name: 'cuda', image: `nvcr.io/nvidia/cuda:12.4.0-base-ubuntu22.04${T}`, limits: { 'nvidia.com/gpu': '1' } }] }),
    rawPod({ namespace: 'web', name: 'nginx', node: 'plain-1', containers: [{ name: 'nginx', image: `docker.io/library/nginx:1.25${T}` }] }),
  ];
  return { nodes, pods };
}

/** The test cluster as `kubectl get nodes,pods -A -o json` prints it. */
export function testClusterList(): Json {
  const { nodes, pods } = testClusterObjects();
  return { apiVersion: 'v1', kind: 'List', items: [...nodes, ...pods], metadata: { resourceVersion: '' } };
}
