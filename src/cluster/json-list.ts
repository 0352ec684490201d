/**
 * Reads a Kubernetes list (`{"kind": "List", "items": [...]}` or a bare array) from a byte
 * stream one item at a time: a 50,000-pod `kubectl get -o json` is over 600 MB, more than one
 * JavaScript string can hold, and parsed whole it would take gigabytes. The bytes are scanned
 * for structure only (strings, escapes, nesting); each item's own bytes go to JSON.parse, which
 * checks them. Streaming JSON libraries (@streamparser/json: ~27 MB/s here) tokenise in
 * JavaScript and take 25 s on such a file; this scan plus the native parse take about 5.
 */

export class JsonListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonListError';
  }
}

export interface JsonListOptions {
  /** Largest item accepted (etcd stores objects up to 1.5 MiB). */
  maxItemBytes?: number;
}

export interface JsonListInfo {
  /** The list's own `kind` (List, PodList, ...), null when absent or not a string. */
  kind: string | null;
  /** 'array' for a bare JSON array, 'object' for a list object (with or without `items`). */
  shape: 'array' | 'object';
  /** Whether the object had an `items` array. */
  hasItems: boolean;
  items: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_KEY_BYTES = 64;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Calls `onItem` with each parsed item, in order, and returns what the list said about itself.
 * Throws JsonListError when the bytes are not such a list (with what and where).
 */
export async function readJsonList(input: AsyncIterable<Buffer>, onItem: (item: unknown, index: number) => void, options: JsonListOptions = {}): Promise<JsonListInfo> {
  const maxItem = options.maxItemBytes ?? 16 * 1024 * 1024;
  let depth = 0;
  let top: 'array' | 'object' | null = null;
  let closed = false;
  let inString = false;
  let escaped = false;
  /** Depth inside the items array (1 for a bare array, 2 for `items`); 0 when not in it. */
  let itemsDepth = 0;
  let hasItems = false;
  let kind: string | null = null;
  // keys and values of the top-level object
  let expectKey = false;
  let expectValue = false;
  let key = '';
  let capture: 'key' | 'kind' | null = null;
  let captured: Buffer[] = [];
  let capturedBytes = 0;
  // the item being read
  let itemParts: Buffer[] | null = null;
  let itemStart = 0;
  let itemBytes = 0;
  /** Brace depth within the item being read. */
  let braces = 0;
  let index = 0;
  let offset = 0;

  const fail = (what: string): never => {
    throw new JsonListError(what);
  };

  const endItem = (chunk: Buffer, end: number): void => {
    itemParts!.push(chunk.subarray(itemStart, end));
    const bytes = itemParts!.length === 1 ? itemParts![0] : Buffer.concat(itemParts!);
    itemParts = null;
    let item: unknown;
    try {
      item = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      fail(`items[${index}] is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
    }
    onItem(item, index++);
  };

  for await (const chunk of input) {
    const len = chunk.length;
    let nextBackslash = -1;
    let nextQuote = -1;
    let nextOpen = -1;
    let nextClose = -1;
    let i = 0;
    if (itemParts) itemStart = 0;
    let captureStart = 0;
    while (i < len) {
      if (inString) {
        if (escaped) {
          escaped = false;
          i++;
          continue;
        }
        // Both searches are remembered until passed: searching again after every escape would
        // make a long string of backslashes quadratic.
        if (nextQuote !== len && nextQuote < i) {
          nextQuote = chunk.indexOf(QUOTE, i);
          if (nextQuote < 0) nextQuote = len;
        }
        if (nextBackslash !== len && nextBackslash < i) {
          nextBackslash = chunk.indexOf(BACKSLASH, i);
          if (nextBackslash < 0) nextBackslash = len;
        }
        if (nextBackslash < nextQuote) {
          i = nextBackslash + 1;
          escaped = true;
          continue;
        }
        if (nextQuote === len) {
          i = len;
          break;
        }
        const q = nextQuote;
        if (capture) {
          captured.push(chunk.subarray(captureStart, q));
          capturedBytes += q - captureStart;
          const text = capturedBytes <= MAX_KEY_BYTES ? Buffer.concat(captured).toString('utf8') : '';
          if (capture === 'key') {
            key = text;
            expectKey = false;
          } else kind = text;
          capture = null;
          captured = [];
          capturedBytes = 0;
        }
        inString = false;
        i = q + 1;
        continue;
      }
      if (itemParts) {
        // Inside an item only strings and braces matter (brackets nest within braces in valid
        // JSON, which JSON.parse checks): the next of each is found natively, not byte by byte.
        if (nextQuote !== len && nextQuote < i) {
          nextQuote = chunk.indexOf(QUOTE, i);
          if (nextQuote < 0) nextQuote = len;
        }
        if (nextOpen !== len && nextOpen < i) {
          nextOpen = chunk.indexOf(0x7b, i);
          if (nextOpen < 0) nextOpen = len;
        }
        if (nextClose !== len && nextClose < i) {
          nextClose = chunk.indexOf(0x7d, i);
          if (nextClose < 0) nextClose = len;
        }
        const at = Math.min(nextQuote, nextOpen, nextClose);
        if (at === len) {
          i = len;
          break;
        }
        i = at + 1;
        if (at === nextQuote) inString = true;
        else if (at === nextOpen) braces++;
        else if (--braces === 0) {
          if (offset + i - itemBytes > maxItem) fail(`items[${index}] is larger than ${maxItem} bytes: not a Kubernetes object`);
          depth = itemsDepth;
          endItem(chunk, i);
        }
        continue;
      }
      const c = chunk[i];
      if (isSpace(c)) {
        i++;
        continue;
      }
      if (closed) fail(`there is more after the end of the JSON document (at byte ${offset + i})`);
      if (top === null) {
        if (c === 0x7b) top = 'object';
        else if (c === 0x5b) top = 'array';
        else fail(`it does not start with { or [ (byte ${offset + i})`);
        depth = 1;
        if (top === 'object') expectKey = true;
        else {
          itemsDepth = 1;
          hasItems = true;
        }
        i++;
        continue;
      }
      if (itemsDepth && depth === itemsDepth && !itemParts) {
        // between items: only separators, the end of the array, or the next object
        if (c === 0x2c) {
          i++;
          continue;
        }
        if (c === 0x5d) {
          depth--;
          itemsDepth = 0;
          if (depth === 0) closed = true;
          i++;
          continue;
        }
        if (c !== 0x7b) fail(`items[${index}] is not an object`);
        itemParts = [];
        itemStart = i;
        itemBytes = offset + i;
        braces = 1;
        i++;
        continue;
      }
      if (c === QUOTE) {
        inString = true;
        if (depth === 1 && top === 'object' && !itemParts) {
          if (expectKey) {
            capture = 'key';
            captureStart = i + 1;
          } else if (expectValue && key === 'kind') {
            capture = 'kind';
            captureStart = i + 1;
          }
          expectValue = false;
        }
        i++;
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        if (depth === 1 && top === 'object' && !itemParts) {
          if (expectValue && key === 'items' && c === 0x5b) {
            itemsDepth = 2;
            hasItems = true;
          }
          expectValue = false;
        }
        depth++;
        i++;
        continue;
      }
      if (c === 0x7d || c === 0x5d) {
        depth--;
        i++;
        if (depth === 0) closed = true;
        if (depth < 0) fail(`unbalanced brackets at byte ${offset + i - 1}`);
        continue;
      }
      if (depth === 1 && top === 'object' && !itemParts) {
        if (c === 0x3a) expectValue = true;
        else if (c === 0x2c) expectKey = true;
        else expectValue = false;
      }
      i++;
    }
    if (capture) {
      captured.push(chunk.subarray(captureStart));
      capturedBytes += len - captureStart;
    }
    if (itemParts) {
      itemParts.push(itemStart === 0 ? chunk : chunk.subarray(itemStart));
      if (offset + len - itemBytes > maxItem) fail(`items[${index}] is larger than ${maxItem} bytes: not a Kubernetes object`);
    }
    offset += len;
  }
  if (top === null) fail('it is empty');
  if (!closed) fail(inString ? 'it ends inside a string (truncated)' : itemParts ? `it ends inside items[${index}] (truncated)` : 'it ends before the document does (truncated)');
  return { kind, shape: top!, hasItems, items: index };
}
