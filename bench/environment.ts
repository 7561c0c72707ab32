/**
 * The benchmark's world: a MongoDB-wire server (provisionMongo: MONGODB_URI, else mongod, else
 * FerretDB from `<root>/.cache`) with a temporary data dir, the sample department systems with
 * synthetic data, throwaway databases, and system tokens. `close` undoes all of it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { ACCESS_COLLECTION } from '../audit/index.ts';
import { generateDemoData, type DemoData } from '../demo/data.ts';
import { startDepartments, type DepartmentSystems } from '../demo/environment.ts';
import { CREDENTIALS_COLLECTION, issueToken } from '../gateway/credentials.ts';
import { provisionMongo, type MongoProvision } from '../gateway/mongo/provision.ts';
import { loadHubCatalogue } from '../gateway/runtime.ts';
import type { Catalogue } from '../schema/index.ts';
import { ROOT, type BenchConfig } from './config.ts';
import { findPidByArgument, processCpuMicros } from './cpu.ts';
import type { SystemCode } from './scenarios.ts';
import type { ServerKind, ServerSpec } from './servers/protocol.ts';

export const CATALOGUE_DIR = join(ROOT, 'demo/catalogue');

export interface BenchEnvironment {
  readonly mongo: MongoProvision;
  /** e.g. "FerretDB v1.24.2 (MongoDB 7.0.42 wire)". */
  readonly mongoDescription: string;
  readonly client: MongoClient;
  readonly hubDatabase: string;
  readonly hubDb: Db;
  /** Prefix of every throwaway database of this run. */
  readonly prefix: string;
  readonly data: DemoData;
  readonly departments: DepartmentSystems;
  readonly catalogue: Catalogue;
  readonly tokens: Readonly<Record<SystemCode, string>>;
  readonly subjectKeyHex: string;
  /** A throwaway database (dropped by `close`). */
  scratchDb(name: string): Db;
  /** Documents in a hub database's audit_access collection (default the hub's; $collStats count: cheap on MongoDB and FerretDB). */
  auditCount(database?: string): Promise<number>;
  /**
   * Another hub database (throwaway) that accepts the same tokens: for a second hub whose state
   * must not mix with the first's (an A/B's two hubs: counters that one advances, the other
   * would find taken). Returns its name.
   */
  secondHubDatabase(name: string): Promise<string>;
  /** CPU time of the MongoDB-wire server process, µs (null when it was not started here or /proc is absent). */
  mongoCpuMicros(): Promise<number | null>;
  close(): Promise<void>;
}

async function describeMongo(client: MongoClient, source: MongoProvision['source']): Promise<string> {
  const info = await client.db('admin').command({ buildInfo: 1 });
  const wire = typeof info['version'] === 'string' ? info['version'] : '?';
  if (typeof info['ferretdbVersion'] === 'string') {
    return `FerretDB ${info['ferretdbVersion']} (MongoDB ${wire} wire; SQLite backend when started here)${source === 'env' ? ', from MONGODB_URI' : ''}`;
  }
  return `MongoDB ${wire} (${source === 'env' ? 'MONGODB_URI' : 'mongod from PATH'})`;
}

export async function createEnvironment(log: (line: string) => void): Promise<BenchEnvironment> {
  const dataDir = await mkdtemp(join(tmpdir(), 'yiwang-bench-mongo-'));
  const filesDir = await mkdtemp(join(tmpdir(), 'yiwang-bench-files-'));
  const cleanups: Array<() => Promise<void>> = [() => rm(filesDir, { recursive: true, force: true }), () => rm(dataDir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch((error: unknown) => log(`cleanup step failed: ${String(error)}`));
  };
  try {
    const mongo = await provisionMongo({ dataDir, cacheDir: join(ROOT, '.cache'), log: (m) => log(`  ${m}`) });
    cleanups.push(() => mongo.stop());
    const client = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
    const prefix = `bench_${randomBytes(3).toString('hex')}_`;
    const scratch = new Set<string>();
    cleanups.push(async () => {
      for (const name of scratch) await client.db(name).dropDatabase().catch(() => undefined);
      await client.close();
    });
    const scratchDb = (name: string) => {
      scratch.add(`${prefix}${name}`);
      return client.db(`${prefix}${name}`);
    };
    const mongoDescription = await describeMongo(client, mongo.source);
    const mongoPid = mongo.source === 'env' ? undefined : await findPidByArgument(dataDir);

    const data = generateDemoData({ households: 120 });
    const departments = await startDepartments({ data, mongoUri: mongo.uri, filesDir, databasePrefix: `${prefix}dept_` });
    for (const name of Object.values(departments.databases)) scratch.add(name);
    cleanups.push(() => departments.close());
    const catalogue = await loadHubCatalogue(CATALOGUE_DIR, { ...process.env, ...departments.env });

    const hubDatabase = `${prefix}hub`;
    const hubDb = scratchDb('hub');
    const systems = new Map(catalogue.systems.map((s) => [s.code, s]));
    const issue = (code: SystemCode) => issueToken(hubDb, { kind: 'system', id: code, department: systems.get(code)!.department }, 'benchmark');
    const tokens = { 'mz-dibao': await issue('mz-dibao'), 'zw-yichuang': await issue('zw-yichuang') };

    return {
      mongo,
      mongoDescription,
      client,
      hubDatabase,
      hubDb,
      prefix,
      data,
      departments,
      catalogue,
      tokens,
      subjectKeyHex: randomBytes(32).toString('hex'),
      scratchDb,
      async secondHubDatabase(name: string) {
        const db = scratchDb(name);
        const credentials = await hubDb.collection(CREDENTIALS_COLLECTION).find().toArray();
        await db.collection(CREDENTIALS_COLLECTION).insertMany(credentials);
        return db.databaseName;
      },
      async auditCount(database?: string) {
        try {
          const stats = await (database === undefined ? hubDb : client.db(database)).collection(ACCESS_COLLECTION).aggregate<{ count?: number }>([{ $collStats: { count: {} } }]).toArray();
          return stats.reduce((sum, s) => sum + (s.count ?? 0), 0);
        } catch {
          return 0; // the collection does not exist yet
        }
      },
      mongoCpuMicros: async () => (mongoPid === undefined ? null : processCpuMicros(mongoPid)),
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** What a bench hub may run with instead of the hub's defaults (what-ifs; BENCH_HUB_*). */
export type HubSettings = Pick<ServerSpec, 'audit' | 'trustedDocuments' | 'nodeFlags' | 'collapse'>;

/** The spec of a server process of this environment: one process on a free loopback port. */
export function serverSpec(e: BenchEnvironment, kind: ServerKind, keepProfile: boolean, settings: HubSettings = {}): ServerSpec {
  return {
    kind,
    departmentEnv: e.departments.env,
    mongoUri: e.mongo.uri,
    database: e.hubDatabase,
    subjectKeyHex: e.subjectKeyHex,
    port: 0,
    workers: 1,
    keepProfile,
    ...settings,
  };
}

/** The what-ifs of the configuration as hub settings (empty: the hub's defaults). */
export function whatIfSettings(config: Pick<BenchConfig, 'hubAudit' | 'hubTrusted' | 'hubNodeFlags' | 'hubCollapse'>): HubSettings {
  return {
    ...(config.hubCollapse ? {} : { collapse: false }),
    ...(Object.keys(config.hubAudit).length ? { audit: config.hubAudit } : {}),
    ...(config.hubTrusted === 'enforce' ? { trustedDocuments: 'enforce' as const } : {}),
    ...(config.hubNodeFlags.length ? { nodeFlags: config.hubNodeFlags } : {}),
  };
}
