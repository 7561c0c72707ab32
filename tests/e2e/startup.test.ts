/**
 * Hubs of one deployment start at the same moment on an empty database (a rollout of several
 * replicas): every one starts, and the registry holds each department, system, purpose, resource
 * and grant exactly once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData } from '../../demo/data.ts';
import { startDepartments, type DepartmentSystems } from '../../demo/environment.ts';
import { parseConfig } from '../../gateway/config.ts';
import { startHub, type RunningHub } from '../../gateway/hub.ts';
import { createLogger } from '../../gateway/logger.ts';
import { loadHubCatalogue } from '../../gateway/runtime.ts';
import { DEMO_CATALOGUE, ROOT } from '../support/hub.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

let db: TestDatabase;
let departments: DepartmentSystems;
let dir: string;
const hubs: RunningHub[] = [];

beforeAll(async () => {
  db = await testDatabase('startup');
  dir = await mkdtemp(join(tmpdir(), 'hub-startup-'));
  departments = await startDepartments({ data: generateDemoData({ households: 4 }), mongoUri: db.uri, filesDir: dir, databasePrefix: `${db.name}_` });
});
afterAll(async () => {
  await Promise.allSettled(hubs.map((h) => h.close()));
  await departments?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('hubs starting at once on an empty database', () => {
  it('all start, and each registry entry exists once', async () => {
    const env = { ...process.env, ...departments.env };
    const catalogue = await loadHubCatalogue(DEMO_CATALOGUE, env);
    const config = parseConfig({ mongodb: { uri: db.uri, database: db.name }, catalogue: DEMO_CATALOGUE, server: { host: '127.0.0.1', port: 0, graphiql: false } }, 'test config', ROOT, {});
    const options = { config, logger: createLogger('silent'), subjectKey: randomBytes(32), signingKey: randomBytes(32).toString('hex'), catalogue, env };
    const started = await Promise.allSettled([startHub(options), startHub(options), startHub(options)]);
    for (const s of started) if (s.status === 'fulfilled') hubs.push(s.value);
    expect(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'started'))).toEqual(['started', 'started', 'started']);

    const count = async (name: string, key: string) => {
      const docs = await db.db.collection(name).find({}, { projection: { [key]: 1 } }).toArray();
      return { total: docs.length, distinct: new Set(docs.map((d) => d[key])).size };
    };
    expect(await count('departments', 'code')).toEqual({ total: catalogue.departments.length, distinct: catalogue.departments.length });
    expect(await count('systems', 'code')).toEqual({ total: catalogue.systems.length, distinct: catalogue.systems.length });
    expect(await count('purposes', 'code')).toEqual({ total: catalogue.purposes.length, distinct: catalogue.purposes.length });
    expect(await count('resources', 'code')).toEqual({ total: catalogue.resources.length, distinct: catalogue.resources.length });
    expect(await count('grants', 'id')).toEqual({ total: catalogue.grants.length, distinct: catalogue.grants.length });
    for (const hub of hubs) expect((await fetch(new URL('/ready', hub.url))).status).toBe(200);
  }, 120_000);
});
