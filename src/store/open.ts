import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationResultSet } from 'kysely';
import { badInput, unreachable } from '../errors.js';
import { log } from '../log.js';
import type { Database } from './schema.js';
import { migrationNames, migrationProvider, type StoreDialect } from './migrations.js';

/** Where a store lives: `sqlite:PATH` (embedded) or `postgres://USER@HOST:PORT/DB` (shared). */
export type StoreLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

export interface Store {
  db: Kysely<Database>;
  dialect: StoreDialect;
  /** The URL with any password masked, for messages and logs. */
  display: string;
  close(): Promise<void>;
}

/** `$XDG_STATE_HOME/kensus/kensus.db`, i.e. ~/.local/state/kensus/kensus.db by default. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(state, 'kensus', 'kensus.db');
}

const urlHelp = 'use sqlite:PATH (e.g. sqlite:/var/lib/kensus/kensus.db) or postgres://USER@HOST:PORT/DB';

/** Masks the password of a postgres URL. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@');
  }
}

/** Parses `--store URL`; undefined is the embedded default. Anything else is bad usage (exit 2). */
export function parseStoreUrl(url: string | undefined, env: NodeJS.ProcessEnv = process.env): StoreLocation {
  if (url === undefined || url === '') return { dialect: 'sqlite', path: defaultStorePath(env) };
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    // sqlite:///abs/path and sqlite://rel are accepted as the URL forms of the same thing.
    if (path.startsWith('//')) path = path.slice(2);
    if (!path) throw badInput(`store URL '${url}' names no file`, urlHelp);
    if (path === ':memory:') throw badInput(`store URL '${url}': an in-memory store would forget every sweep`, urlHelp);
    return { dialect: 'sqlite', path: resolve(path) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw badInput(`store URL '${displayUrl(url)}' is not a valid URL`, urlHelp);
    }
    if (!u.hostname && !u.searchParams.get('host')) throw badInput(`store URL '${displayUrl(url)}' names no host`, urlHelp);
    if (u.pathname.length <= 1) throw badInput(`store URL '${displayUrl(url)}' names no database`, 'add the database name: postgres://USER@HOST:PORT/DB');
    return { dialect: 'postgres', url };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw badInput(scheme ? `store URL scheme '${scheme}:' is not supported` : `store URL '${url}' has no scheme`, urlHelp);
}

export interface OpenOptions {
  /** Migrate only up to this migration (tests of upgrades); default: the latest. */
  migrateTo?: (typeof migrationNames)[number];
  /** SQLite: how long a writer waits for another process's lock (ms). */
  busyTimeoutMs?: number;
}

async function openSqlite(path: string, opts: OpenOptions): Promise<Store> {
  const { default: SqliteDatabase } = await import('better-sqlite3');
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw badInput(`cannot create the directory of the store ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'choose a writable place with --store sqlite:PATH');
  }
  let raw: InstanceType<typeof SqliteDatabase>;
  try {
    raw = new SqliteDatabase(path);
    // WAL: readers never block the writer, and a process killed mid-transaction leaves the last
    // committed state (the WAL's uncommitted frames are ignored on the next open).
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 15_000}`);
  } catch (err) {
    throw badInput(`cannot open the store ${path}: ${(err as Error).message}`, 'check that the file is an SQLite database Kensus wrote and that its directory is writable');
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  return { db, dialect: 'sqlite', display: `sqlite:${path}`, close: () => db.destroy() };
}

async function openPostgres(url: string): Promise<Store> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000 });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', (err) => log.warn({ err: err.message }, 'store connection lost'));
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw unreachable(`cannot connect to the store ${displayUrl(url)}: ${(err as Error).message}`, 'check that PostgreSQL runs there and accepts this user (pg_hba.conf), or use --store sqlite:PATH');
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', display: displayUrl(url), close: () => db.destroy() };
}

/** Brings the schema up to date (or to `to`); a failed migration is reported, never half-applied silently. */
export async function migrate(store: Store, to?: OpenOptions['migrateTo']): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
  const result = to ? await migrator.migrateTo(to) : await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    throw badInput(`migrating the store ${store.display} failed${failed ? ` at ${failed}` : ''}: ${(result.error as Error).message ?? String(result.error)}`, 'a store written by a newer Kensus cannot be opened by an older one; otherwise restore it from a backup');
  }
  return result;
}

/** Opens (creating when needed) and migrates the store of `--store URL`. */
export async function openStore(url: string | undefined, opts: OpenOptions = {}): Promise<Store> {
  const loc = parseStoreUrl(url);
  const store = loc.dialect === 'sqlite' ? await openSqlite(loc.path, opts) : await openPostgres(loc.url);
  try {
    await migrate(store, opts.migrateTo);
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}
