/**
 * The report as `JSON.stringify(report, null, 2) + '\n'` prints it, in pieces: one per
 * top-level field and one per row of its arrays. A 50,000-pod cluster report is tens of MB;
 * written whole it exists three times over (objects, string, output buffer). Each piece is
 * still made by JSON.stringify (native speed; streaming stringifiers such as json-ext's take
 * 20 times longer) and re-indented, which is exact because JSON text never holds a raw newline
 * inside a string.
 */
export function* jsonPieces(document: object): Generator<string> {
  const report = document as Record<string, unknown>;
  const keys = Object.keys(report).filter((k) => {
    const v = report[k];
    return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
  });
  if (keys.length === 0) {
    yield '{}\n';
    return;
  }
  yield '{\n';
  for (let k = 0; k < keys.length; k++) {
    const value = report[keys[k]];
    const end = k === keys.length - 1 ? '\n' : ',\n';
    if (Array.isArray(value) && value.length > 0) {
      yield `  ${JSON.stringify(keys[k])}: [\n`;
      for (let i = 0; i < value.length; i++) {
        const row = JSON.stringify(value[i], null, 2) ?? 'null';
        yield `    ${row.replace(/\n/g, '\n    ')}${i === value.length - 1 ? '\n' : ',\n'}`;
      }
      yield `  ]${end}`;
    } else {
      yield `  ${JSON.stringify(keys[k])}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}${end}`;
    }
  }
  yield '}\n';
}
