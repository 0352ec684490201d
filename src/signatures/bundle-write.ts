/**
 * The build step that writes dist/signatures.bundle.json (see bundle.ts, which reads it): the
 * shipped signatures fully validated, then stored parsed. Run by scripts/build.mjs, never by the CLI.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { bundleKey, bundlePath, type Bundle } from './bundle.js';
import { dataFileNames, loadSignatureSet, repoSignaturesDir } from './load.js';

/** Build step (`node dist/signatures/bundle-write.js`, scripts/build.mjs): validates the shipped signatures and writes the bundle. */
export async function writeBundle(): Promise<string> {
  const root = repoSignaturesDir();
  // Full validation first: a broken signature fails the build with its file, field and fix.
  await loadSignatureSet(root);
  // Signature files, then the data files they refer to (data/<name>.yaml), as loadSignatureSet keys them.
  const names = [...(await readdir(root)).filter((n) => /\.ya?ml$/.test(n)).sort(), ...(await dataFileNames(root))];
  const texts = await Promise.all(names.map((n) => readFile(path.join(root, n), 'utf8')));
  const schemaText = await readFile(path.join(root, 'signature.schema.json'), 'utf8');
  const files: Bundle['files'] = {};
  names.forEach((n, i) => (files[n] = parse(texts[i]) as Record<string, unknown>));
  const out = bundlePath();
  await writeFile(out, JSON.stringify({ key: bundleKey(names, texts, schemaText), files } satisfies Bundle));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  writeBundle().catch((err: Error) => {
    process.stderr.write(`kensus: signatures bundle: ${err.message}\n`);
    process.exit(2);
  });
}
