import type { ScanHit, ScanRequest } from '../util/needle-scan.js';

/**
 * The one currency of Kensus: every source (image layers, the in-container tracker, a host
 * filesystem) ends in entries of one merged filesystem view. The matcher never knows where
 * the bytes came from.
 */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface FileEntry {
  /** Absolute, normalised POSIX path: always starts with '/', no '.', '..' or trailing '/'. */
  path: string;
  kind: EntryKind;
  /** Size in bytes as declared by the source (for a sparse file: its apparent size). */
  size: number;
  mode: number;
  /** Symlink: the raw link target. Hardlink: the absolute path of the file it links to. */
  linkTarget?: string;
  /** Bounded read of the content; present only for candidates the probe plan asked bytes for. */
  content?: Buffer;
  /** True when `content` holds fewer bytes than `size` because of the plan's byte cap. */
  truncated?: boolean;
  /** Where the entry came from: a layer digest, 'exec', 'host:/proc/1/root', ... */
  origin?: string;
  /** Needles the plan's byte search (`scanFor`) found in the file, each at its first place. */
  found?: ScanHit[];
}

/** A row of a package manager's database (dpkg status, apk installed, rpm db, rpm -qa). */
export interface InstalledPackage {
  manager: 'dpkg' | 'rpm' | 'apk';
  name: string;
  version: string | null;
  arch?: string;
  vendor?: string;
  /** Path of the database the row came from (for the evidence chain). */
  source: string;
}

/**
 * Everything the matcher looks at for one subject (an image or a running container).
 * `files` holds only the entries the probe plan selected (candidates, plus symlinks), already
 * merged across layers: whiteouts applied, later layers winning.
 */
export interface ScanSubject {
  files: ReadonlyMap<string, FileEntry>;
  packages: InstalledPackage[];
  labels: Record<string, string>;
  env: Record<string, string>;
  /** Image references (repo:tag, repo@digest) the subject is known by. */
  refs: string[];
  /** Pod annotations, when the subject is a Kubernetes container. */
  annotations?: Record<string, string>;
}

/**
 * The signature set compiled into what sources need to know: which paths can matter and how
 * many bytes of each to read. Sources call `contentBytes` for every header they see.
 */
export interface ProbePlan {
  /** Identity of the signature set; part of every layer-cache key. */
  readonly version: string;
  /**
   * undefined: not a candidate (drop the entry). 0: keep the header, read no content.
   * n > 0: keep the entry and read at most n bytes of content.
   */
  contentBytes(path: string): number | undefined;
  /** The same plan as data, for the tracker: shell-glob patterns and byte caps. */
  readonly probes: ReadonlyArray<{ glob: string; maxBytes: number }>;
  /**
   * Optional fast reject from a tar header's raw name bytes, before any string is made: true
   * only when `contentBytes` of that path is certainly undefined; false means "ask
   * `contentBytes`". Plans without it have every header decoded.
   */
  rejectsName?(name: RawName): boolean;
  /**
   * Literal strings to search a candidate file's bytes for, streamed up to a budget (the
   * `strings` evidence kind); undefined: no search. Sources put the hits in `FileEntry.found`.
   */
  scanFor?(path: string): ScanRequest | undefined;
  /** The searches as data, for the tracker: shell-glob patterns with their needles. */
  readonly scans?: ReadonlyArray<{ glob: string } & ScanRequest>;
}

/**
 * A tar entry's path as bytes in a header block, already in normal form: ASCII, relative (no
 * leading '/' or './'), no trailing '/', no '' / '.' / '..' segment. The path is
 * `bytes[prefixStart, prefixEnd) + '/' + bytes[start, end)` when the ustar prefix is not empty,
 * else `bytes[start, end)`. One object is reused for every header (no allocation per entry).
 */
export interface RawName {
  bytes: Uint8Array;
  prefixStart: number;
  prefixEnd: number;
  start: number;
  end: number;
  /** Where the basename starts (in [start, end)). */
  baseStart: number;
  /** util/name-hash of the basename bytes. */
  baseHash: number;
  /** util/name-hash of the basename from its last '.' on; -1 when it has no '.'. */
  extHash: number;
}
