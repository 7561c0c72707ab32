/**
 * MongoDB connector (kind `mongodb`): a department's collection (部门库表) in MongoDB 6+ or FerretDB.
 *
 * - dataset = the collection name inside `database`.
 * - One MongoClient per connector, connected lazily on first use; concurrent first calls share one
 *   connect; a failed connect is retried on the next call.
 * - fetchMany = `find({[keyField]: {$in: distinctKeys}})` with a projection of only the asked items
 *   and the key field (`_id: 0` unless `_id` itself is asked), split into chunks of
 *   `maxKeysPerCall` keys run concurrently. Keys are matched as strings. Two documents of one key
 *   that differ in an asked item are a conflict: neither is served for that key.
 * - Uses nothing beyond plain reads and `ping`, so FerretDB 1.24 (no transactions, no change
 *   streams) serves it as well as MongoDB.
 * - The connection string may hold a password: prefer `uriEnv` (an environment variable name) to
 *   `uri` in config files.
 */
import { MongoClient, type Document } from 'mongodb';
import {
  answerInOrder, distinctKeys, fetchInChunks, raceSignal, returnedFields, throwIfCallerAborted,
} from './batch.ts';
import type {
  ConfigSchema, Connector, ConnectorContext, ConnectorFactory, FetchRequest, HealthStatus, UpstreamRecord,
} from './types.ts';
import { UpstreamError, UpstreamTimeoutError } from './types.ts';

export interface MongoConnectorConfig {
  readonly uri?: string;
  readonly uriEnv?: string;
  readonly database: string;
  readonly maxKeysPerCall: number;
  /** Server selection, connect and per-batch timeout. */
  readonly timeoutMs: number;
}

const DEFAULT_MAX_KEYS = 1000;
const DEFAULT_TIMEOUT_MS = 5000;
const HEALTH_TIMEOUT_MS = 2000;

export const mongoConfigSchema: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['database'],
  properties: {
    uri: {
      type: 'string',
      pattern: '^mongodb(\\+srv)?://',
      description: 'connection string; prefer uriEnv, a connection string may hold a password',
    },
    uriEnv: {
      type: 'string',
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'name of the environment variable holding the connection string',
    },
    database: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[^/\\\\. "$]+$' },
    maxKeysPerCall: { type: 'integer', minimum: 1, maximum: 100_000, default: DEFAULT_MAX_KEYS },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000, default: DEFAULT_TIMEOUT_MS },
  },
  // Exactly one of uri / uriEnv. (`properties: {x: true}` satisfies ajv's strictRequired.)
  oneOf: [
    { type: 'object', properties: { uri: true }, required: ['uri'] },
    { type: 'object', properties: { uriEnv: true }, required: ['uriEnv'] },
  ],
};

function readConfig(config: Record<string, unknown>): MongoConnectorConfig {
  const uri = config['uri'] as string | undefined;
  const uriEnv = config['uriEnv'] as string | undefined;
  return {
    ...(uri === undefined ? {} : { uri }),
    ...(uriEnv === undefined ? {} : { uriEnv }),
    database: String(config['database']),
    maxKeysPerCall: (config['maxKeysPerCall'] as number | undefined) ?? DEFAULT_MAX_KEYS,
    timeoutMs: (config['timeoutMs'] as number | undefined) ?? DEFAULT_TIMEOUT_MS,
  };
}

/** A data-free description of a driver error: its class and server code, never its message. */
function describeDriverError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const { code, codeName } = error as Error & { code?: unknown; codeName?: unknown };
  const detail = typeof codeName === 'string' ? codeName : typeof code === 'string' || typeof code === 'number' ? String(code) : '';
  return detail ? `${error.name} ${detail}` : error.name;
}

export class MongoConnector implements Connector {
  readonly name: string;
  readonly kind = 'mongodb';
  readonly #config: MongoConnectorConfig;
  readonly #env: NodeJS.ProcessEnv;
  #connecting: Promise<MongoClient> | undefined;
  #closing: Promise<void> | undefined;

