import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { badInput } from '../model/errors.js';

/**
 * The shipped data files live in src/licensing/data/. The compiler does not copy YAML, so they
 * are found from the package root whether this module runs from src/ (tsx) or dist/src/.
 */
export function shippedDataFile(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'src', 'licensing', 'data', name);
    if (existsSync(candidate)) return candidate;
    const beside = join(dir, 'data', name);
    if (existsSync(beside)) return beside;
    dir = dirname(dir);
  }
  throw badInput(`shipped data file ${name} is missing`, 'reinstall Kensus: src/licensing/data/ belongs to the package');
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
