import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { daemonsRoot, discardStaleState, logTail, waitFor } from './daemons.js';
import { freePort } from './registry.js';

/**
 * Debian's PostgreSQL for the store tests: initdb under its own directory of the daemons' temp
 * dir, a unix socket directory of its own, TCP on 127.0.0.1 at a port chosen free at first start
 * (kept in a file, so a later run finds it), trust authentication for the local test user.
 * Started detached and reused across runs like dockerd (daemons.ts); state whose server is gone
 * is discarded. PostgreSQL refuses to run as root, so as root it runs as Debian's `postgres`
 * user. A missing binary fails loudly with the apt command.
 */
export interface TestPostgres {
  /** postgres://kensus@127.0.0.1:PORT/postgres (the maintenance database). */
  url: string;
  port: number;
  socketDir: string;
}

const root = join(daemonsRoot, 'postgres');
const dataDir = join(root, 'data');
const socketDir = join(root, 'socket');
const portFile = join(root, 'port');
const logFile = join(root, 'postgres.log');
export const postgresUser = 'kensus';

/** The newest installed server's bin directory (/usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!majors.length) {
    throw new Error(
      "PostgreSQL's server is not installed: the store tests need the real one. Install it with " +
        "'apt-get install -y postgresql' (scripts/setup.sh does this).",
    );
  }
  return join(base, majors[0], 'bin');
}

/** As root the server runs as the `postgres` system user; otherwise as whoever runs the tests. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) {
    throw new Error("PostgreSQL refuses to run as root and there is no 'postgres' user to run it as; install Debian's package: 'apt-get install -y postgresql'");
  }
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function serverPid(): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!pid) return null;
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres' ? pid : null;
  } catch {
    return null;
  }
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const urlOf = (port: number) => `postgres://${postgresUser}@127.0.0.1:${port}/postgres`;

export async function ensurePostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (serverPid() !== null && existsSync(portFile)) {
    const port = Number(readFileSync(portFile, 'utf8').trim());
    // Another run started it and it may still be coming up: wait rather than wipe under it.
    await waitFor(`the running PostgreSQL on port ${port} (log: ${logFile})`, () => answers(urlOf(port)), 60_000);
    return { url: urlOf(port), port, socketDir };
  }
  discardStaleState(root);
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(socketDir, { recursive: true });
  const user = runAs();
  if (user) for (const d of [root, dataDir, socketDir]) chownSync(d, user.uid, user.gid);
  const spawnAs = user ? { uid: user.uid, gid: user.gid } : {};

  const init = spawnSync(join(bin, 'initdb'), ['-D', dataDir, '-U', postgresUser, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    encoding: 'utf8',
    ...spawnAs,
  });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);

  const port = await freePort();
  writeFileSync(portFile, String(port));
  const logFd = openSync(logFile, 'a');
  if (user) chownSync(logFile, user.uid, user.gid);
  const child = spawn(
    join(bin, 'postgres'),
    [
      '-D', dataDir,
      '-k', socketDir,
      '-h', '127.0.0.1',
      '-p', String(port),
      // Test data is throwaway: the crash tests kill clients, never this server.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ],
    { detached: true, stdio: ['ignore', logFd, logFd], ...spawnAs },
  );
  child.unref();
  await waitFor(`PostgreSQL on port ${port} (log: ${logFile})`, () => answers(urlOf(port)), 60_000, () =>
    child.exitCode !== null || child.signalCode !== null ? `it exited (${child.exitCode ?? child.signalCode}). Last lines of ${logFile}:\n${logTail(logFile)}` : undefined,
  );
  return { url: urlOf(port), port, socketDir };
}

/** The server global-setup started (KENSUS_TEST_POSTGRES_URL); a test run without it is a setup error. */
export function testPostgresUrl(): string {
  const url = process.env.KENSUS_TEST_POSTGRES_URL;
  if (!url) throw new Error('KENSUS_TEST_POSTGRES_URL is not set: run the tests through vitest, whose global setup (test/support/global-setup.ts) starts PostgreSQL');
  return url;
}

export interface FreshDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new, empty database on the test server: every test starts from nothing. */
export async function freshPostgresDatabase(): Promise<FreshDatabase> {
  const admin = testPostgresUrl();
  const name = `kensus_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
