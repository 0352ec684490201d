import { type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type StoreDialect = 'sqlite' | 'postgres';

/**
 * The store's migrations, in code, one list for SQLite and PostgreSQL (run by Kysely's Migrator
 * when a store is opened). Never edit a migration that has shipped: add the next one. Names sort
 * in order of application.
 */
function idColumn<T extends string>(dialect: StoreDialect) {
  return (t: CreateTableBuilder<T, never>) =>
    t.addColumn('id', 'integer', (c) => (dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()));
}

const text = 'text' as const;
const int = 'integer' as const;
const real = 'double precision' as const;

function base(dialect: StoreDialect): Migration {
  const withId = idColumn(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('clusters')
        .addColumn('cluster_id', text, (c) => c.primaryKey())
        .addColumn('name', text)
        .addColumn('first_seen', text, (c) => c.notNull())
        .addColumn('last_seen', text, (c) => c.notNull())
        .execute();

      await withId(db.schema.createTable('sweep_runs'))
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('run_id', text, (c) => c.notNull())
        .addColumn('shard_index', int, (c) => c.notNull())
        .addColumn('shard_count', int, (c) => c.notNull())
        .addColumn('started_at', text, (c) => c.notNull())
        .addColumn('observed_at', text, (c) => c.notNull())
        .addColumn('finished_at', text)
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('source', text, (c) => c.notNull())
        .addColumn('tool_version', text, (c) => c.notNull())
        .addColumn('signature_set_version', text, (c) => c.notNull())
        .addColumn('images_scanned', int, (c) => c.notNull().defaultTo(0))
        .addColumn('images_reused', int, (c) => c.notNull().defaultTo(0))
        .addColumn('error_count', int, (c) => c.notNull().defaultTo(0))
        .addColumn('errors_json', text, (c) => c.notNull().defaultTo('[]'))
        .addColumn('usage_options_json', text, (c) => c.notNull().defaultTo('{}'))
        .addColumn('entitlements_json', text)
        .execute();
      await db.schema.createIndex('sweep_runs_cluster').on('sweep_runs').columns(['cluster_id', 'observed_at']).execute();
      await db.schema.createIndex('sweep_runs_run').on('sweep_runs').columns(['run_id', 'shard_index']).execute();

      await db.schema
        .createTable('scans')
        .addColumn('digest', text, (c) => c.notNull())
        .addColumn('signature_set_version', text, (c) => c.notNull())
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('image_ref', text, (c) => c.notNull())
        .addColumn('source', text)
        .addColumn('scanned_at', text, (c) => c.notNull())
        .addColumn('warnings_json', text, (c) => c.notNull().defaultTo('[]'))
        .addPrimaryKeyConstraint('scans_pk', ['digest', 'signature_set_version'])
        .execute();

      await db.schema
        .createTable('findings')
        .addColumn('digest', text, (c) => c.notNull())
        .addColumn('signature_set_version', text, (c) => c.notNull())
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('product_id', text, (c) => c.notNull())
        .addColumn('vendor', text, (c) => c.notNull())
        .addColumn('product', text, (c) => c.notNull())
        .addColumn('edition', text)
        .addColumn('version', text)
        .addColumn('license_metric', text, (c) => c.notNull())
        .addColumn('licensable', int)
        .addColumn('confidence', text, (c) => c.notNull())
        .addColumn('evidence_json', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('findings_pk', ['digest', 'signature_set_version', 'product_id'])
        .execute();

      await db.schema
        .createTable('pod_specs')
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('pod_key', text, (c) => c.notNull())
        .addColumn('spec_json', text, (c) => c.notNull())
        .addColumn('first_seen', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('pod_specs_pk', ['cluster_id', 'pod_key'])
        .execute();

      await withId(db.schema.createTable('observations'))
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('pod_key', text, (c) => c.notNull())
        .addColumn('namespace', text, (c) => c.notNull())
        .addColumn('pod', text, (c) => c.notNull())
        .addColumn('pod_uid', text)
        .addColumn('workload', text, (c) => c.notNull())
        .addColumn('container', text, (c) => c.notNull())
        .addColumn('node', text)
        .addColumn('image', text, (c) => c.notNull())
        .addColumn('image_digest', text)
        .addColumn('products_json', text, (c) => c.notNull())
        .addColumn('method', text, (c) => c.notNull())
        .addColumn('phase', text, (c) => c.notNull())
        .addColumn('running', int, (c) => c.notNull())
        .addColumn('shard_hash', int, (c) => c.notNull())
        .addColumn('first_seen', text, (c) => c.notNull())
        .addColumn('last_seen', text, (c) => c.notNull())
        .addColumn('closed_at', text)
        .execute();
      await db.schema.createIndex('observations_open').on('observations').columns(['cluster_id', 'closed_at']).execute();
      await db.schema.createIndex('observations_time').on('observations').columns(['cluster_id', 'first_seen']).execute();
      await db.schema.createIndex('observations_digest').on('observations').column('image_digest').execute();

      await withId(db.schema.createTable('node_observations'))
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('node', text, (c) => c.notNull())
        .addColumn('node_key', text, (c) => c.notNull())
        .addColumn('spec_json', text, (c) => c.notNull())
        .addColumn('first_seen', text, (c) => c.notNull())
        .addColumn('last_seen', text, (c) => c.notNull())
        .addColumn('closed_at', text)
        .execute();
      await db.schema.createIndex('node_observations_open').on('node_observations').columns(['cluster_id', 'closed_at']).execute();

      await db.schema
        .createTable('daily_usage')
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('day', text, (c) => c.notNull())
        .addColumn('product_id', text, (c) => c.notNull())
        .addColumn('metric', text, (c) => c.notNull())
        .addColumn('scope', text, (c) => c.notNull())
        .addColumn('sku', text, (c) => c.notNull())
        .addColumn('cloudpak_id', text, (c) => c.notNull())
        .addColumn('product_name', text, (c) => c.notNull())
        .addColumn('vendor', text)
        .addColumn('quantity', real, (c) => c.notNull())
        .addColumn('pvu', real)
        .addColumn('rule', text, (c) => c.notNull())
        .addColumn('peak_at', text, (c) => c.notNull())
        .addColumn('row_json', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('daily_usage_pk', ['cluster_id', 'day', 'product_id', 'metric', 'scope', 'sku', 'cloudpak_id'])
        .execute();
      await db.schema.createIndex('daily_usage_day').on('daily_usage').columns(['day', 'cluster_id']).execute();

      await db.schema
        .createTable('usage_days')
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('day', text, (c) => c.notNull())
        .addColumn('samples', int, (c) => c.notNull())
        .addColumn('first_at', text, (c) => c.notNull())
        .addColumn('last_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_days_pk', ['cluster_id', 'day'])
        .execute();

      await withId(db.schema.createTable('entitlement_status'))
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('run_id', text, (c) => c.notNull())
        .addColumn('observed_at', text, (c) => c.notNull())
        .addColumn('product', text, (c) => c.notNull())
        .addColumn('metric', text, (c) => c.notNull())
        .addColumn('used', real, (c) => c.notNull())
        .addColumn('owned', real, (c) => c.notNull())
        .addColumn('percentage', real)
        .addColumn('threshold', real)
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('basis', text, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('entitlement_status_time').on('entitlement_status').columns(['cluster_id', 'observed_at']).execute();

      await db.schema
        .createTable('quarterly_reports')
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('quarter', text, (c) => c.notNull())
        .addColumn('generated_at', text, (c) => c.notNull())
        .addColumn('report_json', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('quarterly_reports_pk', ['cluster_id', 'quarter'])
        .execute();
    },
  };
}

/**
 * Pod events between sweeps (the informer of `serve --store`): their own table, and on
 * observations which of a sweep or an event opened and closed the interval; rows of earlier
 * sweeps were all opened and closed by sweeps.
 */
function podEvents(dialect: StoreDialect): Migration {
  const withId = idColumn(dialect);
  return {
    async up(db: Kysely<any>) {
      await withId(db.schema.createTable('pod_events'))
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('at', text, (c) => c.notNull())
        .addColumn('kind', text, (c) => c.notNull())
        .addColumn('namespace', text, (c) => c.notNull())
        .addColumn('pod', text, (c) => c.notNull())
        .addColumn('pod_uid', text)
        .addColumn('node', text)
        .addColumn('resource_version', text)
        .addColumn('applied', int, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pod_events_time').on('pod_events').columns(['cluster_id', 'at']).execute();
      await db.schema.alterTable('observations').addColumn('opened_by', text, (c) => c.notNull().defaultTo('sweep')).execute();
      // A stop event says when a pod ended; a sweep that no longer sees it only that it ended
      // after it was last seen. Intervals closed before events existed were closed by sweeps.
      await db.schema.alterTable('observations').addColumn('closed_by', text).execute();
      await db.updateTable('observations').set({ closed_by: 'sweep' }).where('closed_at', 'is not', null).execute();
      // Stop events close the open intervals of one pod.
      await db.schema.createIndex('observations_pod').on('observations').columns(['cluster_id', 'namespace', 'pod']).execute();
    },
  };
}

/**
 * Node agents (`kensus agent`): a heartbeat per agent run (coverage: which nodes have an agent)
 * and each node's hardware inventory (PVU and sub-capacity evidence), one row per distinct
 * reading with the first and last time it was read.
 */
function nodeAgents(dialect: StoreDialect): Migration {
  const withId = idColumn(dialect);
  return {
    async up(db: Kysely<any>) {
      await withId(db.schema.createTable('agent_heartbeats'))
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('node', text, (c) => c.notNull())
        .addColumn('at', text, (c) => c.notNull())
        .addColumn('tool_version', text, (c) => c.notNull())
        .addColumn('containers', int, (c) => c.notNull())
        .addColumn('containers_read', int, (c) => c.notNull())
        .addColumn('error_count', int, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('agent_heartbeats_node').on('agent_heartbeats').columns(['cluster_id', 'node', 'at']).execute();

      await withId(db.schema.createTable('node_hardware'))
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('node', text, (c) => c.notNull())
        .addColumn('first_seen', text, (c) => c.notNull())
        .addColumn('last_seen', text, (c) => c.notNull())
        .addColumn('sockets', int, (c) => c.notNull())
        .addColumn('cores', int, (c) => c.notNull())
        .addColumn('threads', int, (c) => c.notNull())
        .addColumn('memory_bytes', real)
        .addColumn('cpu_model', text)
        .addColumn('instance_type', text)
        .addColumn('dmi_vendor', text)
        .addColumn('dmi_product', text)
        .addColumn('dmi_serial', text)
        .addColumn('hardware_json', text, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('node_hardware_node').on('node_hardware').columns(['cluster_id', 'node', 'last_seen']).execute();
      // An agent's run covers one node; sweeps' runs (null) cover the cluster.
      await db.schema.alterTable('sweep_runs').addColumn('node', text).execute();
    },
  };
}

/**
 * IBM License Service data beside Kensus's own IBM figures: the days a collection answered for
 * (a day with no row then means License Service counted nothing) and its product and bundled
 * product rows per day, so reports can show both and where they differ. `ls_cluster_id` is the
 * id License Service data carries (the kube-system uid); `cluster_id` the store's cluster.
 */
function licenseService(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('license_service_days')
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('day', text, (c) => c.notNull())
        .addColumn('ls_cluster_id', text, (c) => c.notNull())
        .addColumn('collected_at', text, (c) => c.notNull())
        .addColumn('service_version', text, (c) => c.notNull())
        .addColumn('products', int, (c) => c.notNull())
        .addColumn('bundled_products', int, (c) => c.notNull())
        .addPrimaryKeyConstraint('license_service_days_pk', ['cluster_id', 'day'])
        .execute();
      await db.schema
        .createTable('license_service_usage')
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('day', text, (c) => c.notNull())
        .addColumn('kind', text, (c) => c.notNull())
        .addColumn('product_id', text, (c) => c.notNull())
        .addColumn('metric', text, (c) => c.notNull())
        .addColumn('cloudpak_id', text, (c) => c.notNull())
        .addColumn('product_name', text, (c) => c.notNull())
        .addColumn('cloudpak_name', text)
        .addColumn('cloudpak_version', text)
        .addColumn('metric_conversion', text)
        .addColumn('quantity', real, (c) => c.notNull())
        .addColumn('converted_quantity', real)
        .addColumn('peak_date', text)
        .addPrimaryKeyConstraint('license_service_usage_pk', ['cluster_id', 'day', 'kind', 'product_id', 'metric', 'cloudpak_id'])
        .execute();
    },
  };
}

export const migrationNames = ['0001_base', '0002_pod_events', '0003_node_agents', '0004_license_service'] as const;

export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return {
    async getMigrations() {
      return { '0001_base': base(dialect), '0002_pod_events': podEvents(dialect), '0003_node_agents': nodeAgents(dialect), '0004_license_service': licenseService() };
    },
  };
}
