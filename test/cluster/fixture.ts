import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { BUSYBOX_IMAGE } from './image.js';
import type { KObject } from './store.js';

/**
 * The fixture cluster: nodes (virtual: every pod really runs on the one test dockerd),
 * namespaces, and any other objects (pods, workloads, secrets, CRDs, CRs) created in order.
 *
 * YAML file shape:
 *   nodes: [ {name, labels, capacity, allocatable?, taints?, nodeInfo?, instanceType?} | Node object ]
 *   namespaces: [ name | Namespace object ]
 *   objects: [ any Kubernetes object; pods are started as Docker containers ]
 */
export interface NodeShorthand {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  capacity: Record<string, string>;
  allocatable?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
  nodeInfo?: Record<string, string>;
  providerID?: string;
}

export interface Fixture {
  nodes?: (NodeShorthand | KObject)[];
  namespaces?: (string | KObject)[];
  objects?: KObject[];
}

export function loadFixture(path: string): Fixture {
  const doc = parse(readFileSync(path, 'utf8')) as Fixture | null;
  if (!doc || typeof doc !== 'object') throw new Error(`fixture ${path} is empty or not a YAML mapping with nodes/namespaces/objects`);
  for (const key of Object.keys(doc)) {
    if (!['nodes', 'namespaces', 'objects'].includes(key)) throw new Error(`fixture ${path}: unknown key "${key}" (expected nodes, namespaces, objects)`);
  }
  return doc;
}

