import { Readable } from 'node:stream';
import type { ProbePlan, ScanSubject } from '../../src/model/entry.js';
import type { Fixture } from '../../src/fixtures/format.js';
import { fixtureLayerTar } from '../../src/fixtures/image-writer.js';
import { MEDIA_TYPES, sha256 } from '../../src/image/oci.js';
import { mergeLayers } from '../../src/image/merge.js';
import type { LayerHandle } from '../../src/image/types.js';
import { walkLayer } from '../../src/image/walk-layer.js';
import { extractPackages } from '../../src/packages/index.js';

/**
 * A ScanSubject for a fixture as a source would produce it under `plan`: each layer written as the
 * image writer writes it (src/fixtures/), walked by the layer walker and merged by the one layer
 * merger (src/image/merge.ts). Runs fixtures straight through the matcher without an archive.
 */
export async function fixtureSubject(fixture: Fixture, plan: ProbePlan): Promise<ScanSubject> {
  const layers = await Promise.all(
    fixture.layers.map(async (layer, i) => {
      const tar = fixtureLayerTar(layer);
      const handle: LayerHandle = { digest: sha256(tar), mediaType: MEDIA_TYPES.ociLayer, compression: 'none', bytes: { kind: 'stream', open: async () => Readable.from([tar]) } };
      return (await walkLayer(handle, { plan, label: `fixture ${fixture.signature}/${fixture.name} layer ${i}` })).result;
    }),
  );
  const files = mergeLayers(layers, plan);
  return {
    files,
    packages: await extractPackages(files),
    labels: fixture.image.labels ?? {},
    env: fixture.image.env ?? {},
    refs: fixture.image.refs ?? [],
  };
}
