/**
 * The test cluster of issue 7: the demo's fixture cluster (src/fixtures/demo-cluster.ts, where
 * every figure the tests expect is computed by hand) with a test suffix on every tag, so that the
 * images the live test builds in the shared test dockerd never replace another test's image of
 * the same name.
 */
import { demoClusterList, demoClusterObjects, demoImages, type Json } from '../../src/fixtures/demo-cluster.js';

export { digestOf, rawNode, rawPod, type ContainerSpec, type NodeSpec, type PodSpec } from '../../src/fixtures/demo-cluster.js';

const T = '-k7test';
export const { nim: NIM_IMAGE, oracle: ORACLE_IMAGE, mongo: MONGO_IMAGE } = demoImages(T);

export function testClusterObjects(): { nodes: Json[]; pods: Json[] } {
  return demoClusterObjects(T);
}

/** The test cluster as `kubectl get nodes,pods -A -o json` prints it. */
export function testClusterList(): Json {
  return demoClusterList(T);
}
