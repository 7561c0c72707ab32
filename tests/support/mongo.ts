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
