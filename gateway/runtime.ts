/**
 * The composition root's state: everything one hub process holds, built from a validated config.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import { AuditWriter, ensureAuditIndexes } from '../audit/index.ts';
import { createConnector, validateConnectorConfig, type Connector } from '../connectors/index.ts';
import { compilePolicy, type CompiledPolicy, type Principal } from '../policies/index.ts';
import {
  createRecordValidator, loadCatalogue, type Catalogue, type Purpose, type RecordValidator, type Resource,
} from '../schema/index.ts';
import type { HubConfig } from './config.ts';
import { Authenticator, ensureCredentialIndexes } from './credentials.ts';
import { GrantStore, syncCatalogue } from './state.ts';

export interface HubRuntime {
  readonly config: HubConfig;
  readonly logger: Logger;
  readonly client: MongoClient;
  readonly db: Db;
  readonly catalogue: Catalogue;
  readonly resources: ReadonlyMap<string, Resource>;
  readonly purposes: ReadonlyMap<string, Purpose>;
  readonly departments: ReadonlyMap<string, string>;
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly validators: ReadonlyMap<string, RecordValidator>;
  readonly grants: GrantStore;
  readonly audit: AuditWriter;
  readonly authenticator: Authenticator;
  /** HMAC key of subject hashes, imported once. */
  readonly subjectKey: KeyObject;
  /** Compiled CASL policy for (system, purpose), cached until grants change or the day turns. */
  policyFor(principal: Principal, purpose: Purpose, today: string): CompiledPolicy;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  readonly config: HubConfig;
  readonly logger: Logger;
  readonly subjectKey: Buffer;
  /** Loaded catalogue, when the caller already validated it. */
  readonly catalogue?: Catalogue;
  /** Environment connectors read `uriEnv` / `bearerTokenEnv` from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export async function loadHubCatalogue(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<Catalogue> {
  return loadCatalogue(dir, { validateConnector: validateConnectorConfig, env });
}

export async function createRuntime(options: RuntimeOptions): Promise<HubRuntime> {
  const { config, logger, subjectKey } = options;
  const catalogue = options.catalogue ?? (await loadHubCatalogue(config.catalogue));
  const client = new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: config.mongodb.timeoutMs, appName: 'yiwang-hub' });
  await client.connect();
  const connectors = new Map<string, Connector>();
  try {
    const db = client.db(config.mongodb.database);
    await syncCatalogue(db, catalogue);
    await ensureAuditIndexes(db);
    await ensureCredentialIndexes(db);
    const grants = new GrantStore(db);
    await grants.refresh();
    grants.startRefresh(config.grants.refreshSeconds, (error) => logger.warn({ err: error }, 'grant refresh failed; keeping the last known grants'));

    for (const entry of catalogue.connectors) {
      connectors.set(entry.name, createConnector(entry.name, entry.config, { baseDir: config.catalogue, env: options.env ?? process.env }));
    }
    const audit = new AuditWriter(db, {
      maxBatch: config.audit.maxBatch,
      maxInFlight: config.audit.maxInFlight,
      writeConcern: config.audit.writeConcern === 'majority' ? { w: 'majority', journal: true } : { w: 1 },
      onError: (error, size) => logger.error({ err: error, records: size }, 'audit write failed; the affected requests get no data'),
    });
    const policies = new LRUCache<string, CompiledPolicy>({ max: 10_000 });
    const resources = new Map(catalogue.resources.map((r) => [r.code, r]));

    const runtime: HubRuntime = {
      config,
      logger,
      client,
      db,
      catalogue,
      resources,
      purposes: new Map(catalogue.purposes.map((p) => [p.code, p])),
      departments: new Map(catalogue.departments.map((d) => [d.code, d.name])),
      connectors,
      validators: new Map(catalogue.resources.map((r) => [r.code, createRecordValidator(r)])),
      grants,
      audit,
      authenticator: new Authenticator(db, { cacheTtlMs: config.auth.cacheSeconds * 1000 }),
      subjectKey: createSecretKey(subjectKey),
      policyFor(principal, purpose, today) {
        const key = `${grants.version}|${today}|${principal.department}|${principal.id}|${purpose.code}`;
        let policy = policies.get(key);
        if (!policy) {
          policy = compilePolicy(principal, purpose, catalogue.resources, grants.forDepartment(principal.department), today);
          policies.set(key, policy);
        }
        return policy;
      },
      async close() {
        grants.stopRefresh();
        await audit.close();
        await Promise.allSettled([...connectors.values()].map((c) => c.close()));
        await client.close();
      },
    };
    return runtime;
  } catch (error) {
    await Promise.allSettled([...connectors.values()].map((c) => c.close()));
    await client.close();
    throw error;
  }
}
