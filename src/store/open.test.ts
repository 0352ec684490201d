import { afterEach, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { freshStore, storeKinds, type TestStore } from '../../test/support/stores.js';
import { KensusError } from '../errors.js';
import { defaultStorePath, displayUrl, openStore, parseStoreUrl } from './open.js';
import { migrationNames } from './migrations.js';

describe('store URLs', () => {
  it('defaults to $XDG_STATE_HOME/kensus/kensus.db, else ~/.local/state/kensus/kensus.db', () => {
    expect(defaultStorePath({ XDG_STATE_HOME: '/var/state' })).toBe('/var/state/kensus/kensus.db');
    expect(defaultStorePath({})).toMatch(/\/\.local\/state\/kensus\/kensus\.db$/);
    expect(parseStoreUrl(undefined, { XDG_STATE_HOME: '/s' })).toEqual({ dialect: 'sqlite', path: '/s/kensus/kensus.db' });
  });

  it('reads sqlite:PATH and postgres://USER@HOST:PORT/DB', () => {
    expect(parseStoreUrl('sqlite:/tmp/k.db')).toEqual({ dialect: 'sqlite', path: '/tmp/k.db' });
    expect(parseStoreUrl('sqlite:///tmp/k.db')).toEqual({ dialect: 'sqlite', path: '/tmp/k.db' });
    expect(parseStoreUrl('postgres://kensus@db:5432/kensus')).toEqual({ dialect: 'postgres', url: 'postgres://kensus@db:5432/kensus' });
    expect(parseStoreUrl('postgresql://kensus@db/kensus').dialect).toBe('postgres');
  });

  it.each([
    ['mysql://u@h/db', /scheme 'mysql:' is not supported.*sqlite:PATH.*postgres:\/\//],
    ['/var/lib/kensus.db', /has no scheme.*sqlite:PATH/],
    ['sqlite:', /names no file/],
    ['sqlite::memory:', /in-memory store would forget/],
    ['postgres://u@h:5432', /names no database/],
  ])('refuses %s with exit 2 and how to write it', (url, message) => {
    let err: unknown;
    try {
      parseStoreUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(2);
    expect(`${(err as KensusError).message} (${(err as KensusError).hint})`).toMatch(message);
  });

  it('never shows a password', () => {
    expect(displayUrl('postgres://kensus:s3cret@db:5432/k')).toBe('postgres://kensus:***@db:5432/k');
    expect(displayUrl('postgres://kensus@db:5432/k')).toBe('postgres://kensus@db:5432/k');
  });

  it('reports an unreachable PostgreSQL as exit 3 without its password', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const err = await openStore('postgres://kensus:s3cret@127.0.0.1:1/kensus').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(3);
    // The store is named (host, port, database); the credentials are masked by the redaction of outside messages.
    expect((err as KensusError).message).toMatch(/postgres:\/\/\S*@127\.0\.0\.1:1\/kensus/);
    expect((err as KensusError).message).not.toContain('s3cret');
  });

  it('reports an SQLite file that is not a database as exit 2', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'kensus-notdb-')), 'x.db');
    writeFileSync(file, 'this is not a database, it is a text file of some length '.repeat(40));
    const err = await openStore(`sqlite:${file}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KensusError);
    expect((err as KensusError).exitCode).toBe(2);
    expect((err as KensusError).message).toMatch(/cannot open the store|migrating the store/);
  });
});

describe.each(storeKinds)('migrations on %s', (kind) => {
  let t: TestStore;
  afterEach(async () => t.cleanup());

  it('run upward from an empty store, and again is a no-op', async () => {
    t = await freshStore(kind);
    const store = await t.open();
    const applied = await store.db.selectFrom('kysely_migration' as never).select('name' as never).orderBy('name' as never).execute();
    expect(applied.map((r) => (r as { name: string }).name)).toEqual([...migrationNames]);
    const tables = (await store.db.introspection.getTables()).map((t2) => t2.name).filter((n) => !n.startsWith('kysely_'));
    expect(tables.sort()).toEqual(['agent_heartbeats', 'clusters', 'daily_usage', 'entitlement_status', 'findings', 'node_hardware', 'node_observations', 'observations', 'pod_events', 'pod_specs', 'quarterly_reports', 'scans', 'sweep_runs', 'usage_days', 'license_service_days', 'license_service_usage'].sort());
    await store.close();
    const again = await t.open();
    expect((await again.db.selectFrom('kysely_migration' as never).selectAll().execute()).length).toBe(migrationNames.length);
  });

  it('upgrade a store at the first migration that holds data, keeping it', async () => {
    t = await freshStore(kind);
    const old = await t.open({ migrateTo: '0001_base' });
    const db = old.db as unknown as Kysely<any>;
    expect((await old.db.introspection.getTables()).some((x) => x.name === 'pod_events')).toBe(false);
    const at = '2026-03-01T02:00:00.000Z';
    await db.insertInto('clusters').values({ cluster_id: 'c1', name: 'prod', first_seen: at, last_seen: at }).execute();
    await db
      .insertInto('observations')
      .values({
        cluster_id: 'c1', pod_key: 'k', namespace: 'mq', pod: 'mq-0', pod_uid: null, workload: 'StatefulSet/mq', container: 'qmgr', node: 'n1',
        image: 'icr.io/ibm-messaging/mq:9.4', image_digest: null, products_json: '[]', method: 'image', phase: 'Running', running: 1,
        shard_hash: 7, first_seen: at, last_seen: at, closed_at: null,
      })
      .execute();
    await db
      .insertInto('observations')
      .values({
        cluster_id: 'c1', pod_key: 'k0', namespace: 'mq', pod: 'mq-old', pod_uid: null, workload: 'StatefulSet/mq', container: 'qmgr', node: 'n1',
        image: 'icr.io/ibm-messaging/mq:9.3', image_digest: null, products_json: '[]', method: 'image', phase: 'Running', running: 1,
        shard_hash: 7, first_seen: '2026-02-01T02:00:00.000Z', last_seen: '2026-02-01T02:00:00.000Z', closed_at: at,
      })
      .execute();
    await old.close();

    const upgraded = await t.open();
    const rows = await upgraded.db.selectFrom('observations').selectAll().orderBy('pod').execute();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ cluster_id: 'c1', pod: 'mq-0', opened_by: 'sweep', closed_by: null, first_seen: at });
    // Intervals closed before events existed were closed by sweeps.
    expect(rows[1]).toMatchObject({ pod: 'mq-old', opened_by: 'sweep', closed_by: 'sweep', closed_at: at });
    await upgraded.db.insertInto('pod_events').values({ cluster_id: 'c1', at, kind: 'stop', namespace: 'mq', pod: 'mq-0', pod_uid: null, node: 'n1', resource_version: '42', applied: 1 }).execute();
    expect(await sql<{ n: number }>`select count(*) as n from pod_events`.execute(upgraded.db).then((r) => Number(r.rows[0].n))).toBe(1);
    expect((await upgraded.db.selectFrom('clusters').selectAll().execute())[0].name).toBe('prod');
  });
});
