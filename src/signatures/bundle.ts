import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The build-time bundle of the shipped signatures: each file's data after YAML parsing and JSON
 * Schema validation, keyed by a hash of every file, the schema and the matcher version. Loading
 * it instead of re-parsing saves the CLI the YAML and ajv start-up (a third of a cold scan of a
 * small image). Any edit to a signature file changes the key, and then the files are parsed and
 * validated as usual: the bundle can make loading faster, never different.
 */
export const BUNDLE_FILE = 'signatures.bundle.json';
const BUNDLE_FORMAT = '1';

export interface Bundle {
  key: string;
  files: Record<string, Record<string, unknown>>;
}

export function bundleKey(names: string[], texts: string[], schemaText: string): string {
  const h = createHash('sha256').update(`bundle:${BUNDLE_FORMAT}\n${schemaText}\n`);
  names.forEach((n, i) => h.update(`${n}\n${texts[i].length}\n${texts[i]}\n`));
  return h.digest('hex');
}

/** dist/signatures.bundle.json beside the compiled modules (absent when running from src/). */
export function bundlePath(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), '..', BUNDLE_FILE);
}

export async function readBundle(key: string): Promise<Bundle['files'] | undefined> {
  try {
    const bundle = JSON.parse(await readFile(bundlePath(), 'utf8')) as Bundle;
    return bundle.key === key ? bundle.files : undefined;
  } catch {
    return undefined;
  }
}
