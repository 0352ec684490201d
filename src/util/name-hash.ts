/**
 * FNV-1a (32 bit) over name bytes or over a string's code units: for ASCII both give the same
 * number, so a tar walker can look a raw header name up in a table built from glob strings
 * without decoding the name first. Collisions only cost a slower, exact check.
 */
const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;

export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], PRIME);
  return h >>> 0;
}

export function hashString(s: string, start = 0, end = s.length): number {
  let h = OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), PRIME);
  return h >>> 0;
}
