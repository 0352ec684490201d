// A real process recording one sweep through the store, step by step, announcing each committed
// step on stdout, so that src/store/crash.test.ts can SIGKILL it at chosen points.
//   node --import tsx test/support/store-sweep-child.ts STORE_URL OBSERVED_AT IMAGES PODS
import { buildClusterModel } from '../../src/cluster/model.js';
import { digestOf, rawNode, rawPod } from './cluster-objects.js';
import type { ProductFinding } from '../../src/model/finding.js';
import type { ContainerReport } from '../../src/model/report.js';
import { openStore } from '../../src/store/open.js';
import { beginSweep, completeSweep, recordImageScan, recordObservations } from '../../src/store/record.js';
import { crashCluster } from './store-crash-cluster.js';

const [url, observedAt, images, pods] = process.argv.slice(2);
const say = (line: string) => process.stdout.write(`${line}\n`);

const { nodes, pods: podSpecs, productsOf, imageRef } = crashCluster(Number(images), Number(pods));
const model = buildClusterModel(nodes.map(rawNode), podSpecs.map(rawPod), 'live', 'crash-cluster');
const store = await openStore(url);
const handle = await beginSweep(store, { clusterId: 'crash', clusterName: 'crash-cluster', observedAt, source: 'live', signatureSetVersion: 'sig-crash', toolVersion: 'test' });
say('begun');
for (let i = 0; i < Number(images); i++) {
  const digest = digestOf(imageRef(i).replace(/:[^/:]*$/, ''));
  await recordImageScan(store, handle, { ref: imageRef(i), digest, products: productsOf(i) });
  say(`image ${digest}`);
}
const containers: ContainerReport[] = model.pods.flatMap((p) =>
  p.containers.map((c) => ({
    id: `${p.namespace}/${p.name}/${c.name}`,
    name: c.name,
    pod: p.name,
    namespace: p.namespace,
    node: p.nodeName,
    image: c.image,
    imageDigest: c.imageDigest,
    method: 'image' as const,
    products: productsOf(Number(/img-(\d+)/.exec(c.image)![1])) as ProductFinding[],
  })),
);
say('observing');
await recordObservations(store, handle, { model, report: { containers } });
say('observed');
say('completing');
await completeSweep(store, handle, { now: observedAt });
say('complete');
await store.close();
