#!/usr/bin/env node
// floor-decompress with Node's own zlib: inflate each gzip file given, discard the output.
//   node bench/inflate.mjs gzip FILE...
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

const [kind, ...files] = process.argv.slice(2);
if (kind !== 'gzip' || files.length === 0) {
  process.stderr.write('usage: inflate.mjs gzip FILE...\n');
  process.exit(2);
}
let bytes = 0;
for (const f of files) {
  await new Promise((resolve, reject) => {
    const gz = createGunzip({ chunkSize: 256 * 1024 });
    gz.on('data', (c) => (bytes += c.length)).on('end', resolve).on('error', reject);
    createReadStream(f, { highWaterMark: 1 << 20 }).on('error', reject).pipe(gz);
  });
}
process.stdout.write(JSON.stringify({ bytes }) + '\n');
