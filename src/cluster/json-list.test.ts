import { describe, expect, it } from 'vitest';
import { JsonListError, readJsonList } from './json-list.js';

async function read(text: string | Buffer, chunk: number, options = {}) {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const items: unknown[] = [];
  const info = await readJsonList(chunks(), (item, index) => {
    expect(index).toBe(items.length);
    items.push(item);
  }, options);
  return { info, items };
}

const awkward = {
  kind: 'Pod',
  metadata: { name: 'p', annotations: { json: '{"a":[1,2,{"b":"}]"}]}', quote: 'say "hi" \\ and \\"', unicode: 'ü €', braces: '{{[[' } },
  spec: { containers: [{ name: 'c', env: [{ name: 'X', value: '\\\\\\"' }] }] },
};

describe('readJsonList', () => {
  const list = { apiVersion: 'v1', items: [awkward, { kind: 'Node', metadata: { name: 'n' } }, {}], kind: 'List', metadata: { resourceVersion: '' } };

  it('hands out every item exactly as JSON.parse reads it, whatever the chunking and indentation', async () => {
    for (const text of [JSON.stringify(list), JSON.stringify(list, null, 4)]) {
      for (const chunk of [1, 2, 3, 5, 17, 64, 4096]) {
        const { info, items } = await read(text, chunk);
        expect(items).toEqual(list.items);
        expect(info).toEqual({ kind: 'List', shape: 'object', hasItems: true, items: 3 });
      }
    }
  });

  it('reads a bare array, a list whose kind comes first, and an empty list', async () => {
    expect((await read(JSON.stringify(list.items), 7)).items).toEqual(list.items);
    const apiOrder = `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[${JSON.stringify(awkward)}]}`;
    expect((await read(apiOrder, 3)).info).toEqual({ kind: 'PodList', shape: 'object', hasItems: true, items: 1 });
    expect((await read('{"kind": "List", "items": []}', 4)).info).toEqual({ kind: 'List', shape: 'object', hasItems: true, items: 0 });
    expect((await read('{"kind": "Pod", "metadata": {"name": "x"}}', 4)).info).toMatchObject({ kind: 'Pod', hasItems: false });
  });

  it('does not take a nested "items" key for the list', async () => {
    const text = JSON.stringify({ kind: 'ConfigMap', data: { items: [1, 2] } });
    expect((await read(text, 5)).info).toMatchObject({ hasItems: false, items: 0 });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['an empty file', '  \n', /it is empty/],
    ['text', 'hello', /does not start with \{ or \[/],
    ['a truncated list', '{"kind": "List", "items": [{"a": 1}, {"b": ', /ends inside items\[1\] \(truncated\)/],
    ['a truncated string', '{"kind": "Li', /ends inside a string/],
    ['an item that is not an object', '{"items": [{"a": 1}, 42]}', /items\[1\] is not an object/],
    ['an item that is not JSON', '{"items": [{"a": 1,,}]}', /items\[0\] is not valid JSON/],
    ['more after the end', '{"items": []} {"items": []}', /more after the end of the JSON document/],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what}`, async () => {
      const err = await read(text, 3).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(JsonListError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('rejects an item larger than the bound before holding all of it', async () => {
    const huge = `{"items": [{"a": "${'x'.repeat(5000)}"}]}`;
    await expect(read(huge, 100, { maxItemBytes: 1000 })).rejects.toThrow(/items\[0\] is larger than 1000 bytes/);
  });

  it('stays linear on a long string of escapes', async () => {
    // 2 MB of backslash pairs in one string: a search again after every escape would be quadratic
    const text = `{"items": [{"a": "${'\\\\'.repeat(1 << 20)}"}]}`;
    const { items } = await read(text, 1 << 20);
    expect((items[0] as { a: string }).a.length).toBe(1 << 20);
  });
});
