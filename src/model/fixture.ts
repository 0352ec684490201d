/**
 * A signature fixture: a small image described as data (signatures/fixtures/<id>/<name>.yaml).
 * Tests and the demo turn it into real image archives (docker-archive, OCI) and containers, so
 * the same description proves a signature through every source.
 */
export interface FixtureFile {
  path: string;
  /** Text content (UTF-8). */
  content?: string;
  /** Binary content. */
  base64?: string;
  /** Generated content of this many bytes (deterministic filler), for size-only files. */
  size?: number;
  mode?: number;
  symlink?: string;
  /** Hard link to another path of the same layer. */
  hardlink?: string;
  dir?: boolean;
}

export interface FixtureLayer {
  files?: FixtureFile[];
  /** Paths deleted by this layer (written as `.wh.<name>` entries). */
  whiteouts?: string[];
  /** Directories made opaque by this layer (written as `<dir>/.wh..wh..opq`). */
  opaque?: string[];
}

export interface FixtureExpectation {
  id: string;
  edition?: string | null;
  version?: string | null;
  licensable?: boolean | null;
}

export interface Fixture {
  /** File name without .yaml; unique within the signature's folder. */
  name: string;
  /** The signature the fixture belongs to (the folder name). */
  signature: string;
  description: string;
  /** Where the imitated layout comes from (vendor image build files, install docs). */
  source?: string;
  image: {
    labels?: Record<string, string>;
    env?: Record<string, string>;
    refs?: string[];
    /** True when the fixture has a shell (busybox) so the tracker can exec into it. */
    shell?: boolean;
  };
  layers: FixtureLayer[];
  /** Products that must be found, with the fields that must match. */
  expect: FixtureExpectation[];
  /** Product ids that must NOT be found (negative fixtures). */
  absent?: string[];
}
