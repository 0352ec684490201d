import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { badInput } from '../errors.js';
import { JsonListError, readJsonList } from './json-list.js';
import { ClusterModelBuilder, type ClusterModel } from './model.js';

const fix = 'create it with: kubectl get nodes,pods -A -o json > FILE';

/** A YAML snapshot is parsed whole; past this size only JSON (read as a stream) is practical. */
const MAX_YAML_BYTES = 256 * 1024 * 1024;

function readError(file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  return badInput(`cannot read snapshot ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(err))}`, fix);
}

/** The first non-blank byte of the file (a BOM skipped), to tell JSON from YAML; null when empty. */
async function firstByte(file: string): Promise<{ byte: number | null; size: number }> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(64 * 1024);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return { byte: null, size };
      for (let i = 0; i < bytesRead; i++) {
        const c = buf[i];
        if (pos + i < 3 && (c === 0xef || c === 0xbb || c === 0xbf)) continue;
        if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return { byte: c, size };
      }
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Sorts list items into nodes and pods as they come; kind-less items wait for the list's kind. */
class ItemSorter {
  readonly builder = new ClusterModelBuilder();
  private listKind: string | null = null;
  private readonly waiting: Array<{ item: unknown; index: number }> = [];

  constructor(private readonly file: string) {}

  set kind(kind: string | null) {
    this.listKind = kind;
  }

  add(item: unknown, index: number): void {
    const name = (item as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    if (typeof name !== 'string' || !name) throw badInput(`snapshot ${this.file}: items[${index}] has no metadata.name`, fix);
    const kind = (item as { kind?: unknown }).kind;
    if (kind === undefined && this.listKind === null) {
      // NodeList/PodList items carry no kind; kubectl prints the list's kind after its items.
      this.waiting.push({ item, index });
      return;
    }
    this.dispatch(item, kind);
  }

  private dispatch(item: unknown, kind: unknown): void {
    const k = kind ?? (this.listKind === 'NodeList' ? 'Node' : this.listKind === 'PodList' ? 'Pod' : undefined);
    if (k === 'Node') this.builder.addNode(item);
    else if (k === 'Pod') this.builder.addPod(item);
  }

  finish(): ClusterModel {
    for (const { item } of this.waiting) this.dispatch(item, undefined);
    if (this.builder.nodeCount === 0) {
      throw badInput(`snapshot ${this.file} holds no Node (found ${this.builder.podCount} pods)`, `include the nodes: ${fix.replace('create it with: ', '')}`);
    }
    return this.builder.finish('snapshot');
  }
}

/**
 * Reads `kubectl get nodes,pods -A -o json` output: a v1 List (or NodeList/PodList) of Node and
 * Pod items. JSON is read as a stream, item by item, each normalised as it arrives, so memory
 * follows the cluster model, not the file (600 MB for 50,000 pods). YAML (`-o yaml`) is
 * accepted too, parsed whole. Other kinds in the list are ignored; a file without a single Node
 * is rejected, because no licence figure can be computed without nodes.
 */
export async function loadSnapshot(file: string): Promise<ClusterModel> {
  let head: Awaited<ReturnType<typeof firstByte>>;
  try {
    head = await firstByte(file);
  } catch (err) {
    throw readError(file, err);
  }
  const sorter = new ItemSorter(file);
  if (head.byte === 0x7b || head.byte === 0x5b) {
    let info;
    try {
      info = await readJsonList(createReadStream(file, { highWaterMark: 1 << 20 }), (item, i) => sorter.add(item, i));
    } catch (err) {
      if (err instanceof JsonListError) throw badInput(`snapshot ${file} is not valid JSON: ${err.message}`, fix);
      if ((err as NodeJS.ErrnoException).code) throw readError(file, err);
      throw err;
    }
    if (!info.hasItems) throw notAList(file, info.kind);
    sorter.kind = info.kind;
    return sorter.finish();
  }
  if (head.size > MAX_YAML_BYTES) {
    throw badInput(`snapshot ${file} is ${head.size} bytes of YAML: too large to read whole`, 'write it as JSON, which is read as a stream: kubectl get nodes,pods -A -o json > FILE');
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw readError(file, err);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw badInput(`snapshot ${file} is not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}`, fix);
  }
  return fromDocument(doc, file);
}

/** A snapshot already in memory (the demo's, tests'): JSON or YAML text, parsed whole. */
export function parseSnapshot(text: string, file: string): ClusterModel {
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw badInput(`snapshot ${file} is not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}`, fix);
  }
  return fromDocument(doc, file);
}

function fromDocument(doc: unknown, file: string): ClusterModel {
  const sorter = new ItemSorter(file);
  const items = Array.isArray(doc) ? doc : (doc as { items?: unknown } | null)?.items;
  const kind = (doc as { kind?: unknown } | null)?.kind;
  if (!Array.isArray(items)) throw notAList(file, typeof kind === 'string' ? kind : kind === undefined ? null : String(kind));
  sorter.kind = typeof kind === 'string' ? kind : 'List';
  items.forEach((item, i) => sorter.add(item, i));
  return sorter.finish();
}

function notAList(file: string, kind: string | null): Error {
  return badInput(`snapshot ${file} is not a Kubernetes list: expected {"kind": "List", "items": [...]}, found ${kind ? `kind ${kind}` : 'no items'}`, fix);
}