export function nodeObject(n: NodeShorthand | KObject, index: number): KObject {
  if ((n as KObject).metadata) return { apiVersion: 'v1', kind: 'Node', ...(n as KObject) };
  const s = n as NodeShorthand;
  const ip = `10.0.0.${10 + index}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: s.name,
      labels: { 'kubernetes.io/hostname': s.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64', ...(s.labels ?? {}) },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true', ...(s.annotations ?? {}) },
    },
    spec: {
      podCIDR: `10.244.${index}.0/24`,
      podCIDRs: [`10.244.${index}.0/24`],
      ...(s.providerID ? { providerID: s.providerID } : {}),
      ...(s.taints?.length ? { taints: s.taints } : {}),
      ...(s.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      capacity: s.capacity,
      allocatable: s.allocatable ?? s.capacity,
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ].map((c) => ({ ...c, lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') })),
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: s.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: `${index}`.padStart(32, '0'),
        systemUUID: `00000000-0000-0000-0000-${String(index).padStart(12, '0')}`,
        bootID: `00000000-0000-0000-0000-${String(index + 100).padStart(12, '0')}`,
        kernelVersion: '6.1.0-kensus',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'docker://20.10.24',
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
        ...(s.nodeInfo ?? {}),
      },
    },
  };
}

const SLEEP = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'];

/**
 * A control-plane node, a CPU worker, an H100 node and an A100 node with MIG; two namespaces with
 * one running pod each (web-0 in team-a owned by a ReplicaSet of Deployment web; trainer-0 in
 * team-b owned by StatefulSet trainer, 2 GPUs on gpu-h100-1).
 */
export function defaultFixture(image = BUSYBOX_IMAGE): Fixture {
  const gpuLabels = (product: string, count: number, extra: Record<string, string> = {}) => ({
    'nvidia.com/gpu.present': 'true',
    'nvidia.com/gpu.product': product,
    'nvidia.com/gpu.count': String(count),
    'nvidia.com/gpu.family': product.includes('H100') ? 'hopper' : 'ampere',
    'nvidia.com/cuda.driver.major': '550',
    'nvidia.com/cuda.driver.minor': '90',
    'nvidia.com/cuda.driver.rev': '07',
    ...extra,
  });
  return {
    nodes: [
      {
        name: 'control-plane-1',
        labels: { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/instance-type': 'm5.xlarge', 'topology.kubernetes.io/zone': 'eu-west-1a' },
        capacity: { cpu: '4', memory: '16101804Ki', pods: '110', 'ephemeral-storage': '104845292Ki' },
        allocatable: { cpu: '3800m', memory: '15487404Ki', pods: '110', 'ephemeral-storage': '96625420948' },
        taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
      },
      {
        name: 'worker-1',
        labels: { 'node-role.kubernetes.io/worker': '', 'node.kubernetes.io/instance-type': 'm5.4xlarge', 'topology.kubernetes.io/zone': 'eu-west-1a' },
        capacity: { cpu: '16', memory: '65023668Ki', pods: '110', 'ephemeral-storage': '209690584Ki' },
        allocatable: { cpu: '15800m', memory: '64409268Ki', pods: '110', 'ephemeral-storage': '193249247756' },
      },
      {
        name: 'gpu-h100-1',
        labels: { 'node-role.kubernetes.io/worker': '', 'node.kubernetes.io/instance-type': 'p5.48xlarge', 'topology.kubernetes.io/zone': 'eu-west-1b',
          ...gpuLabels('NVIDIA-H100-80GB-HBM3', 8, { 'nvidia.com/gpu.memory': '81559', 'nvidia.com/mig.capable': 'true', 'nvidia.com/mig.strategy': 'none' }) },
        capacity: { cpu: '192', memory: '2097152000Ki', pods: '110', 'nvidia.com/gpu': '8', 'ephemeral-storage': '3750000000Ki' },
        allocatable: { cpu: '191450m', memory: '2090000000Ki', pods: '110', 'nvidia.com/gpu': '8', 'ephemeral-storage': '3450000000000' },
        taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
      },
      {
        name: 'gpu-a100-mig-1',
        labels: { 'node-role.kubernetes.io/worker': '', 'node.kubernetes.io/instance-type': 'p4de.24xlarge', 'topology.kubernetes.io/zone': 'eu-west-1b',
          ...gpuLabels('NVIDIA-A100-SXM4-80GB', 8, { 'nvidia.com/gpu.memory': '81920', 'nvidia.com/mig.capable': 'true', 'nvidia.com/mig.strategy': 'mixed',
            'nvidia.com/mig-1g.10gb.count': '14', 'nvidia.com/mig-3g.40gb.count': '4' }) },
        capacity: { cpu: '96', memory: '1188000000Ki', pods: '110', 'nvidia.com/gpu': '4', 'nvidia.com/mig-1g.10gb': '14', 'nvidia.com/mig-3g.40gb': '4' },
        allocatable: { cpu: '95690m', memory: '1180000000Ki', pods: '110', 'nvidia.com/gpu': '4', 'nvidia.com/mig-1g.10gb': '14', 'nvidia.com/mig-3g.40gb': '4' },
        taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
      },
    ],
    namespaces: ['team-a', 'team-b'],
    objects: [
      // Owner chains as controllers leave them (no controllers run here): Deployment -> ReplicaSet -> Pod, StatefulSet -> Pod.
      {
        apiVersion: 'apps/v1', kind: 'Deployment',
        metadata: { name: 'web', namespace: 'team-a', labels: { app: 'web' } },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image, command: SLEEP }] } } },
      },
      {
        apiVersion: 'apps/v1', kind: 'ReplicaSet',
        metadata: { name: 'web-7d4b9c8f5d', namespace: 'team-a', labels: { app: 'web', 'pod-template-hash': '7d4b9c8f5d' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', controller: true, blockOwnerDeletion: true }] },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d4b9c8f5d' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image, command: SLEEP }] } } },
      },
      {
        apiVersion: 'apps/v1', kind: 'StatefulSet',
        metadata: { name: 'trainer', namespace: 'team-b', labels: { app: 'trainer' } },
        spec: { replicas: 1, serviceName: 'trainer', selector: { matchLabels: { app: 'trainer' } }, template: { metadata: { labels: { app: 'trainer' } }, spec: { containers: [{ name: 'trainer', image, command: SLEEP }] } } },
      },
      {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: 'web-0', namespace: 'team-a', labels: { app: 'web', 'pod-template-hash': '7d4b9c8f5d' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c8f5d', controller: true, blockOwnerDeletion: true }] },
        spec: {
          nodeName: 'worker-1',
          containers: [{ name: 'web', image, command: SLEEP, resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } } }],
        },
      },
      {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: 'trainer-0', namespace: 'team-b', labels: { app: 'trainer', 'statefulset.kubernetes.io/pod-name': 'trainer-0' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'trainer', controller: true, blockOwnerDeletion: true }] },
        spec: {
          nodeName: 'gpu-h100-1',
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'trainer', image, command: SLEEP, resources: { limits: { cpu: '4', memory: '1Gi', 'nvidia.com/gpu': '2' } } }],
        },
      },
    ],
  };
}
