/**
 * How a glob can be looked up without running it: by its literal last segment (`…/bin/java`), by
 * a `*.ext` suffix, or not at all (its last segment is itself a pattern). The probe plan (per tar
 * header) and the matcher (per subject entry) both index globs this way.
 */

/** Characters that make a glob segment a pattern. */
export const GLOB_MAGIC = /[*?[\]{}()!+@]/;

export type GlobKey = { kind: 'base'; base: string } | { kind: 'suffix'; suffix: string } | { kind: 'pattern' };

/** The lookup key of a glob's last segment. */
export function globKey(glob: string): GlobKey {
  const last = glob.slice(glob.lastIndexOf('/') + 1);
  if (!GLOB_MAGIC.test(last)) return { kind: 'base', base: last };
  const suffix = /^\*(\.[^*?[\]{}()!+@/]+)$/.exec(last);
  if (suffix) return { kind: 'suffix', suffix: suffix[1] };
  return { kind: 'pattern' };
}

/** The extension a suffix is filed under: ".gz" for ".tar.gz". */
export function extensionOf(suffix: string): string {
  return suffix.slice(suffix.lastIndexOf('.'));
}
