import { describe, expect, it } from 'vitest';
import { jsonDepthOver, parseBoundedJson } from './json-depth.js';

describe('JSON nesting bound', () => {
  it('counts objects and arrays, not brackets inside strings or escaped quotes', () => {
    expect(jsonDepthOver('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(jsonDepthOver('{"a":[{"b":1}]}', 2)).toBe(true);
    expect(jsonDepthOver('{"a":"[[[[[[\\"[[[[["}', 1)).toBe(false);
    expect(jsonDepthOver('[1,[2],[3],[4]]', 2)).toBe(false);
  });

  it('refuses a 4 MB body of nested arrays before parsing it, and parses a normal one', () => {
    const deep = '['.repeat(2_000_000) + ']'.repeat(2_000_000);
    expect(() => parseBoundedJson(deep, 64)).toThrow('JSON nested deeper than 64 levels');
    expect(parseBoundedJson('{"request":{"uid":"x"}}', 64)).toEqual({ request: { uid: 'x' } });
    expect(() => parseBoundedJson('{"a":', 64)).toThrow(SyntaxError);
  });
});
