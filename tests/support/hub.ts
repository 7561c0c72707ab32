/**
 * A real hub for end-to-end tests: throwaway MongoDB databases on the run's server, the sample
 * department systems on loopback with synthetic data, the demo catalogue, and the gateway on a free
 * loopback port. Tests talk to it over HTTP only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import { generateDemoData, type DemoData } from '../../demo/data.ts';
import { startDepartments, type DepartmentSystems } from '../../demo/environment.ts';
import { parseConfig, type HubConfig } from '../../gateway/config.ts';
import { issueToken } from '../../gateway/credentials.ts';
import { startHub, type RunningHub } from '../../gateway/hub.ts';
import { createLogger } from '../../gateway/logger.ts';
import { loadHubCatalogue } from '../../gateway/runtime.ts';
import { DEMO_PRINCIPALS } from '../../demo/workflow.ts';
import type { Catalogue } from '../../schema/index.ts';
import { testDatabase, type TestDatabase } from './mongo.ts';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const DEMO_CATALOGUE = join(ROOT, 'demo/catalogue');

export interface GraphQLResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
  };
}

export interface TestHub {
  readonly hub: RunningHub;
  readonly url: string;
  readonly data: DemoData;
  readonly departments: DepartmentSystems;
  readonly hubDb: TestDatabase;
  readonly subjectKey: Buffer;
  readonly tokens: Readonly<Record<'zw' | 'mz' | 'sj' | 'ga', string>>;
  /**
   * Tokens of the demo's people (demo/workflow.ts DEMO_PRINCIPALS): officer-ga, officer-rs,
   * officer-wj, officer-mz, officer-zw, officer-zr, admin, auditor, portal.
   */
  readonly people: Readonly<Record<string, string>>;
  readonly config: HubConfig;
  readonly catalogue: Catalogue;
  readonly env: NodeJS.ProcessEnv;
  query(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse>;
  /** Starts another hub process-equivalent (own runtime, own HTTP server) on the same MongoDB database. */
  startInstance(): Promise<RunningHub>;
  close(): Promise<void>;
}

export async function postGraphQL(url: string, token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResponse['body'] };
}

export interface TestHubOptions {
  readonly config?: Record<string, unknown>;
  /** Use another MongoDB server for the hub's own state (e.g. one the test can stop). */
  readonly hubMongoUri?: string;
  /** Another catalogue directory (e.g. an edited copy of the demo's) instead of the demo's. */
  readonly catalogueDir?: string;
  /** More environment for the catalogue and connectors (`${NAME}`, tokenEnv …). */
  readonly env?: Readonly<Record<string, string>>;
  /** The hub's logger (default: pino at TEST_LOG_LEVEL, else silent), e.g. one writing to memory. */
  readonly logger?: Logger;
}

export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const data = generateDemoData({ households: 60 });
  const hubDb = await testDatabase('hub');
  const filesDir = await mkdtemp(join(tmpdir(), 'hub-files-'));
  const prefix = `d${randomBytes(4).toString('hex')}_`;
  const departments = await startDepartments({ data, mongoUri: hubDb.uri, filesDir, databasePrefix: prefix });
  const env = { ...process.env, ...departments.env, ...options.env };
  const catalogueDir = options.catalogueDir ?? DEMO_CATALOGUE;
  const catalogue = await loadHubCatalogue(catalogueDir, env);
  const config: HubConfig = parseConfig(
    {
      mongodb: { uri: options.hubMongoUri ?? hubDb.uri, database: hubDb.name, timeoutMs: options.hubMongoUri ? 1500 : 10_000 },
      catalogue: catalogueDir,
      // Introspection for admin tokens: tests read the generated schema with t.people['admin'].
      server: { host: '127.0.0.1', port: 0, graphiql: false, introspection: 'admin' },
      ...options.config,
    },
    'test config',
    ROOT,
    {},
  );
  const subjectKey = randomBytes(32);
  const signingKey = randomBytes(32).toString('hex');
  const hub = await startHub({ config, logger: options.logger ?? createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'), subjectKey, signingKey, catalogue, env });
  const systems = new Map(catalogue.systems.map((s) => [s.code, s]));
  const issue = (code: string) => issueToken(hub.runtime.db, { kind: 'system', id: code, department: systems.get(code)!.department }, 'test');
  const tokens = { zw: await issue('zw-yichuang'), mz: await issue('mz-dibao'), sj: await issue('sj-kaiban'), ga: await issue('ga-huji') };
  const people: Record<string, string> = {};
  for (const [name, principal] of Object.entries(DEMO_PRINCIPALS)) people[name] = await issueToken(hub.runtime.db, principal, 'test');
  const instances: RunningHub[] = [];
  return {
    hub,
    url: hub.url,
    data,
    departments,
    hubDb,
    subjectKey,
    tokens,
    people,
    config,
    catalogue,
    env,
    query: (token, query, variables) => postGraphQL(hub.url, token, query, variables),
    async startInstance() {
      const other = await startHub({ config, logger: createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'), subjectKey, signingKey, catalogue, env });
      instances.push(other);
      return other;
    },
    async close() {
      await Promise.allSettled(instances.map((i) => i.close()));
      await hub.close();
      await departments.close();
      const client = new MongoClient(hubDb.uri);
      try {
        await Promise.all(Object.values(departments.databases).map((d) => client.db(d).dropDatabase()));
      } finally {
        await client.close();
      }
      await hubDb.drop();
      await rm(filesDir, { recursive: true, force: true });
    },
  };
}

/** The errors of a response whose path starts with the given segments. */
export function errorsAt(body: GraphQLResponse['body'], ...path: Array<string | number>) {
  return (body.errors ?? []).filter((e) => path.every((seg, i) => e.path?.[i] === seg));
}
