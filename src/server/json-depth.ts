/**
 * How deeply a JSON text nests, counted in one pass before it is parsed: a body of a few
 * megabytes of `[[[[…` costs JSON.parse (and whatever walks the result) far more memory and time
 * than its size says. Brackets inside strings do not count. Stops early once `max` is passed.
 */
export function jsonDepthOver(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** JSON.parse with a nesting bound; the error says what was wrong. */
export function parseBoundedJson(text: string, maxDepth: number): unknown {
  if (jsonDepthOver(text, maxDepth)) throw new Error(`JSON nested deeper than ${maxDepth} levels`);
  return JSON.parse(text);
}
