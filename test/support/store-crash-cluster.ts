import type { NodeSpec, PodSpec } from './cluster-objects.js';
import type { ProductFinding } from '../../src/model/finding.js';
import { IBM_MQ } from './stores.js';

/**
 * The cluster the crash test's child records: IMAGES images over PODS pods on 20 nodes of 16
 * vCPU; every image holds two products (three evidence rows each), and every tenth pod is an
 * IBM MQ queue manager of 1 core, so the sweep has licence figures to commit.
 *   MQ: pods 0, 10, 20 ... land on node-0 and node-10 (i % 20), PODS / 20 cores each, capped at
 *   the node's 16: with 3,000 pods 16 + 16 = 32 VPC.
 */
export function crashCluster(images: number, pods: number) {
  const nodes: NodeSpec[] = Array.from({ length: 20 }, (_, i) => ({ name: `node-${i}`, cpu: '16' }));
  const imageRef = (i: number) => `registry.example/app/img-${i}:1.0`;
  const productsOf = (i: number): ProductFinding[] => [
    {
      id: 'oracle-java-se',
      vendor: 'Oracle',
      product: 'Oracle Java SE',
      edition: null,
      version: `17.0.${i % 13}`,
      licenseMetric: 'per-employee',
      licensable: true,
      confidence: 'high',
      evidence: [1, 2, 3].map((k) => ({ kind: 'file' as const, path: `/usr/java/jdk-17/lib/f${k}`, rule: `oracle-java-se/r${k}` })),
    },
    {
      id: 'redis-enterprise',
      vendor: 'Redis',
      product: 'Redis Enterprise',
      edition: null,
      version: null,
      licenseMetric: 'per-shard',
      licensable: true,
      confidence: 'medium',
      evidence: [1, 2, 3].map((k) => ({ kind: 'file' as const, path: `/opt/redislabs/bin/x${k}`, rule: `redis-enterprise/r${k}` })),
    },
  ];
  const podSpecs: PodSpec[] = Array.from({ length: pods }, (_, i) => ({
    namespace: `ns-${i % 7}`,
    name: `app-${i}`,
    node: `node-${i % 20}`,
    ...(i % 10 === 0 ? { annotations: IBM_MQ } : {}),
    containers: [{ name: 'main', image: imageRef(i % images), limits: { cpu: '1' } }],
  }));
  return { nodes, pods: podSpecs, productsOf, imageRef };
}
