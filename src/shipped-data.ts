import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { badInput } from './errors.js';

/**
 * Data files shipped in src/ (e.g. 'licensing/data/gpu-skus.yaml'). The compiler does not copy
 * YAML, so they are found from the package root whether this module runs from src/ (tsx) or
 * from dist/.
 */
export function shippedFile(relFromSrc: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'src', relFromSrc);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  const beside = join(dirname(fileURLToPath(import.meta.url)), '..', relFromSrc);
  if (existsSync(beside)) return beside;
  throw badInput(`shipped data file src/${relFromSrc} is missing`, 'reinstall Kensus: the data files under src/ belong to the package');
}

/** A file of src/licensing/data/. */
export function shippedDataFile(name: string): string {
  return shippedFile(`licensing/data/${name}`);
}

/** Reads a YAML data file; a missing or unparsable file is bad input naming the file. */
export function readYamlFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw badInput(`cannot read ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'check the path');
  }
  try {
    return parse(text);
  } catch (err) {
    throw badInput(`${what} file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax');
  }
}
