import { randomBytes } from 'node:crypto';

import { MongoClient, type Db } from 'mongodb';
import { inject } from 'vitest';

export interface TestDatabase {
  readonly client: MongoClient;
  readonly db: Db;
  /** The shared test server's URI (without a database name; use `name`). */
  readonly uri: string;
  /** The throwaway database's name, unique to this call. */
  readonly name: string;
  /** Drops the database and closes the client. Idempotent. */
  drop(): Promise<void>;
}

/**
 * A throwaway database on the run's shared MongoDB-wire server (see global-setup.ts).
 *
 *     const t = await testDatabase('audit');
 *     afterAll(() => t.drop());
 */
export async function testDatabase(prefix = 'test'): Promise<TestDatabase> {
  const uri = inject('mongoUri');
  const name = uniqueDatabaseName(prefix);
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db(name);

  let dropped: Promise<void> | undefined;
  const drop = (): Promise<void> => {
    dropped ??= (async () => {
      try {
        await db.dropDatabase();
      } finally {
        await client.close();
      }
    })();
    return dropped;
  };
  return { client, db, uri, name, drop };
}

/** `<prefix>_<pid>_<time>_<random>`, within the 63 characters and [A-Za-z0-9_] every backend accepts. */
function uniqueDatabaseName(prefix: string): string {
  const safePrefix = prefix.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 24) || 'test';
  return `${safePrefix}_${process.pid}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** A client of its own that counts the documents its finds and getMores returned, per collection: what a query read. */
export interface ReadCounter {
  readonly db: Db;
  /** Documents read from `collection` since the last reset. */
  read(collection: string): number;
  reset(): void;
  close(): Promise<void>;
}

export async function readCounter(uri: string, database: string): Promise<ReadCounter> {
  const client = new MongoClient(uri, { monitorCommands: true });
  const counts = new Map<string, number>();
  client.on('commandSucceeded', (event) => {
    const cursor = (event.reply as { cursor?: { ns?: string; firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
    if (cursor?.ns === undefined) return;
    const collection = cursor.ns.slice(cursor.ns.indexOf('.') + 1);
    counts.set(collection, (counts.get(collection) ?? 0) + (cursor.firstBatch ?? cursor.nextBatch ?? []).length);
  });
  await client.connect();
  return { db: client.db(database), read: (collection) => counts.get(collection) ?? 0, reset: () => counts.clear(), close: () => client.close() };
}
