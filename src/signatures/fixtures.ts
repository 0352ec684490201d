import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { badInput } from '../model/errors.js';
import type { Fixture, FixtureFile } from '../model/fixture.js';
import { describeSchemaError, repoSignaturesDir } from './load.js';

let validator: ValidateFunction | undefined;

async function fixtureValidator(): Promise<ValidateFunction> {
  if (!validator) {
    const schemaPath = path.join(repoSignaturesDir(), 'fixture.schema.json');
    const schema = JSON.parse(await readFile(schemaPath, 'utf8')) as object;
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  return validator;
}

const CONTENT_KINDS: Array<keyof FixtureFile> = ['content', 'base64', 'size', 'symlink', 'hardlink', 'dir'];

/** Checks what the schema cannot: one content kind per file, expectations that make sense. */
function semanticCheck(f: Omit<Fixture, 'name' | 'signature'>): { field: string; what: string; fix: string } | null {
  for (const [li, layer] of f.layers.entries()) {
    for (const [fi, file] of (layer.files ?? []).entries()) {
      const kinds = CONTENT_KINDS.filter((k) => file[k] !== undefined);
      if (kinds.length > 1) {
        return {
          field: `layers[${li}].files[${fi}]`,
          what: `has ${kinds.join(' and ')}`,
          fix: 'give exactly one of content, base64, size, symlink, hardlink, dir',
        };
      }
    }
  }
  if (!f.expect?.length && !f.absent?.length) {
    return { field: 'expect', what: 'the fixture asserts nothing', fix: 'add expect (positive) or absent (negative) product ids' };
  }
  return null;
}

/**
 * Reads signatures/fixtures/<signature id>/*.yaml (default: the repository's), validated against
 * signatures/fixture.schema.json. Broken files give a KensusError naming the file, field and fix.
 */
export async function loadFixtures(dir?: string): Promise<Fixture[]> {
  const root = dir ?? path.join(repoSignaturesDir(), 'fixtures');
  const validate = await fixtureValidator();
  let sigDirs: string[];
  try {
    sigDirs = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (err) {
    throw badInput(`cannot read the fixtures directory ${root}: ${(err as NodeJS.ErrnoException).code ?? err}`, 'check the path');
  }
  const out: Fixture[] = [];
  for (const sig of sigDirs) {
    const names = (await readdir(path.join(root, sig))).filter((n) => /\.ya?ml$/.test(n)).sort();
    for (const name of names) {
      const display = `fixtures/${sig}/${name}`;
      let data: unknown;
      try {
        data = parse(await readFile(path.join(root, sig, name), 'utf8'));
      } catch (err) {
        throw badInput(`${display}: invalid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax');
      }
      if (!validate(data)) throw badInput(`${display}: ${describeSchemaError(validate.errors ?? [])}`);
      const problem = semanticCheck(data as Fixture);
      if (problem) throw badInput(`${display}: ${problem.field}: ${problem.what}: ${problem.fix}`);
      const fx = data as Omit<Fixture, 'name' | 'signature'>;
      out.push({ ...fx, expect: fx.expect ?? [], name: name.replace(/\.ya?ml$/, ''), signature: sig });
    }
  }
  return out;
}
