import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterModel, type ClusterModel } from '../cluster/model.js';
import { digestOf, rawNode, rawPod } from '../../test/support/cluster-objects.js';
import { computeUsage } from '../licensing/usage.js';
import type { ProductFinding } from '../model/finding.js';
import { buildClusterReport } from '../report/cluster.js';
import { loadSignatureSet } from '../signatures/load.js';
import { matchSubject } from '../signatures/match.js';
import type { SignatureSet } from '../signatures/types.js';
import { buildInventory, type ImageKey } from './inventory.js';
import { combinedMatcher, patternMetadataMatcher, type MetadataMatcher } from './metadata.js';

// One image (one digest) known by two names, as after `docker tag` or a mirror: the NIM name
// and a team's own name. Only the pod started from the NIM name runs "NVIDIA NIM" by name.
const NIM = 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3';
const WEB = 'registry.example.com/team-a/web:1';
const DIGEST = digestOf('one-image-two-names');

let set: SignatureSet;
let matcher: MetadataMatcher;
let model: ClusterModel;
beforeAll(async () => {
  set = await loadSignatureSet();
  matcher = combinedMatcher((s) => matchSubject(set, s), patternMetadataMatcher);
  const gfd = { 'nvidia.com/gpu.present': 'true', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', 'nvidia.com/gpu.count': '8' };
  const trainer = rawPod({ namespace: 'team-b', name: 'trainer-0', node: 'gpu-h100', containers: [{ name: 'train', image: WEB, digest: DIGEST, limits: { 'nvidia.com/gpu': '4' } }] });
  // The runtime may report the digest under the other name (the first RepoDigest it knows).
  const status = trainer.status as { containerStatuses: Array<{ imageID: string }> };
  status.containerStatuses[0].imageID = `docker-pullable://nvcr.io/nim/meta/llama-3.1-8b-instruct@${DIGEST}`;
  model = buildClusterModel(
    [rawNode({ name: 'gpu-h100', cpu: '64', labels: gfd, extraCapacity: { 'nvidia.com/gpu': '8' } }), rawNode({ name: 'worker-1', cpu: '8' })],
    [
      rawPod({ namespace: 'ai', name: 'nim-0', node: 'gpu-h100', containers: [{ name: 'nim', image: NIM, digest: DIGEST, limits: { 'nvidia.com/gpu': '2' } }] }),
      trainer,
      rawPod({ namespace: 'team-a', name: 'web-0', node: 'worker-1', containers: [{ name: 'web', image: WEB, digest: DIGEST }] }),
    ],
    'snapshot',
  );
});

/** What the image scanner returns for the digest: its names are all refs of the image. */
function scanImage(_: ImageKey): Promise<ProductFinding[]> {
  return Promise.resolve(matchSubject(set, { files: new Map(), packages: [], labels: {}, env: {}, refs: [NIM, WEB] }));
}

const has = (ps: ProductFinding[], id: string) => ps.some((p) => p.id === id);

describe('name evidence belongs to the reference a container was started from', () => {
  for (const mode of ['image scan', 'metadata only'] as const) {
    it(`${mode}: a retagged image does not spread NVIDIA NIM to pods that never used the name`, async () => {
      const inv = await buildInventory(model, mode === 'image scan' ? { scanImage, matchMetadata: matcher } : { matchMetadata: matcher }, { metadataOnly: mode === 'metadata only' });
      const pod = (name: string) => inv.containers.find((c) => c.pod.name === name)!;
      expect(has(pod('nim-0').products, 'nvidia-nim')).toBe(true);
      expect(has(pod('trainer-0').products, 'nvidia-nim')).toBe(false);
      expect(has(pod('web-0').products, 'nvidia-nim')).toBe(false);

      const figures = computeUsage(inv);
      const allocated = figures.usage.filter((u) => u.productId === 'nvidia-ai-enterprise' && u.scope === 'allocated');
      expect(allocated.map((u) => u.quantity)).toEqual([2]);
      const report = buildClusterReport(inv, figures, null, { version: '0.0.0' });
      expect(has(report.nodes.find((n) => n.name === 'worker-1')!.products, 'nvidia-nim')).toBe(false);
      // The digest's own row keeps only what its content (here: nothing) or its own name shows.
      const image = report.images.find((i) => i.digest === DIGEST)!;
      expect(has(image.products, 'nvidia-nim')).toBe(image.ref === NIM);
    });
  }
});
