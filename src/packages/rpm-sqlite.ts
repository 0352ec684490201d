import { createRequire } from 'node:module';
import path from 'node:path';
import type { SqlJsStatic } from 'sql.js';

/**
 * rpm >= 4.16's sqlite backend (rpmdb.sqlite): table Packages(hnum INTEGER PRIMARY KEY,
 * blob BLOB NOT NULL) holding header blobs (rpm's lib/backend/sqlite.c). Read with sql.js
 * (wasm, in memory, nothing touches disk); the wasm module loads only when such a file exists.
 */
let sqlPromise: Promise<SqlJsStatic> | undefined;

export function loadSqlJs(): Promise<SqlJsStatic> {
  if (!sqlPromise) {
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('sql.js/dist/sql-wasm.js'));
    const init = require('sql.js/dist/sql-wasm.js') as (config: object) => Promise<SqlJsStatic>;
    sqlPromise = init({ locateFile: (file: string) => path.join(dist, file) });
  }
  return sqlPromise;
}

export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export function isSqlite(buf: Buffer): boolean {
  return buf.length >= 16 && buf.subarray(0, 16).equals(SQLITE_MAGIC);
}

/** All header blobs of an rpmdb.sqlite image held in memory. */
export async function readRpmSqliteBlobs(buf: Buffer): Promise<Buffer[]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  try {
    const out: Buffer[] = [];
    const stmt = db.prepare('SELECT blob FROM Packages');
    try {
      while (stmt.step()) {
        const v = stmt.get()[0];
        if (v instanceof Uint8Array) out.push(Buffer.from(v));
      }
    } finally {
      stmt.free();
    }
    return out;
  } finally {
    db.close();
  }
}

/** Creates an rpmdb.sqlite with rpm's schema holding `blobs` (tests and generated fixtures). */
export async function writeRpmSqlite(blobs: Buffer[]): Promise<Buffer> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  try {
    db.run('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
    const stmt = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
    for (const b of blobs) stmt.run([new Uint8Array(b)]);
    stmt.free();
    return Buffer.from(db.export());
  } finally {
    db.close();
  }
}
