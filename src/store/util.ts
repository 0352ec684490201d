import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { badInput } from '../errors.js';
import type { Database } from './schema.js';
import type { Store } from './open.js';

/** A query executor: the store's pool, or one connection inside a write transaction. */
export type Db = Kysely<Database>;

/** ISO-8601 UTC with milliseconds: the one time format of the store (text order is time order). */
export function iso(t: Date | string | number): string {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) throw badInput(`'${String(t)}' is not a time`, 'give an ISO-8601 time, e.g. 2026-11-14T02:00:00Z');
  return d.toISOString();
}

/** The UTC day (YYYY-MM-DD) of a time: IBM's daily figures are per day. */
export function dayOf(t: string | Date): string {
  return iso(t).slice(0, 10);
}

export function startOfDay(day: string): string {
  return `${day}T00:00:00.000Z`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Rows per multi-row INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs `fn` in one write transaction on one connection. SQLite takes the write lock at BEGIN
 * (IMMEDIATE), so two processes writing the same file queue on the busy timeout instead of
 * failing when both try to upgrade a read lock. Killed half-way, nothing of it is kept.
 */
export async function writeTx<T>(store: Store, fn: (db: Db) => Promise<T>): Promise<T> {
  return store.db.connection().execute(async (db) => {
    await sql.raw(store.dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(db);
    try {
      const result = await fn(db);
      await sql.raw('commit').execute(db);
      return result;
    } catch (err) {
      await sql.raw('rollback').execute(db).catch(() => {});
      throw err;
    }
  });
}

export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  return JSON.parse(text) as T;
}