  constructor(name: string, config: MongoConnectorConfig, env: NodeJS.ProcessEnv = process.env) {
    this.name = name;
    this.#config = config;
    this.#env = env;
  }

  /** The shared client, connecting it on first use. */
  #client(): Promise<MongoClient> {
    this.#connecting ??= this.#connect().catch((error: unknown) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  async #connect(): Promise<MongoClient> {
    const { uriEnv, timeoutMs } = this.#config;
    const uri = uriEnv === undefined ? this.#config.uri : this.#env[uriEnv];
    if (!uri) {
      throw new UpstreamError(this.name, `mongodb connector "${this.name}": environment variable ${uriEnv ?? '(none)'} (connection string) is not set`, { transient: false });
    }
    let client: MongoClient;
    try {
      client = new MongoClient(uri, {
        appName: 'yiwang-hub',
        serverSelectionTimeoutMS: timeoutMs,
        connectTimeoutMS: timeoutMs,
      });
    } catch (error) {
      throw new UpstreamError(this.name, `mongodb connector "${this.name}": connection string is invalid (${describeDriverError(error)})`, { transient: false });
    }
    try {
      await client.connect();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new UpstreamError(this.name, `mongodb connector "${this.name}": could not connect (${describeDriverError(error)})`, { cause: error });
    }
    return client;
  }

  async fetchMany(request: FetchRequest): Promise<Array<UpstreamRecord | null>> {
    throwIfCallerAborted(request.signal);
    if (this.#closing) throw new UpstreamError(this.name, `mongodb connector "${this.name}" is closed`);
    const keys = distinctKeys(request.keys);
    if (keys.length === 0) return [];

    const what = `mongodb connector "${this.name}": find in collection "${request.dataset}"`;
    const { timeoutMs, maxKeysPerCall } = this.#config;
    const timeout = AbortSignal.timeout(timeoutMs);
    const siblings = new AbortController();
    const signal = AbortSignal.any(
      request.signal ? [timeout, siblings.signal, request.signal] : [timeout, siblings.signal],
    );
    const projection: Document = Object.fromEntries([
      ['_id', 0],
      ...returnedFields(request).map((field) => [field, 1] as const),
    ]);

    let found: Map<string, UpstreamRecord>;
    try {
      const client = await raceSignal(this.#client(), signal);
      const collection = client.db(this.#config.database).collection(request.dataset);
      found = await fetchInChunks(keys, maxKeysPerCall, request.keyField, (part) =>
        collection.find({ [request.keyField]: { $in: part } }, { projection, signal }).toArray());
    } catch (error) {
      siblings.abort();
      if (request.signal?.aborted) throw request.signal.reason;
      if (error instanceof UpstreamError) throw error;
      if (timeout.aborted) throw new UpstreamTimeoutError(this.name, `${what} timed out after ${timeoutMs} ms`);
      throw new UpstreamError(this.name, `${what} failed (${describeDriverError(error)})`, { cause: error });
    }
    return answerInOrder(request, found, this.name);
  }

  async health(): Promise<HealthStatus> {
    if (this.#closing) return { ok: false, detail: 'connector is closed' };
    const ms = Math.min(this.#config.timeoutMs, HEALTH_TIMEOUT_MS);
    const signal = AbortSignal.timeout(ms);
    try {
      const client = await raceSignal(this.#client(), signal);
      await client.db(this.#config.database).command({ ping: 1 }, { signal });
      return { ok: true, detail: 'ping answered' };
    } catch (error) {
      if (signal.aborted) return { ok: false, detail: `ping timed out after ${ms} ms` };
      return { ok: false, detail: error instanceof UpstreamError ? error.message : `ping failed (${describeDriverError(error)})` };
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const connecting = this.#connecting;
      if (!connecting) return;
      const client = await connecting.catch(() => undefined);
      await client?.close();
    })();
    return this.#closing;
  }
}

export const mongoConnectorFactory: ConnectorFactory = {
  kind: 'mongodb',
  configSchema: mongoConfigSchema,
  create(name: string, config: Record<string, unknown>, context: ConnectorContext): Connector {
    return new MongoConnector(name, readConfig(config), context.env);
  },
};
