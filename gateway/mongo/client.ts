/**
 * The hub's MongoDB clients: what every one of them (the server's, the CLI's) is made with.
 *
 * - **Reads from the primary**, whatever the URI says: grants, tokens, consents, quota slots and
 *   attempt claims are read where they were written; a secondary's copy can be seconds behind, so
 *   a revoked token or grant would still be honoured there. A `readPreference` in the URI is
 *   overridden (the server warns about it at start: `requestedReadPreference`).
 * - **Deadlines**: server selection and connecting within `mongodb.timeoutMs`, and a socket that
 *   gets no answer for `socketTimeoutMs` fails its command, so a server that accepts connections
 *   and then stalls gives an error instead of holding the command forever (the driver's default
 *   waits without end).
 */
import { MongoClient, ReadPreference, type Db, type MongoClientOptions } from 'mongodb';
import type { HubConfig } from '../config.ts';

/**
 * How long a command-line client waits for any one answer: 3 × `mongodb.timeoutMs` (30 s by
 * default; a scan of a large trail on FerretDB takes seconds). A read that gets none is retried
 * once by the driver, on a new connection.
 */
export const cliSocketTimeoutMs = (mongodb: HubConfig['mongodb']): number => 3 * mongodb.timeoutMs;

export function hubClientOptions(mongodb: HubConfig['mongodb'], options: { appName: string; socketTimeoutMs: number } & MongoClientOptions): MongoClientOptions {
  const { socketTimeoutMs, ...rest } = options;
  return {
    serverSelectionTimeoutMS: mongodb.timeoutMs,
    connectTimeoutMS: mongodb.timeoutMs,
    socketTimeoutMS: socketTimeoutMs,
    ...rest,
    // An object, and no tags: the URI's tags or maxStalenessSeconds would otherwise be combined
    // with it (the driver refuses `primary` with maxStalenessSeconds).
    readPreference: ReadPreference.primary,
    readPreferenceTags: [],
  };
}

/**
 * The read preference a connection string asks for, when it asks for one other than `primary`
 * (which the hub's clients override); undefined otherwise.
 */
export function requestedReadPreference(uri: string): string | undefined {
  const query = uri.indexOf('?');
  if (query === -1) return undefined;
  for (const pair of uri.slice(query + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).toLowerCase() !== 'readpreference') continue;
    let value = pair.slice(eq + 1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded text: the driver refuses the URI itself.
    }
    return value.toLowerCase() === 'primary' ? undefined : value;
  }
  return undefined;
}

/** Runs `work` on the configured database with a command-line client, closed afterwards. */
export async function withHubDb<T>(config: HubConfig, work: (db: Db) => Promise<T>): Promise<T> {
  const client = new MongoClient(config.mongodb.uri, hubClientOptions(config.mongodb, { appName: 'yiwang-hub-cli', socketTimeoutMs: cliSocketTimeoutMs(config.mongodb) }));
  try {
    await client.connect();
    return await work(client.db(config.mongodb.database));
  } finally {
    await client.close();
  }
}
