/**
 * The benchmark's image catalogue: which images, at which sizes, for the full run and --quick.
 */
import type { ImageSpec } from './build.js';
import { SHAPES, type Shape } from './contenders.js';

import { appLayer, hugeData, manySmall, miniBase, productLayer, whiteoutLayer, type LayerSpec } from './layers.js';

export interface Sizes {
  manySmall: number;
  hugeBytes: number;
  scalingFiles: number[];
  scalingBytes: number[];
}

const GB = 1024 ** 3;
const MB = 1024 ** 2;

export const FULL: Sizes = {
  manySmall: 100_000,
  hugeBytes: 2 * GB,
  scalingFiles: [10_000, 100_000, 300_000],
  scalingBytes: [1 * GB, 2 * GB, 4 * GB],
};

export const QUICK: Sizes = {
  manySmall: 10_000,
  hugeBytes: 128 * MB,
  scalingFiles: [2_000, 10_000],
  scalingBytes: [64 * MB, 128 * MB],
};

/** The main images; `debian` is the four layers of the Debian system (real or synthetic). */
export function mainImages(sizes: Sizes, debian: LayerSpec[]): ImageSpec[] {
  return [
    { name: 'debian', layers: debian },
    { name: 'many-small', layers: [miniBase(), manySmall(sizes.manySmall)] },
    { name: 'huge', layers: [miniBase(), hugeData(sizes.hugeBytes), productLayer()] },
    { name: 'whiteouts', layers: Array.from({ length: 12 }, (_, k) => whiteoutLayer(k)) },
    { name: 'shared-base-a', layers: [...debian, appLayer('a')] },
    { name: 'shared-base-b', layers: [...debian, appLayer('b')] },
  ];
}

export function scalingImages(sizes: Sizes): ImageSpec[] {
  return [
    ...sizes.scalingFiles.map((n) => ({ name: `many-small-${n}`, layers: [miniBase(), manySmall(n)] })),
    ...sizes.scalingBytes.map((b) => ({ name: `huge-${Math.round(b / MB)}MB`, layers: [miniBase(), hugeData(b), productLayer()] })),
  ];
}

/** The smallest image: what a scan costs when there is nothing to read (fixed cost). */
export function tinyImage(): ImageSpec {
  return { name: 'tiny', layers: [miniBase()] };
}

/**
 * --quick measures each image in fewer shapes (every shape still appears at least once) so the
 * whole run, image generation included, stays under three minutes on two cores.
 */
const QUICK_SHAPES: Record<string, Shape[]> = {
  debian: ['docker-archive', 'oci-zstd'],
  'many-small': ['docker-archive'],
  huge: ['docker-archive', 'oci-gzip'],
  whiteouts: ['stream'],
  'shared-base-a': ['docker-archive'],
  'shared-base-b': ['docker-archive'],
};

export function shapesFor(image: string, quick: boolean): Shape[] {
  return quick ? QUICK_SHAPES[image] ?? ['docker-archive'] : SHAPES;
}
